/**
 * Any input is answered in bounded time and memory: the size limit, the nesting and error
 * limits, the cap on listed diagnostics, numbers that are not finite, and linear formatting.
 * The measured numbers (wall time, peak memory) are in bench/RESULTS.md.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { TextDocument } from "vscode-languageserver-textdocument";
import { describe, expect, inject, it } from "vitest";
import { checkSource, MAX_DIAGNOSTICS, MAX_MESSAGE_LENGTH } from "../src/check/index.js";
import { checkJson } from "../src/cli/commands/check.js";
import { MAX_SPEC_SIZE, MAX_SYNTAX_ERRORS, parse } from "../src/language/index.js";
import { print } from "../src/language/printer.js";
import { diagnostics } from "../src/lsp/handlers.js";

const detector = (...lines: string[]) => ["detector d", "backbone resnet50", ...lines, ""].join("\n");
const timed = <T>(run: () => T): [T, number] => {
  const start = performance.now();
  const value = run();
  return [value, performance.now() - start];
};

describe("the front end's limits", () => {
  it("reads nothing of a text over the size limit, and says so", () => {
    const [result, ms] = timed(() => parse("x".repeat(MAX_SPEC_SIZE + 1)));
    expect(result.problems.map((p) => p.message)).toEqual([
      "this spec is 1,048,577 characters long; detc reads specs of up to 1,048,576 (1 MiB)",
    ]);
    expect(ms).toBeLessThan(1000);
  });

  it("reports 20 000 nested parentheses once", () => {
    const source = detector("tap layer3", `anchors sizes ${"(".repeat(20_000)}32) ratios 1.0`, "classes 21");
    const result = checkSource(source);
    const nesting = result.diagnostics.filter((d) => d.message.startsWith("parentheses do not nest"));
    expect(nesting).toHaveLength(1);
    expect(nesting[0]!.message).toContain("(19,999 of them)");
    expect(source.slice(nesting[0]!.primary.span.start.offset, nesting[0]!.primary.span.end.offset)).toBe("(".repeat(19_999));
    // What follows the run is read as if the run were one `(`: the detector is otherwise fine.
    expect(result.diagnostics.map((d) => d.code)).toEqual(["E001"]);
  });

  it("stops reading a file of junk after its error budget, at a place it names", () => {
    for (const junk of ["tap\n", "@\n", "classes (\n"]) {
      const { problems, stoppedAt } = parse(`detector d\n${junk.repeat(100_000)}`);
      expect(stoppedAt!.line, junk).toBeGreaterThan(MAX_SYNTAX_ERRORS);
      expect(stoppedAt!.line, junk).toBeLessThan(MAX_SYNTAX_ERRORS + 5);
      expect(problems.length, junk).toBeLessThanOrEqual(MAX_SYNTAX_ERRORS + 1);
      expect(problems.at(-1)!.message).toBe(`detc stopped reading here after ${MAX_SYNTAX_ERRORS} syntax errors; fix the ones above first`);
    }
    // A detector cut short is not checked: its missing rest is not the user's mistake.
    expect(checkSource(`detector d\n${"tap\n".repeat(1_000)}`).diagnostics.map((d) => d.code)).not.toContain("E002");
  });

  it("quotes at most the start of a long name in syntax messages", () => {
    const problem = parse(`detector d\nbackbone resnet50 ${"x".repeat(100_000)}\n`).problems[0]!;
    expect(problem.message.length).toBeLessThan(200);
  });
});

describe("the checker on machine-made specs", () => {
  it("checks 100 000 taps, lists the first problems and counts the rest", () => {
    const taps = Array.from({ length: 100_000 }, (_, i) => `layer${(i % 4) + 1}`).join(", ");
    const result = checkSource(detector(`tap ${taps}`, "classes 21"));
    expect(result.diagnostics).toHaveLength(MAX_DIAGNOSTICS);
    expect(result.counts.error).toBe(99_996 + 1); // every repeat (E012) and the mixed widths without an FPN (E014)
    expect(result.omitted).toBe(result.counts.error + result.counts.warning + result.counts.info - MAX_DIAGNOSTICS);
  });

  it("lists errors before warnings when there are too many to list", () => {
    const sizes = Array.from({ length: 150 }, () => "8").join(", ");
    const result = checkSource(detector("tap layer3", `anchors sizes (${sizes}) ratios 1.0`, "classes 1"));
    expect(result.counts).toEqual({ error: 1, warning: 150, info: 0 });
    expect(result.diagnostics.filter((d) => d.severity === "error").map((d) => d.code)).toEqual(["E060"]);
    expect(result.diagnostics).toHaveLength(MAX_DIAGNOSTICS);
    expect(checkJson([{ path: "x.det", source: "", result }]).files[0]).toMatchObject({ ok: false, omitted: 51 });
  });

  it("clips what a diagnostic quotes from the spec", () => {
    const name = "x".repeat(200_000);
    const result = checkSource(detector(`tap layer2, layer3`, "fpn 256", `roi align 7 sampling 2 on ${name}`, "classes 21"));
    const [unknown] = result.diagnostics.filter((d) => d.code === "E040");
    expect(unknown!.message.length).toBeLessThanOrEqual(MAX_MESSAGE_LENGTH + 50);
    expect(unknown!.message).toMatch(/ is not one of this detector's levels$/);
  });

  it("says where a number is not finite, and never lets it reach the JSON", () => {
    for (const line of ["fpn 1e309", "input 1e309", "train lr 1e309", "anchors sizes 1e309 ratios 1.0"]) {
      const result = checkSource(detector("tap layer3", "classes 21", line));
      expect(result.diagnostics.map((d) => d.code), line).toEqual(["E034"]);
      expect(result.detectors, line).toEqual([]);
    }
  });

  it("refuses whole numbers a float64 cannot count exactly", () => {
    const result = checkSource(detector("tap layer2, layer3", "fpn 1e200", "classes 21"));
    expect(result.diagnostics.map((d) => [d.code, d.expected])).toEqual([["E032", "a whole number below 2^53 (9007199254740991)"]]);
    expect(result.detectors).toEqual([]);
  });

  it("summarises no detector whose statements the parser had to skip input after", () => {
    for (const line of ["classes ,", "classes 2 3", "classes x"]) {
      const result = checkSource(detector("tap layer3", line));
      expect(result.counts.error, line).toBeGreaterThan(0);
      expect(result.detectors, line).toEqual([]);
    }
  });

  it("gives the language server the listed diagnostics and a count of the rest", () => {
    const taps = Array.from({ length: 5_000 }, () => "layer3").join(", ");
    const document = TextDocument.create("file:///x.det", "det", 1, detector(`tap ${taps}`, "classes 21"));
    const published = diagnostics(document);
    expect(published).toHaveLength(MAX_DIAGNOSTICS + 1);
    expect(published.at(-1)!.message).toBe("4,899 more problems in this file are not listed (the first 100 are)");
  });
});

describe("formatting", () => {
  /** `n` commented detectors: every comment must find its line. */
  const detectors = (n: number) =>
    Array.from({ length: n }, (_, i) => `# detector ${i}\ndetector d${i}  # its name\nbackbone resnet50\ntap layer3  # the tap\nclasses 21\n`).join("\n");

  it("prints 10 000 commented detectors in a fraction of a second", () => {
    const { file, problems } = parse(detectors(10_000));
    expect(problems).toEqual([]);
    const [text, ms] = timed(() => print(file));
    expect(text.split("\n")).toHaveLength(60_000);
    // Attaching each comment by scanning every line took 14.5 s for 2 000 such detectors (issue
    // 14), and grows with the square; one pass takes ~0.1 s, with room here for a busy machine.
    expect(ms).toBeLessThan(3_000);
  });
});

describe("detc reading spec files", () => {
  const cli = inject("cli");
  const root = new URL("..", import.meta.url).pathname;
  const detc = (...args: string[]) => {
    const result = spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 60_000 });
    return { code: result.status, stdout: result.stdout, stderr: result.stderr };
  };
  const dir = mkdtempSync(join(tmpdir(), "detc-bounded-"));
  const file = (name: string, content: string | Buffer) => {
    const path = join(dir, name);
    writeFileSync(path, content);
    return path;
  };

  it("refuses /dev/zero and a directory with exit 2, reading nothing", () => {
    expect(detc("check", "/dev/zero")).toMatchObject({ code: 2, stderr: "detc: cannot read /dev/zero: it is a character device, not a .det file\n" });
    expect(detc("fmt", "/dev/zero")).toMatchObject({ code: 2, stderr: "detc: cannot read /dev/zero: it is a character device, not a .det file\n" });
    expect(detc("check", dir)).toMatchObject({ code: 2, stderr: `detc: cannot read ${dir}: it is a directory, not a .det file\n` });
  });

  it("refuses a file over 1 MiB and a binary file with exit 2", () => {
    const big = file("big.det", "# ".padEnd(MAX_SPEC_SIZE + 1, "x"));
    expect(detc("check", big)).toMatchObject({ code: 2, stderr: expect.stringContaining("it is larger than 1 MiB, the most a spec may be") });
    const binary = file("weights.det", Buffer.from([0x64, 0x65, 0x00, 0x01]));
    expect(detc("check", binary)).toMatchObject({ code: 2, stderr: expect.stringContaining("it is not a text file (a zero byte at offset 2)") });
  });

  it("prints a bounded report for 20 000 nested parentheses on one line", () => {
    const path = file("parens.det", detector("tap layer3", `anchors sizes ${"(".repeat(20_000)}`, "classes 21"));
    const { code, stdout } = detc("check", path);
    expect(code).toBe(1);
    expect(stdout.length).toBeLessThan(5_000);
    expect(stdout).toContain("error[E001]: parentheses do not nest");
  });
});
