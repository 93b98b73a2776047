/** `detc check --data` and `detc plot SPEC` on the real CLI: output, JSON, exit codes, bad data. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const cli = inject("cli");

function detc(args: readonly string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("detc check --data", () => {
  it("prints the data diagnostics and the table, and exits 0 (they are warnings and notes)", () => {
    const { code, stdout } = detc(["check", "--data", "examples/quickstart.det"]);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^warning\[W090\]: anchor sizes 16…64 reach IoU ≥ 0\.7 .* for \d+% of the boxes in synthetic train/m);
    expect(stdout).toMatch(/^note\[I093\]: anchors fitted to synthetic train/m);
    expect(stdout).toContain("anchors against the data: 512 images, 1,297 boxes of synthetic train, resized to min 128 max 128");
    expect(stdout).toMatch(/^fitted to the data \(same anchors per location\): anchors sizes \(/m);
    expect(stdout).toMatch(/ok, 1 warning in 1 file\n$/);
  });

  it("adds a data object per detector to --json, and counts its diagnostics", () => {
    const { code, stdout } = detc(["check", "--data", "--json", "examples/quickstart.det"]);
    expect(code).toBe(0);
    const file = JSON.parse(stdout).files[0];
    expect(file.counts).toEqual({ error: 0, warning: 1, info: 1 });
    expect(file.diagnostics.map((d: { code: string }) => d.code)).toEqual(["W090", "I093"]);
    const data = file.detectors[0].data;
    expect(data).toMatchObject({ source: "synthetic train", images: 512, boxes: 1297, matcher: { high: 0.7, low: 0.3 } });
    expect(data.suggestion.line).toBe(file.diagnostics[1].expected);
  });

  it("reports data that does not fit the spec with the cause and exit 1, never a stack trace", () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-data-"));
    const spec = join(dir, "coco.det");
    const fixture = join(root, "test/fixtures/data/coco");
    writeFileSync(spec, `detector c\nbackbone resnet18\ntap layer3\nclasses 2\ndataset coco train "${fixture}/instances.json" images "${fixture}/images"\n`);
    const { code, stderr } = detc(["check", "--data", spec]);
    expect(code).toBe(1);
    expect(stderr).toMatch(/^detc: the coco train split has 3 classes \(.*\) but the spec says `classes 2`/);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it("checks a COCO split's boxes", () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-data-"));
    const spec = join(dir, "coco.det");
    const fixture = join(root, "test/fixtures/data/coco");
    writeFileSync(spec, `detector c\nbackbone resnet18\ntap layer3\nclasses 4\ninput 64\ndataset coco train "${fixture}/instances.json" images "${fixture}/images"\n`);
    const { code, stdout, stderr } = detc(["check", "--data", "--json", spec]);
    expect(code, stderr).toBe(0);
    const data = JSON.parse(stdout).files[0].detectors[0].data;
    expect(data.source).toBe("coco train");
    expect(data.images).toBeGreaterThan(0);
    expect(data.recall.at(-1).boxes).toBeLessThanOrEqual(data.boxes);
  });
});

it("detc plot SPEC draws the box sizes against the anchors", () => {
  const out = join(mkdtempSync(join(tmpdir(), "detc-data-")), "anchors.svg");
  const { code, stderr } = detc(["plot", "examples/quickstart.det", "-o", out]);
  expect(code, stderr).toBe(0);
  expect(stderr).toBe(`wrote ${out}\n`);
  expect(readFileSync(out, "utf8")).toContain('class="anchor" data-level="layer2"');
});
