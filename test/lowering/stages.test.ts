/** `trainable N` counts stages: stride groups found in the graph, named by the modules they span. */
import { describe, expect, it } from "vitest";
import { ancestors, resolveTap, stateEntries } from "../../src/zoo/graph.js";
import { findBackbone } from "../../src/zoo/index.js";
import { stages } from "../../src/zoo/stages.js";

const graphOf = (name: string) => findBackbone(name)!.graph();
const summary = (network: string, taps: string[]) =>
  stages(graphOf(network), taps).map((s) => [s.name, s.stride, s.nodes[0], s.nodes[s.nodes.length - 1]]);

describe("stages", () => {
  it("of resnet50 are torchvision's trainable_layers units", () => {
    expect(summary("resnet50", ["layer4"])).toEqual([
      ["conv1…relu", 2, "conv1", "relu"],
      ["maxpool…layer1", 4, "maxpool", "layer1.2.relu_2"],
      ["layer2", 8, "layer2.0.conv1", "layer2.3.relu_2"],
      ["layer3", 16, "layer3.0.conv1", "layer3.5.relu_2"],
      ["layer4", 32, "layer4.0.conv1", "layer4.2.relu_2"],
    ]);
  });

  it("of mobilenet_v3_large start at its strided blocks", () => {
    expect(summary("mobilenet_v3_large", ["features.6", "features.12", "features.16"])).toEqual([
      ["features.0…features.1", 2, "features.0.0#0", "features.1.add"],
      ["features.2…features.3", 4, "features.2.block.0.0#8", "features.3.add"],
      ["features.4…features.6", 8, "features.4.block.0.0#24", "features.6.add"],
      ["features.7…features.12", 16, "features.7.block.0.0#66", "features.12.add"],
      ["features.13…features.16", 32, "features.13.block.0.0#126", "features.16"],
    ]);
  });

  it("of efficientnet_b0 are its stride groups", () => {
    expect(summary("efficientnet_b0", ["features.3", "features.4", "features.8"]).map(([name, stride]) => [name, stride])).toEqual([
      ["features.0…features.1", 2],
      ["features.2", 4],
      ["features.3", 8],
      ["features.4…features.5", 16],
      ["features.6…features.8", 32],
    ]);
  });

  it("end at the deepest tap and keep only the steps the taps need", () => {
    const graph = graphOf("resnet50");
    const upTo = stages(graph, ["layer3.1"]);
    expect(upTo.map((s) => s.name)).toEqual(["conv1…relu", "maxpool…layer1", "layer2", "layer3"]);
    expect(upTo[3]!.nodes[upTo[3]!.nodes.length - 1]).toBe("layer3.1.relu_2");
  });

  it.each([
    ["resnet50", ["layer3"]],
    ["mobilenet_v3_large", ["features.6", "features.12", "features.16"]],
    ["efficientnet_b0", ["features.5"]],
    ["convnext_tiny", ["features.5"]],
    ["regnet_y_400mf", ["trunk_output.block3"]],
  ])("of %s partition the needed state-dict entries", (network, taps) => {
    const graph = graphOf(network);
    const needed = ancestors(graph, taps.map((t) => resolveTap(graph, t)!.name));
    const keys = stages(graph, taps).flatMap((s) => s.stateKeys);
    expect(keys).toEqual(stateEntries(needed).map((e) => e.key));
  });

  it("reject a tap that is not in the graph", () => {
    expect(() => stages(graphOf("resnet50"), ["layer5"])).toThrow("resnet50 has no node or module `layer5`");
  });
});
