/**
 * `--detail layers` over the zoo: the layer graph is laid out and drawn as SVG without a crash.
 * One network per family, its first (usually smallest): ELK lays out a deep network's few hundred
 * layers in 10–40 s on this machine (ConvNeXt-L 43 s, ResNet-152 33 s), so all 68 would take ~7 min;
 * a family's networks share their building blocks, so its first one exercises them all.
 *
 * DenseNet is left out: ELK overflows the call stack laying out DenseNet-121's layers (each dense
 * layer concatenates all before it) after ~30 s; `detc diagram` turns that into a one-line error
 * (exit 1) that points to `--detail stages` and DOT.
 */
import { describe, expect, it } from "vitest";
import { checkSource } from "../src/check/index.js";
import { diagramGraph, renderDiagram } from "../src/diagram/index.js";
import { zooDetectors } from "./support/zoo-detectors.js";

const onePerFamily = zooDetectors().filter(([, family], i, all) => family !== "densenet" && all.findIndex(([, f]) => f === family) === i);

describe("the layers view of one network per zoo family", () => {
  it.each(onePerFamily)("%s (%s) lays out and draws every layer as SVG", async (_name, _family, source) => {
    const result = checkSource(source);
    const graph = diagramGraph(result.analyses[0]!, result.diagnostics, "layers");
    const svg = (await renderDiagram(graph, "svg")) as string;
    const backboneLayers = graph.nodes.filter((n) => n.part === "backbone");
    expect(backboneLayers.length).toBeGreaterThan(10);
    // Every layer drawn: each backbone node's title appears as text in the picture.
    for (const layer of backboneLayers) expect(svg).toContain(`>${layer.title.replace(/&/g, "&amp;")}<`);
  }, 60_000);
});
