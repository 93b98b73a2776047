/** `-` as the file: standard input for check, fmt and diagram, named `<stdin>` in messages. */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");

function detc(args: readonly string[], input?: string) {
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", input, env: { ...process.env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const EXAMPLE = "examples/mobilenet_v3_large_fpn.det";
const BROKEN = "detector broken\nbackbone resnet50\ntap layer2, layer9\nclasses 21\n";
const UNFORMATTED = "detector   d\nclasses 21   # count\nbackbone resnet18\n  tap layer2\n";

describe("detc check -", () => {
  it("gives what `detc check FILE` gives, the file named <stdin>", () => {
    const fromFile = detc(["check", EXAMPLE, "--json"]);
    const fromStdin = detc(["check", "-", "--json"], readFileSync(join(root, EXAMPLE), "utf8"));
    expect(fromStdin.code).toBe(fromFile.code);
    const expected = JSON.parse(fromFile.stdout);
    expected.files[0].file = "<stdin>";
    expect(JSON.parse(fromStdin.stdout)).toEqual(expected);
    expect(detc(["check", "-"], readFileSync(join(root, EXAMPLE), "utf8")).stdout).toBe(detc(["check", EXAMPLE]).stdout.replace(EXAMPLE, "<stdin>"));
  });

  it("reports a broken spec's problems at <stdin>:LINE:COLUMN, exit 1", () => {
    const { code, stdout } = detc(["check", "-"], BROKEN);
    expect(code).toBe(1);
    expect(stdout).toContain("error[E011]");
    expect(stdout).toContain("--> <stdin>:3:");
  });
});

describe("detc fmt -", () => {
  it("writes the formatted text, exactly what `detc fmt FILE` writes into the file, to stdout", () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-stdin-"));
    writeFileSync(join(dir, "d.det"), UNFORMATTED);
    expect(detc(["fmt", join(dir, "d.det")]).code).toBe(0);
    const { code, stdout, stderr } = detc(["fmt", "-"], UNFORMATTED);
    expect(code, stderr).toBe(0);
    expect(stdout).toBe(readFileSync(join(dir, "d.det"), "utf8"));
    expect(stderr).toBe("");
    expect(detc(["fmt", "-"], stdout).stdout).toBe(stdout);
  });

  it("--check: exit 1 when standard input is not formatted, 0 when it is", () => {
    const unformatted = detc(["fmt", "-", "--check"], UNFORMATTED);
    expect(unformatted.code).toBe(1);
    expect(unformatted.stdout).toBe("<stdin>\n");
    const formatted = detc(["fmt", "-"], UNFORMATTED).stdout;
    expect(detc(["fmt", "-", "--check"], formatted)).toMatchObject({ code: 0, stdout: "" });
  });

  it("a syntax error: nothing on stdout (an editor keeps its buffer), the error on stderr at <stdin>, exit 1", () => {
    const { code, stdout, stderr } = detc(["fmt", "-"], "detector d\nbackbone resnet18\ntap layer2,\nclasses 21\n");
    expect(code).toBe(1);
    expect(stdout).toBe("");
    expect(stderr).toContain("error[E001]");
    expect(stderr).toContain("<stdin>:");
  });

  it("refuses `-` among other files (exit 2)", () => {
    const { code, stderr } = detc(["fmt", "-", EXAMPLE], UNFORMATTED);
    expect(code).toBe(2);
    expect(stderr).toContain("`-` (standard input) is formatted alone");
  });
});

describe("detc diagram -", () => {
  it("draws standard input as it draws the file", () => {
    const fromFile = detc(["diagram", EXAMPLE, "--format", "mmd"]);
    const fromStdin = detc(["diagram", "-", "--format", "mmd"], readFileSync(join(root, EXAMPLE), "utf8"));
    expect(fromStdin.code, fromStdin.stderr).toBe(0);
    expect(fromStdin.stdout).toBe(fromFile.stdout);
  });
});
