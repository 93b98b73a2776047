/** The `detc` binary as users and tools run it: exit codes, human output, the JSON contracts. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");

function detc(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

function specFile(text: string): string {
  const path = join(mkdtempSync(join(tmpdir(), "detc-")), "spec.det");
  writeFileSync(path, text);
  return path;
}

const SEEDS = ["vgg16_bn", "resnet50", "efficientnet_b0", "mobilenet_v3_large_fpn", "efficientnet_b0_fpn"].map((n) => `examples/${n}.det`);

describe("detc check", () => {
  it("prints the feature pyramid of every seed example and exits 0", () => {
    const { code, stdout } = detc("check", ...SEEDS);
    expect(code).toBe(0);
    expect(stdout).toMatch(/layer3\s+│ layer3\.5\.relu_2\s+│ 1024\s+│ 16/);
    expect(stdout).toMatch(/features\.6\s+│ features\.6\.add\s+│ 40 → 256/);
    expect(stdout).toContain("total 70,596,852");
    expect(stdout).toContain("ok in 5 files");
  });

  it("--json follows the documented contract", () => {
    const { code, stdout } = detc("check", "--json", "examples/mobilenet_v3_large_fpn.det");
    expect(code).toBe(0);
    const [file] = JSON.parse(stdout).files;
    expect(file).toMatchObject({ file: "examples/mobilenet_v3_large_fpn.det", ok: true, diagnostics: [] });
    const [detector] = file.detectors;
    expect(detector.levels.map((l: { channels: number; stride: number }) => [l.channels, l.stride])).toEqual([
      [40, 8],
      [112, 16],
      [960, 32],
      [256, 64],
    ]);
    expect(detector.levels[0]).toMatchObject({ name: "features.6", node: "features.6.add", height: 100, width: 100 });
    expect(detector.anchorsPerLocation).toEqual([3, 3, 3, 3]);
    expect(Object.keys(detector.parameters)).toEqual(["backbone", "fpn", "rpn", "roiHeads", "total"]);
  });

  it("checks the backbone's weights file beside the spec, wherever detc runs from (E007)", () => {
    const path = specFile('detector d\nbackbone resnet18 weights "resnet18.pth"\ntap layer3\nclasses 5\n');
    const missing = detc("check", path);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('error[E007]: cannot find the backbone\'s weights file "resnet18.pth"');
    expect(missing.stdout).toContain(`found: no such file at ${join(path, "..", "resnet18.pth")}`);
    writeFileSync(join(path, "..", "resnet18.pth"), "");
    const present = detc("check", path);
    expect(present.code, present.stdout).toBe(0);
  });

  it("reports every diagnostic with a code frame and exits 1", () => {
    const path = specFile("detector d\nbackbone vgg16_bn\ntap features.44\nanchors sizes 32, 64 ratios 1.0\nclasses 1\n");
    const { code, stdout } = detc("check", path);
    expect(code).toBe(1);
    expect(stdout).toContain("error[E011]: `features.44` is not a node of vgg16_bn");
    expect(stdout).toContain(`--> ${path}:3:5`);
    expect(stdout).toMatch(/> 3 \| tap features\.44\n\s+\|\s+\^{11} unknown in vgg16_bn/);
    expect(stdout).toContain("help: nearest valid taps: features.43");
    expect(stdout).toContain("error[E060]");
    expect(stdout).toContain("3 errors in 1 file");
    const json = JSON.parse(detc("check", "--json", path).stdout).files[0];
    expect(json.ok).toBe(false);
    expect(json.diagnostics[0]).toMatchObject({ severity: "error", code: "E011", line: 3, column: 5, endLine: 3, endColumn: 16 });
  });

  it("warnings do not fail the run", () => {
    const path = specFile("detector d\nbackbone resnet50\ntap layer4\nclasses 21\n");
    const { code, stdout } = detc("check", path);
    expect(code).toBe(0);
    expect(stdout).toContain("warning[W050]");
  });

  it("a missing file is a usage error with a clear message (exit 2)", () => {
    const { code, stderr, stdout } = detc("check", "nope.det");
    expect(code).toBe(2);
    expect(stderr).toBe("detc: cannot read nope.det: no such file\n");
    expect(stdout).toBe("");
  });

  it("unknown options and commands exit 2", () => {
    expect(detc("check", "--bogus", "x.det").code).toBe(2);
    expect(detc("frobnicate").code).toBe(2);
  });

  it("output piped into a reader that stops early (`| head -1`) ends quietly", () => {
    const piped = spawnSync("sh", ["-c", `node ${cli} check ${SEEDS.join(" ")} | head -1`], { cwd: root, encoding: "utf8" });
    expect(piped.stdout.trim()).toBe(SEEDS[0]);
    expect(piped.stderr).toBe("");
  });
});

describe("detc taps", () => {
  it("lists every tap point with channels, size and stride", () => {
    const { code, stdout } = detc("taps", "resnet50", "--input", "512", "--json");
    expect(code).toBe(0);
    const result = JSON.parse(stdout);
    expect(result).toMatchObject({ backbone: "resnet50", input: [512, 512], parameters: 25557032 });
    const layer3 = result.taps.find((t: { node: string }) => t.node === "layer3.5.relu_2");
    expect(layer3).toEqual({ node: "layer3.5.relu_2", channels: 1024, height: 32, width: 32, stride: 16 });
    expect(result.taps.find((t: { node: string }) => t.node === "layer3")).toMatchObject({ resolvesTo: "layer3.5.relu_2" });
  });

  it("takes HxW and prints a table", () => {
    const { code, stdout } = detc("taps", "mobilenet_v3_large", "--input", "512x384");
    expect(code).toBe(0);
    expect(stdout).toMatch(/features\.16\s+│ 960\s+│ 16×12\s+│ 32/);
  });

  it("a known but unsupported network says why and what to use instead", () => {
    const { code, stderr } = detc("taps", "maxvit_t");
    expect(code).toBe(2);
    expect(stderr).toContain("maxvit_t cannot be a backbone: it is built for one input size");
    expect(stderr).toContain("use convnext_tiny");
  });

  it("an unknown backbone suggests the nearest name", () => {
    const { code, stderr } = detc("taps", "resnet_50");
    expect(code).toBe(2);
    expect(stderr).toContain("did you mean one of `resnet50`, ");
  });
});

describe("detc backbones", () => {
  it("lists the zoo with torchvision's parameter counts", () => {
    const list = JSON.parse(detc("backbones", "--json").stdout);
    expect(list).toContainEqual({
      name: "mobilenet_v3_large",
      family: "mobilenetv3",
      supported: true,
      parameters: 5483032,
      strides: [2, 4, 8, 16, 32],
      pretrained: "MobileNet_V3_Large_Weights.IMAGENET1K_V2",
    });
    // torchvision 0.14's 80 classification builders, each supported or saying why not.
    expect(list).toHaveLength(80);
    expect(list.find((b: { name: string }) => b.name === "vit_b_16")).toMatchObject({ supported: false, instead: ["convnext_base", "regnet_y_16gf"] });
  });
});

describe("--help teaches", () => {
  it.each(["check", "taps", "backbones"])("detc %s --help has examples", (command) => {
    const { code, stdout } = detc(command, "--help");
    expect(code).toBe(0);
    expect(stdout).toContain("Examples:");
  });
});
