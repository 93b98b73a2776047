/**
 * The library as a user installs it: `import … from "detc"` resolves through package.json's
 * `exports` to the built bundle and its tsc-generated declarations. docs/library.md's example runs
 * verbatim, type-checks against those declarations, and detects what `detc predict --json` does.
 */
import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { tinyDetectorSource } from "./support/tiny-detector.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const built = dirname(cli);

/** A command in the background, so that independent set-up steps share the wait. */
function runAsync(command: string, args: string[], cwd: string): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.on("close", (code) => resolve({ code, output }));
  });
}

function run(command: string, args: string[], cwd: string) {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** The code block docs/library.md marks as the example. */
function documentedExample(): string {
  const docs = readFileSync(join(root, "docs/library.md"), "utf8");
  const example = /<!-- library-example -->\n```js\n([\s\S]*?)```/.exec(docs)?.[1];
  if (example === undefined) throw new Error("docs/library.md has no block after <!-- library-example -->");
  return example;
}

describe("the library (import from \"detc\")", () => {
  const dir = mkdtempSync(join(tmpdir(), "detc-library-"));
  const example = join(dir, "detect.mjs");
  const spec = join(dir, "tiny.det");
  const image = join(root, "test/fixtures/data/coco/images/red.png");

  beforeAll(async () => {
    writeFileSync(spec, tinyDetectorSource({ train: "batch_size 2 lr 0.01 frozen_batch_norm false" }));
    // What `npm install detc` lays out: the package's package.json, and its dist/ (this run's build, with declarations).
    const [declarations, trained] = await Promise.all([
      runAsync(join(root, "node_modules/.bin/tsc"), ["-p", join(root, "tsconfig.lib.json"), "--outDir", join(built, "types")], root),
      runAsync(process.execPath, [cli, "run", spec, "--out", join(dir, "run"), "--max-steps", "1", "--quiet"], dir),
    ]);
    expect(declarations.code, declarations.output).toBe(0);
    expect(trained.code, trained.output).toBe(0);
    const installed = join(dir, "node_modules", "detc");
    mkdirSync(installed, { recursive: true });
    copyFileSync(join(root, "package.json"), join(installed, "package.json"));
    symlinkSync(built, join(installed, "dist"));
    writeFileSync(example, documentedExample());
  }, 300_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("the documented example type-checks against the generated declarations", () => {
    const tsc = run(
      join(root, "node_modules/.bin/tsc"),
      ["--noEmit", "--allowJs", "--checkJs", "--strict", "--target", "es2022", "--module", "nodenext", "--moduleResolution", "nodenext",
        "--skipLibCheck", "--types", "node", "--typeRoots", join(root, "node_modules/@types"), example],
      dir,
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.code).toBe(0);
  }, 120_000);

  it("the documented example runs and detects what `detc predict --json` detects", () => {
    const checkpoint = join(dir, "run", "checkpoint.safetensors");
    const ran = run(process.execPath, [example, spec, checkpoint, image], dir);
    expect(ran.code, ran.stderr).toBe(0);
    const lines = ran.stdout.trim().split("\n");
    expect(lines[0]).toBe("layer2: 128 channels, stride 8");
    const predicted = run(process.execPath, [cli, "predict", spec, "--weights", checkpoint, image, "--min-score", "0.3", "--json"], dir);
    expect(predicted.code, predicted.stderr).toBe(0);
    const [result] = JSON.parse(predicted.stdout) as { detections: unknown[] }[];
    expect(lines[1]).toBe(`${image} ${JSON.stringify(result?.detections)}`);
  }, 120_000);

  it("a spec with errors: the example prints them with their lines and stops", () => {
    const broken = join(dir, "broken.det");
    writeFileSync(broken, "detector d\nbackbone resnet18\ntap layer9\nclasses 3\n");
    const ran = run(process.execPath, [example, broken, "none.safetensors"], dir);
    expect(ran.code).toBe(1);
    expect(ran.stderr).toMatch(/broken\.det:3: error\[E011\] .*layer9/);
  });
});
