/** `detc diagram`: the detector's parts with their numbers, in every format, problems drawn in red. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import sharp from "sharp";
import { describe, expect, inject, it } from "vitest";
import { checkSource } from "../src/check/index.js";
import { diagramGraph, placeDiagram, renderDiagram, type Detail } from "../src/diagram/index.js";
import { SEVERITY_COLOUR } from "../src/diagram/svg.js";
import { MAX_PNG_SIDE, PNG_DENSITY, pngScale } from "../src/diagram/png.js";
import { FONT_SIZE } from "../src/diagram/layout.js";
import { zooDetectors } from "./support/zoo-detectors.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");

function detc(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr.toString() };
}

function graphOf(source: string, detail: Detail = "stages") {
  const result = checkSource(source);
  return diagramGraph(result.analyses[0]!, result.diagnostics, detail);
}

const MOBILENET = readFileSync(join(root, "examples/mobilenet_v3_large_fpn.det"), "utf8");
const BROKEN = "detector broken\nbackbone resnet50\ntap layer2, layer9, layer4\nfpn 256\nanchors sizes 32, 64 ratios 1.0\nclasses 21\n";

const texts = (svg: string) => [...svg.matchAll(/<text[^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!.replace(/&quot;/g, '"').replace(/&amp;/g, "&"));
const nodeText = (graph: ReturnType<typeof graphOf>, id: string) => {
  const node = graph.nodes.find((n) => n.id === id)!;
  return [node.title, ...node.lines].join("\n");
};

describe("diagram graph", () => {
  const graph = graphOf(MOBILENET);

  it("labels every tap with its node, C×H×W at the spec's input, and stride", () => {
    expect(nodeText(graph, "input")).toContain("800×800×3");
    expect(nodeText(graph, "tap0")).toBe("tap features.6\nfeatures.6.add\n40×100×100\nstride 8");
    expect(nodeText(graph, "tap1")).toBe("tap features.12\nfeatures.12.add\n112×50×50\nstride 16");
    expect(nodeText(graph, "tap2")).toBe("tap features.16\n960×25×25\nstride 32");
  });

  it("collapses the backbone to its stages between strides, ending at the deepest tap", () => {
    const stages = graph.nodes.filter((n) => n.part === "backbone").map((n) => `${n.title} ${n.lines[0]}`);
    expect(stages).toEqual([
      "features.0…features.1 stride 2",
      "features.2…features.3 stride 4",
      "features.4…features.6 stride 8",
      "features.7…features.12 stride 16",
      "features.13…features.16 stride 32",
    ]);
    expect(graph.edges.find((e) => e.from === "stage2" && e.to === "stage3")!.label).toBe("40×100×100");
  });

  it("draws the FPN: laterals, top-down path, output convs and the extra max-pool level", () => {
    expect(graph.nodes.filter((n) => n.part === "fpn").map((n) => n.id)).toEqual(["lateral0", "lateral1", "lateral2", "merge1", "merge0", "output0", "output1", "output2", "pool"]);
    expect(nodeText(graph, "lateral2")).toContain("960 → 256");
    expect(graph.edges.find((e) => e.from === "tap0" && e.to === "lateral0")!.label).toBe("40×100×100");
    expect(graph.edges.find((e) => e.from === "lateral2" && e.to === "merge1")!.label).toBe("256×25×25");
    expect(nodeText(graph, "pool")).toContain("stride 64");
  });

  it("feeds every level to the RPN with its anchors, and only the tapped levels to RoIAlign", () => {
    const rpn = nodeText(graph, "rpn");
    for (const line of ["features.6 /8: sizes 64 → 3/location", "features.12 /16: sizes 128 → 3/location", "features.16 /32: sizes 256 → 3/location", "pool /64: sizes 512 → 3/location"])
      expect(rpn).toContain(line);
    expect(graph.edges.filter((e) => e.to === "rpn").map((e) => e.label)).toEqual(["256×100×100", "256×50×50", "256×25×25", "256×13×13"]);
    expect(graph.edges.filter((e) => e.to === "roi" && e.from !== "rpn").map((e) => e.from)).toEqual(["output0", "output1", "output2"]);
    expect(nodeText(graph, "roi")).toContain("output 7×7 · sampling 2");
    expect(nodeText(graph, "boxhead")).toContain("12544 → 1024 → 1024");
    expect(nodeText(graph, "predictor")).toContain("21 classes");
    expect(graph.edges.find((e) => e.to === "predictor")!.label).toBe("N×1024");
  });

  it("without an FPN, the tap feeds the heads directly", () => {
    const vgg = graphOf(readFileSync(join(root, "examples/vgg16_bn.det"), "utf8"));
    expect(vgg.nodes.some((n) => n.part === "fpn")).toBe(false);
    expect(vgg.edges.find((e) => e.from === "tap0" && e.to === "rpn")!.label).toBe("512×50×50");
    expect(nodeText(vgg, "rpn")).toContain("sizes 32, 64, 128, 256, 512 → 15/location");
  });

  it("--detail layers expands the backbone to torchvision's visible nodes", () => {
    const layers = graphOf(readFileSync(join(root, "examples/resnet50.det"), "utf8"), "layers");
    const names = layers.nodes.filter((n) => n.part === "backbone").map((n) => n.title);
    expect(names[0]).toBe("conv1");
    expect(names).toContain("layer3.5.relu_2");
    expect(names).not.toContain("layer4.0.conv1");
    expect(layers.edges.find((e) => e.to === layers.nodes.find((n) => n.title === "layer2.0.conv1")!.id)!.label).toBe("256×200×200");
  });

  it("attaches each problem to the block its span points at", () => {
    const broken = graphOf(BROKEN);
    expect(broken.nodes.find((n) => n.id === "tap1")!.problems.map((p) => p.code)).toEqual(["E011"]);
    expect(broken.nodes.find((n) => n.id === "rpn")!.problems.map((p) => p.code)).toEqual(["E030"]);
    // What resolves is still drawn.
    expect(nodeText(broken, "tap2")).toContain("2048×25×25");
  });
});

describe("renderings", () => {
  const graph = graphOf(MOBILENET);

  it("SVG is valid XML with every part's numbers and a legend", async () => {
    const svg = (await renderDiagram(graph, "svg")) as string;
    expect(XMLValidator.validate(svg)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false }).parse(svg);
    expect(Number(parsed.svg["@_width"])).toBeGreaterThan(0);
    const all = texts(svg);
    for (const text of ["tap features.6", "40×100×100", "stride 8", "lateral 1×1 conv", "extra max-pool", "RPN", "MultiScaleRoIAlign", "TwoMLPHead", "FastRCNNPredictor", "256×13×13"])
      expect(all).toContain(text);
    for (const legend of ["backbone", "tap (feature map)", "FPN", "RPN", "RoI heads"]) expect(all).toContain(legend);
  });

  it("no two blocks or labels overlap", async () => {
    const layout = await placeDiagram(graph);
    const boxes = [...layout.nodes, ...layout.edges.flatMap((e) => (e.label ? [e.label] : []))];
    for (let i = 0; i < boxes.length; i++)
      for (let j = i + 1; j < boxes.length; j++) {
        const [a, b] = [boxes[i]!, boxes[j]!];
        const apart = a.x + a.width <= b.x || b.x + b.width <= a.x || a.y + a.height <= b.y || b.y + b.height <= a.y;
        expect(apart, `${JSON.stringify(a.text)} overlaps ${JSON.stringify(b.text)}`).toBe(true);
      }
  });

  it("DOT and Mermaid carry the same parts", async () => {
    const dot = (await renderDiagram(graph, "dot")) as string;
    expect(dot).toMatch(/^digraph "detector mobilenet_v3_large_fpn" \{/);
    for (const cluster of ["input", "backbone", "tap", "fpn", "rpn", "roi"]) expect(dot).toContain(`subgraph cluster_${cluster}`);
    expect(dot).toContain('"tap0" -> "lateral0" [label="40×100×100"]');
    expect(dot).toContain("rankdir=TB");
    expect(dot).toContain('{ rank=same; "stage2"; "tap0"; "lateral0"; "merge0"; "output0"; }'); // each pyramid row beside its stage
    expect(dot).toContain("pool /64: sizes 512 → 3/location");
    const mermaid = (await renderDiagram(graph, "mmd")) as string;
    expect(mermaid).toContain("flowchart TB");
    expect(mermaid).toContain('subgraph part_fpn ["FPN"]');
    expect(mermaid).toContain('tap0 -->|"40×100×100"| lateral0');
    expect(mermaid).toContain("MultiScaleRoIAlign");
  });

  it("a broken spec is drawn with its problems in red, codes included", async () => {
    const broken = graphOf(BROKEN);
    const svg = (await renderDiagram(broken, "svg")) as string;
    expect(XMLValidator.validate(svg)).toBe(true);
    const tap = svg.match(/<g class="node part-tap problem" id="node-tap1">.*?<\/g>/)![0];
    expect(tap).toContain(`stroke="${SEVERITY_COLOUR.error}"`);
    expect(tap).toContain("<title>error[E011]: `layer9` is not a node of resnet50");
    expect(tap).toContain(">E011 `layer9` is not a node</text>"); // on the block, wrapped
    expect(svg.match(/<g class="node part-rpn problem" id="node-rpn">.*?<\/g>/)![0]).toContain("E030");
    expect((await renderDiagram(broken, "dot")) as string).toMatch(/"tap1" \[label="[^"]*E011[^\]]*color="#d32f2f", penwidth=2.5\]/);
    expect((await renderDiagram(broken, "mmd")) as string).toContain(":::error_rpn");
  });
});

describe("detc diagram", () => {
  it("writes a PNG of the SVG's size at the PNG density", async () => {
    const out = join(mkdtempSync(join(tmpdir(), "detc-diagram-")), "mbv3.png");
    const { code } = detc("diagram", "examples/mobilenet_v3_large_fpn.det", "-o", out);
    expect(code).toBe(0);
    const png = readFileSync(out);
    expect(png.subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const svg = detc("diagram", "examples/mobilenet_v3_large_fpn.det").stdout.toString();
    const width = Number(svg.match(/width="(\d+)"/)![1]);
    const height = Number(svg.match(/height="(\d+)"/)![1]);
    const metadata = await sharp(png).metadata();
    expect(metadata.width).toBe(Math.round((width * PNG_DENSITY) / 72));
    expect(metadata.height).toBe(Math.round((height * PNG_DENSITY) / 72));
  });

  it("draws a broken spec instead of refusing, and says so", () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-diagram-"));
    writeFileSync(join(dir, "broken.det"), BROKEN);
    const { code, stdout, stderr } = detc("diagram", join(dir, "broken.det"), "--format", "mmd");
    expect(code).toBe(0);
    expect(stdout.toString()).toContain("E011");
    expect(stderr).toContain("drew 2 problems on the diagram");
  });

  it("rejects formats it cannot write (exit 2)", () => {
    const { code, stderr } = detc("diagram", "examples/vgg16_bn.det", "-o", "out.jpg");
    expect(code).toBe(2);
    expect(stderr).toContain('cannot draw out.jpg as "jpg"');
  });
});

/** Every example, and an FPN detector over the three coarsest strides of every zoo network. */
function everyDetector(): [string, string][] {
  const examples = readdirSync(join(root, "examples"))
    .filter((f) => f.endsWith(".det"))
    .map((f): [string, string] => [f, readFileSync(join(root, "examples", f), "utf8")]);
  return [...examples, ...zooDetectors().map(([name, , source]): [string, string] => [name, source])];
}

type Segment = readonly [readonly [number, number], readonly [number, number]];

/** Two axis-parallel segments cross when one's interior passes through the other's. */
function crosses([a1, a2]: Segment, [b1, b2]: Segment): boolean {
  const horizontal = (p: readonly [number, number], q: readonly [number, number]) => p[1] === q[1];
  if (horizontal(a1, a2) === horizontal(b1, b2)) return false;
  const [h1, h2, v1, v2] = horizontal(a1, a2) ? [a1, a2, b1, b2] : [b1, b2, a1, a2];
  const x = v1[0];
  const y = h1[1];
  const strictly = (value: number, p: number, q: number) => Math.min(p, q) < value && value < Math.max(p, q);
  return strictly(x, h1[0], h2[0]) && strictly(y, v1[1], v2[1]);
}

/** No two edges among the backbone, taps and FPN cross; every edge is horizontal and vertical pieces. */
async function expectNoPyramidCrossing(graph: ReturnType<typeof graphOf>): Promise<void> {
  const layout = await placeDiagram(graph);
  const pyramid = new Set(graph.nodes.filter((n) => ["input", "backbone", "tap", "fpn"].includes(n.part)).map((n) => n.id));
  const segments = layout.edges
    .filter((e) => pyramid.has(e.edge.from) && pyramid.has(e.edge.to))
    .flatMap((e) => e.points.slice(1).map((p, i): Segment => [e.points[i]!, p]));
  for (const [i, a] of segments.entries()) for (const b of segments.slice(i + 1)) expect(crosses(a, b), `${JSON.stringify(a)} × ${JSON.stringify(b)}`).toBe(false);
  for (const e of layout.edges) for (const [i, p] of e.points.slice(1).entries()) expect(p[0] === e.points[i]![0] || p[1] === e.points[i]![1]).toBe(true);
}

describe("the stage view reads at a glance", () => {
  it.each(everyDetector())("%s: at most 3:1, text of 9 px or more at 900 px wide, no crossing in the backbone and FPN", async (_, source) => {
    const result = checkSource(source);
    expect(result.diagnostics.filter((d) => d.severity === "error")).toEqual([]);
    const graph = diagramGraph(result.analyses[0]!, result.diagnostics, "stages");
    const svg = (await renderDiagram(graph, "svg")) as string;
    const width = Number(svg.match(/<svg[^>]* width="(\d+)"/)![1]);
    const height = Number(svg.match(/<svg[^>]* height="(\d+)"/)![1]);
    expect(Math.max(width, height) / Math.min(width, height)).toBeLessThanOrEqual(3);
    expect((FONT_SIZE * Math.min(1, 900 / width))).toBeGreaterThanOrEqual(9);

    await expectNoPyramidCrossing(graph);
  });

  it("a broken spec's pyramid (an unresolved tap between two good ones) keeps its rows in order, uncrossed", async () => {
    await expectNoPyramidCrossing(graphOf(BROKEN));
  });

  it("the crossing check finds a crossing", () => {
    expect(crosses([[0, 5], [10, 5]], [[5, 0], [5, 10]])).toBe(true);
    expect(crosses([[0, 5], [10, 5]], [[5, 5], [5, 10]])).toBe(false);
  });
});

describe("PNG within the rasteriser's limits", () => {
  it("scales a picture down only when its side or area would pass the limit", () => {
    expect(pngScale(1000, 800)).toBe(PNG_DENSITY / 72);
    const long = pngScale(38268, 122);
    expect(38268 * long).toBeLessThanOrEqual(MAX_PNG_SIDE);
    expect(pngScale(20000, 20000) ** 2 * 20000 * 20000).toBeLessThanOrEqual(268_402_689);
  });

  it("detc diagram --detail layers writes the zoo's largest layers view (DenseNet-201) as a PNG at full scale", async () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-diagram-"));
    const [, , source] = zooDetectors().find(([name]) => name === "densenet201")!;
    writeFileSync(join(dir, "densenet201.det"), source);
    const { code, stderr } = detc("diagram", join(dir, "densenet201.det"), "--detail", "layers", "-o", join(dir, "densenet201.png"));
    expect(code, stderr).toBe(0);
    expect(stderr).not.toContain("scaled");
    const { width } = await sharp(readFileSync(join(dir, "densenet201.png"))).metadata();
    const svg = (await renderDiagram(graphOf(source, "layers"), "svg")) as string;
    expect(width).toBe(Math.round(Number(svg.match(/<svg[^>]* width="(\d+)"/)![1]) * (PNG_DENSITY / 72)));
  }, 60_000);
});

/** torchvision's feature maps and anchors per location for the examples (test/fixtures/make_goldens.py). */
const torchvisionDetectors = JSON.parse(readFileSync(join(root, "test/fixtures/detectors.json"), "utf8")).detectors as Record<
  string,
  { anchorsPerLocation: number[]; input: [number, number]; levels: { shape: [number, number, number, number] }[] }
>;

describe("examples/diagrams", () => {
  const examples = readdirSync(join(root, "examples")).filter((f) => f.endsWith(".det"));

  it.each(examples.filter((f) => basename(f, ".det") in torchvisionDetectors))(
    "%s's diagram shows torchvision's feature maps, anchors per location and input",
    async (file) => {
      const golden = torchvisionDetectors[basename(file, ".det")]!;
      const all = texts((await renderDiagram(graphOf(readFileSync(join(root, "examples", file), "utf8")), "svg")) as string);
      const [height, width] = golden.input;
      expect(all).toContain(`${height}×${width}×3`);
      // Each level the RPN sees, as C×H×W on an arrow into it, and its anchors per location.
      for (const { shape: [, channels, levelHeight, levelWidth] } of golden.levels) expect(all).toContain(`${channels}×${levelHeight}×${levelWidth}`);
      const rpn = all.filter((text) => text.includes("/location"));
      expect(rpn.map((line) => Number(line.match(/→ (\d+)\/location/)?.[1]))).toEqual(golden.anchorsPerLocation);
    },
  );

  it.each(examples.flatMap((file) => (["stages", "layers"] as const).map((detail): [string, Detail] => [file, detail])))(
    "%s's committed %s diagram is what detc draws today (npm run diagrams)",
    async (file, detail) => {
      const graph = graphOf(readFileSync(join(root, "examples", file), "utf8"), detail);
      const expected = readFileSync(join(root, "examples/diagrams", `${basename(file, ".det")}${detail === "layers" ? ".layers" : ""}.svg`), "utf8");
      expect(await renderDiagram(graph, "svg")).toBe(expected);
    },
  );
});
