/** The engine's own log lines never reach the user: TensorFlow's absl and oneDNN notices, tfjs's Node.js banner. */
import { spawnSync } from "node:child_process";
import { closeSync, mkdtempSync, openSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const ENGINE_NOISE = /absl|oneDNN|cpu_feature_guard|port\.cc|Hi, looks like you are running TensorFlow\.js/;

/** stderr as a user's `2>file` or `| tee` gets it (a file; a pipe behaves the same). */
function stderrOf(args: readonly string[], env: Record<string, string> = {}): { code: number | null; stderr: string } {
  const file = join(mkdtempSync(join(tmpdir(), "detc-quiet-")), "stderr.txt");
  const fd = openSync(file, "w");
  const { TF_CPP_MIN_LOG_LEVEL: _, ...inherited } = process.env;
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, stdio: ["ignore", "ignore", fd], env: { ...inherited, NO_COLOR: "1", ...env } });
  closeSync(fd);
  return { code: result.status, stderr: readFileSync(file, "utf8") };
}

describe("a quiet terminal", () => {
  it("detc check prints nothing of the engine's", () => {
    const { code, stderr } = stderrOf(["check", "examples/mobilenet_v3_large_fpn.det"]);
    expect(code).toBe(0);
    expect(stderr).toBe("");
  });

  it.each(["auto", "cpu", "wasm"])("a command that loads the %s engine says which engine and nothing else", (engine) => {
    const { code, stderr } = stderrOf(["summary", "examples/quickstart.det", "--backend", engine]);
    expect(code, stderr).toBe(0);
    expect(stderr).not.toMatch(ENGINE_NOISE);
    expect(stderr.trim().split("\n")).toEqual([expect.stringMatching(/^engine: /)]);
  });

  it("TF_CPP_MIN_LOG_LEVEL=0 brings TensorFlow's own lines back (when the native engine is the one loaded)", () => {
    const { stderr } = stderrOf(["summary", "examples/quickstart.det"], { TF_CPP_MIN_LOG_LEVEL: "0" });
    if (!/^engine: tensorflow/m.test(stderr)) return; // no native engine on this machine: nothing to bring back
    expect(stderr).toMatch(/oneDNN|cpu_feature_guard/);
  });
});
