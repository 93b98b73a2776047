/**
 * The README and docs/ say what detc does: every relative link lands on a file or heading, the
 * outputs they show are what the CLI prints, and the tables that restate the code (diagnostic
 * codes, settings, the zoo's size) hold every row of it.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { checkSource, SYNTAX_ERROR } from "../src/check/index.js";
import { specifiedRules } from "../src/check/rules/index.js";
import { backbones } from "../src/zoo/index.js";
import { unsupportedBackbones } from "../src/zoo/unsupported.js";

const root = new URL("..", import.meta.url).pathname;
const cli = inject("cli");
const read = (path: string) => readFileSync(join(root, path), "utf8");
const PAGES = ["README.md", "CONTRIBUTING.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)];

function detc(args: readonly string[], options: { input?: string; cwd?: string } = {}) {
  const { FORCE_COLOR: _, ...env } = process.env;
  const result = spawnSync(process.execPath, [cli, ...args], { cwd: options.cwd ?? root, input: options.input, encoding: "utf8", env: { ...env, NO_COLOR: "1" } });
  return { code: result.status, stdout: result.stdout };
}

/** Markdown without its fenced code blocks (a `#` line in a shell snippet is not a heading). */
const prose = (markdown: string) => markdown.replace(/^```[^\n]*\n[\s\S]*?^```$/gm, "");

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as hyphens, repeats numbered. */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const [, heading = ""] of prose(markdown).matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = heading.trim().toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}

/** The code block that holds `marker`, or the first one after it. */
function blockAt(markdown: string, marker: string): string {
  const at = markdown.indexOf(marker);
  expect(at, `no "${marker}"`).toBeGreaterThanOrEqual(0);
  for (const block of markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```$/gm)) {
    if (block.index + block[0].length > at) return block[1] ?? "";
  }
  throw new Error(`no code block at or after "${marker}"`);
}

describe("links", () => {
  for (const page of PAGES) {
    it(`every relative link of ${page} points at an existing file or heading`, () => {
      const text = read(page);
      const broken: string[] = [];
      for (const [, target = ""] of prose(text).matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/i.test(target)) continue;
        const [path = "", anchor] = target.split("#");
        const file = path === "" ? join(root, page) : join(root, dirname(page), path);
        if (!existsSync(file)) broken.push(`${target}: no file ${relative(root, file)}`);
        else if (anchor !== undefined && !anchors(readFileSync(file, "utf8")).has(anchor)) broken.push(`${target}: no heading #${anchor}`);
      }
      expect(broken).toEqual([]);
    });
  }
});

it("every spec the pages show checks without errors", () => {
  const specs = PAGES.flatMap((page) =>
    [...read(page).matchAll(/^```([^\n]*)\n([\s\S]*?)^```$/gm)]
      .map(([, language = "", block = ""]) => ({ page, language, block }))
      .filter(({ language, block }) => language === "" && /^detector /m.test(block) && !block.startsWith("$")),
  );
  expect(specs.length).toBeGreaterThanOrEqual(2);
  for (const { page, block } of specs) {
    const errors = checkSource(block).diagnostics.filter((d) => d.severity === "error");
    expect(errors.map((d) => `${page}: ${d.code} ${d.message}`)).toEqual([]);
  }
});

describe("the README", () => {
  const readme = read("README.md");

  it("fits on a few screens", () => {
    expect(readme.split("\n").length).toBeLessThanOrEqual(200);
  });

  it("gives the test command CI runs, and the quick start it trains exists", () => {
    const setup = blockAt(readme, "## Set-up: two commands");
    expect(setup).toMatch(/^npm ci && npx detc run examples\/quickstart\.det /m);
    expect(existsSync(join(root, "examples/quickstart.det"))).toBe(true);
    const testCommand = /^(npm test)\s/m.exec(setup)?.[1];
    expect(testCommand).toBe("npm test");
    expect(read(".ci/run")).toMatch(/^npm ci\b/m);
    expect(read(".ci/run")).toMatch(/^npm test\b/m);
  });

  it("shows the example's spec and the output `detc check` prints for it", () => {
    const spec = blockAt(readme, "## A spec, checked and drawn");
    const fromReadme = JSON.parse(detc(["check", "--json", "-"], { input: spec }).stdout).files[0].detectors;
    const fromExample = JSON.parse(detc(["check", "--json", "examples/mobilenet_v3_large_fpn.det"]).stdout).files[0].detectors;
    expect(fromReadme).toHaveLength(1);
    expect(fromReadme).toEqual(fromExample);
    const shown = blockAt(readme, "$ detc check examples/mobilenet_v3_large_fpn.det");
    const [command = "", ...output] = shown.split("\n");
    expect(command).toBe("$ detc check examples/mobilenet_v3_large_fpn.det");
    expect(output.join("\n")).toBe(detc(["check", "examples/mobilenet_v3_large_fpn.det"]).stdout);
  });
});

describe("docs/diagnostics.md", () => {
  const page = read("docs/diagnostics.md");

  it("lists every rule's code and name, and no code the checker does not have", () => {
    const rows = [...page.matchAll(/^\| ([EWI]\d{3}) \| ([a-z-]+) \|/gm)].map(([, code, name]) => `${code} ${name}`);
    expect(rows.sort()).toEqual([`${SYNTAX_ERROR} syntax`, ...specifiedRules.map((rule) => `${rule.code} ${rule.name}`)].sort());
  });

  it("shows what `detc check` prints for its example", () => {
    const shown = blockAt(page, "$ cat my.det");
    const [cat = "", output = ""] = shown.split("$ detc check my.det\n");
    const dir = mkdtempSync(join(tmpdir(), "detc-docs-"));
    writeFileSync(join(dir, "my.det"), cat.replace("$ cat my.det\n", ""));
    const result = detc(["check", "my.det"], { cwd: dir });
    expect(result.code).toBe(1);
    expect(output).toBe(result.stdout);
  });
});

it("docs/language.md lists every setting with its default", () => {
  const page = read("docs/language.md");
  const { stdout } = detc(["check", "--json", "-"], { input: "detector d\nbackbone resnet18\ntap layer3\nclasses 3\n" });
  const settings: Record<string, Record<string, unknown>> = JSON.parse(stdout).files[0].detectors[0].spec.settings;
  const missing: string[] = [];
  for (const [section, values] of Object.entries(settings)) {
    for (const [key, value] of Object.entries(values)) {
      const row = `| \`${section} ${key}\` | ${Array.isArray(value) ? value.join(", ") : String(value)} |`;
      if (!page.includes(row)) missing.push(row);
    }
  }
  expect(missing).toEqual([]);
});

it("docs/zoo.md counts the zoo's networks and the ones detc cannot use", () => {
  const page = read("docs/zoo.md");
  const total = backbones.length + unsupportedBackbones.length;
  expect(page).toContain(`${backbones.length} of torchvision 0.14's ${total} classification networks`);
  expect(page).toContain(`The other ${unsupportedBackbones.length} are known`);
});
