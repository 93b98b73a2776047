/** `detc export --format web`'s usage errors: each exits 2 with what to do, before any model is built. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, inject, it } from "vitest";

const root = new URL("../..", import.meta.url).pathname;
const cli = inject("cli");

function detc(...args: string[]) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

it("refuses a bad --format or --dtype, --dtype without web, --layout with web, and a folder of other files", () => {
  const dir = mkdtempSync(join(tmpdir(), "detc-export-web-"));
  const weights = join(dir, "checkpoint.safetensors");
  writeFileSync(weights, "not read: every refusal comes first");
  writeFileSync(join(dir, "notes.txt"), "mine");
  const spec = "examples/quickstart.det";
  const cases: [string[], RegExp][] = [
    [["--format", "onnx", "-o", join(dir, "x")], /--format onnx: expected state-dict or web/],
    [["--format", "web", "--dtype", "int8", "-o", join(dir, "x")], /--dtype int8: expected float32 or float16/],
    [["--dtype", "float16", "-o", join(dir, "x.pth")], /--dtype is for --format web/],
    [["--format", "web", "--layout", "torchvision", "-o", join(dir, "x")], /--layout names state-dict keys/],
    [["--format", "web", "-o", dir], /holds other files; give a new or empty folder/],
    [["--format", "web", "-o", join(dir, "notes.txt")], /it is a file; --format web writes a folder/],
  ];
  for (const [args, message] of cases) {
    const { code, stderr } = detc("export", spec, "--weights", weights, ...args);
    expect(stderr, args.join(" ")).toMatch(message);
    expect(code, args.join(" ")).toBe(2);
  }
  expect(readdirSync(dir).sort()).toEqual(["checkpoint.safetensors", "notes.txt"]);
});
