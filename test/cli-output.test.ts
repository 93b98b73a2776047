/** The global options that decide how much detc says and how: --quiet, --verbose, --color / --no-color. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const ESCAPE = "\u001b[";

function detc(args: readonly string[], env: Record<string, string | undefined> = {}) {
  const { TF_CPP_MIN_LOG_LEVEL: _, FORCE_COLOR: __, NO_COLOR: ___, ...inherited } = process.env;
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...inherited, ...env } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** A spec that checks with one warning (W050: a single stride-32 feature map). */
const warned = join(mkdtempSync(join(tmpdir(), "detc-output-")), "warned.det");
writeFileSync(warned, "detector w\nbackbone resnet50\ntap layer4\nclasses 21\n");

describe("--quiet", () => {
  it("prints the results and nothing else: no engine line", () => {
    const plain = detc(["summary", "examples/quickstart.det", "--backend", "cpu"]);
    const quiet = detc(["summary", "examples/quickstart.det", "--backend", "cpu", "--quiet"]);
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(plain.stderr).toMatch(/^engine: /m);
    expect(quiet.stderr).toBe("");
    expect(quiet.stdout).toBe(plain.stdout);
  });

  it("drops the 'wrote …' confirmation, before or after the command's name", () => {
    const out = join(mkdtempSync(join(tmpdir(), "detc-output-")), "d.svg");
    expect(detc(["diagram", "examples/quickstart.det", "-o", out]).stderr).toBe(`wrote ${out}\n`);
    expect(detc(["--quiet", "diagram", "examples/quickstart.det", "-o", out])).toMatchObject({ code: 0, stderr: "" });
    expect(detc(["diagram", "examples/quickstart.det", "-o", out, "--quiet"])).toMatchObject({ code: 0, stderr: "" });
  });

  it("still prints a warning about the spec: it points at a mistake the results hide", () => {
    const out = join(mkdtempSync(join(tmpdir(), "detc-output-")), "model.py");
    const { code, stderr } = detc(["--quiet", "emit", "torchvision", warned, "-o", out]);
    expect(code).toBe(0);
    expect(stderr).toMatch(/^warning\[W050\]/);
    expect(stderr).not.toContain("wrote");
  });

  it("and --verbose exclude each other (usage error)", () => {
    const { code, stderr } = detc(["--quiet", "--verbose", "check", warned]);
    expect(code).toBe(2);
    expect(stderr).toBe("detc: --quiet and --verbose exclude each other\n");
  });
});

describe("--verbose", () => {
  it("lets TensorFlow's own log lines through (when the native engine is the one loaded)", () => {
    const { code, stderr } = detc(["summary", "examples/quickstart.det", "--verbose"]);
    expect(code, stderr).toBe(0);
    if (!/^engine: tensorflow/m.test(stderr)) return; // no native engine on this machine: nothing to let through
    expect(stderr).toMatch(/oneDNN|cpu_feature_guard/);
  });
});

describe("--color and --no-color", () => {
  it("--color colours a pipe, even with NO_COLOR; --no-color never colours, even with FORCE_COLOR", () => {
    expect(detc(["check", warned]).stdout).not.toContain(ESCAPE);
    expect(detc(["--color", "check", warned], { NO_COLOR: "1" }).stdout).toContain(ESCAPE);
    expect(detc(["check", warned, "--color"]).stdout).toContain(ESCAPE);
    expect(detc(["--no-color", "check", warned], { FORCE_COLOR: "1" }).stdout).not.toContain(ESCAPE);
    expect(detc(["check", warned], { FORCE_COLOR: "1" }).stdout).toContain(ESCAPE);
  });

  it("reach the diagnostics a command that loads a spec prints on stderr too", () => {
    const emit = ["emit", "torchvision", warned, "-o", join(mkdtempSync(join(tmpdir(), "detc-output-")), "model.py")];
    expect(detc(emit).stderr).not.toContain(ESCAPE);
    expect(detc(["--color", ...emit]).stderr).toContain(ESCAPE);
    expect(detc(["--no-color", ...emit], { FORCE_COLOR: "1" }).stderr).not.toContain(ESCAPE);
  });
});
