/**
 * Mutation testing of the checker rules and the detection code: does the suite notice a plausible bug?
 *
 *   npx tsx bench/mutate.ts [--modules a.ts,b.ts] [--per-module 6] [--seed 1] [--budget-minutes 40] [--out results.json]
 *
 * Each mutant is one small edit found with the TypeScript compiler API (a comparison, equality,
 * arithmetic or logical operator flipped; a numeric constant c made c+1 or 0; a `!` dropped; a
 * boolean literal flipped; an expression statement removed). A seeded sample of each module's
 * mutants is applied, one at a time, to a copy of src/ and test/ in a temporary folder (the working
 * tree is never edited, so Ctrl-C cannot leave a mutant behind), and only the tests mapped to that
 * module run there: a failure kills the mutant, a pass lets it survive, a run past its time limit
 * (an infinite loop, usually) counts as a timeout, which kills it too. Mutants are taken round-robin
 * across modules, so a run cut short by --budget-minutes still samples every module evenly.
 *
 * Stryker is not used: the registry does not serve it here, and one file of compiler-API code does
 * what this project needs.
 */
import { spawn } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";
import { randomFromState } from "../src/util/random.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** The tests that exercise each module; none of them needs the CLI bundle. */
const CHECK_TESTS = ["test/check.test.ts", "test/check-rules.test.ts", "test/spans.test.ts"];
const MODEL_TESTS = ["test/detection/model.test.ts"];
const DETECTION_TESTS: Record<string, string[]> = {
  "src/detection/anchor-utils.ts": ["test/detection/anchor-utils.test.ts"],
  "src/detection/box-coder.ts": ["test/detection/box-coder.test.ts"],
  "src/detection/boxes.ts": ["test/detection/boxes.test.ts"],
  "src/detection/matcher.ts": ["test/detection/matcher.test.ts"],
  "src/detection/poolers.ts": ["test/detection/poolers.test.ts"],
  "src/detection/geometry.ts": ["test/detection/anchor-utils.test.ts", "test/detection/poolers.test.ts", "test/anchors/match.test.ts"],
  "src/detection/roi-align.ts": ["test/detection/roi-align.test.ts", "test/detection/poolers.test.ts"],
  "src/detection/faster-rcnn.ts": MODEL_TESTS,
  "src/detection/feature-pyramid.ts": ["test/detection/feature-pyramid.test.ts", ...MODEL_TESTS],
  "src/detection/roi-heads.ts": ["test/detection/roi-heads.test.ts", ...MODEL_TESTS],
  "src/detection/rpn.ts": ["test/detection/rpn.test.ts", ...MODEL_TESTS],
  "src/detection/transform.ts": ["test/detection/transform.test.ts", ...MODEL_TESTS],
  "src/detection/losses.ts": ["test/detection/rpn.test.ts", "test/detection/roi-heads.test.ts"],
  "src/util/numerics.ts": ["test/detection/numerics.test.ts", "test/detection/anchor-utils.test.ts", "test/detection/boxes.test.ts"],
  "src/util/random.ts": ["test/detection/matcher.test.ts"],
};

function testsFor(module: string): string[] {
  if (module.startsWith("src/check/rules/")) return CHECK_TESTS;
  const tests = DETECTION_TESTS[module];
  if (!tests) throw new Error(`bench/mutate.ts: no tests mapped to ${module}; add it to DETECTION_TESTS`);
  return tests;
}

export interface Mutant {
  readonly module: string;
  readonly start: number;
  readonly end: number;
  readonly replacement: string;
  readonly line: number;
  /** `<= → <` style, with the original text. */
  readonly description: string;
}

const OPERATOR_SWAPS = new Map<ts.SyntaxKind, string>([
  [ts.SyntaxKind.LessThanToken, "<="],
  [ts.SyntaxKind.LessThanEqualsToken, "<"],
  [ts.SyntaxKind.GreaterThanToken, ">="],
  [ts.SyntaxKind.GreaterThanEqualsToken, ">"],
  [ts.SyntaxKind.EqualsEqualsEqualsToken, "!=="],
  [ts.SyntaxKind.ExclamationEqualsEqualsToken, "==="],
  [ts.SyntaxKind.PlusToken, "-"],
  [ts.SyntaxKind.MinusToken, "+"],
  [ts.SyntaxKind.AsteriskToken, "/"],
  [ts.SyntaxKind.SlashToken, "*"],
  [ts.SyntaxKind.AmpersandAmpersandToken, "||"],
  [ts.SyntaxKind.BarBarToken, "&&"],
  [ts.SyntaxKind.PlusEqualsToken, "-="],
  [ts.SyntaxKind.MinusEqualsToken, "+="],
]);

const isText = (node: ts.Node) => ts.isStringLiteral(node) || ts.isTemplateExpression(node) || ts.isNoSubstitutionTemplateLiteral(node);

/** `+` joining text is message building, not arithmetic: `-` there only makes NaN. */
function concatenatesText(node: ts.BinaryExpression): boolean {
  return node.operatorToken.kind === ts.SyntaxKind.PlusToken && (isText(node.left) || isText(node.right));
}

/** Every mutant of one module's source text. */
export function findMutants(module: string, text: string): Mutant[] {
  const source = ts.createSourceFile(module, text, ts.ScriptTarget.Latest, true);
  const mutants: Mutant[] = [];
  const add = (start: number, end: number, replacement: string) => {
    const original = text.slice(start, end);
    const shown = (s: string) => (s.length > 60 ? `${s.slice(0, 57)}...` : s).replace(/\s+/g, " ");
    const line = source.getLineAndCharacterOfPosition(start).line + 1;
    mutants.push({ module, start, end, replacement, line, description: `${shown(original)} → ${shown(replacement) || "(removed)"}` });
  };
  const visit = (node: ts.Node): void => {
    if (ts.isImportDeclaration(node) || ts.isTypeNode(node) || ts.isInterfaceDeclaration(node) || ts.isTypeAliasDeclaration(node)) return;
    if (ts.isBinaryExpression(node) && !concatenatesText(node)) {
      const swap = OPERATOR_SWAPS.get(node.operatorToken.kind);
      if (swap) add(node.operatorToken.getStart(), node.operatorToken.getEnd(), swap);
    } else if (ts.isNumericLiteral(node)) {
      const value = Number(node.text);
      add(node.getStart(), node.getEnd(), String(value + 1));
      if (value !== 0) add(node.getStart(), node.getEnd(), "0");
    } else if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) {
      add(node.getStart(), node.operand.getStart(), "");
    } else if (node.kind === ts.SyntaxKind.TrueKeyword || node.kind === ts.SyntaxKind.FalseKeyword) {
      add(node.getStart(), node.getEnd(), node.kind === ts.SyntaxKind.TrueKeyword ? "false" : "true");
    } else if (ts.isExpressionStatement(node) && !isText(node.expression)) {
      add(node.getStart(), node.getEnd(), ";");
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return mutants;
}

/** A seeded sample of at most `count` mutants, the same for a module whatever else is mutated. */
function sample<T>(items: readonly T[], count: number, seed: number, salt: string): T[] {
  let hash = seed;
  for (const ch of salt) hash = (Math.imul(hash, 31) + ch.charCodeAt(0)) | 0;
  const random = randomFromState(hash);
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return shuffled.slice(0, count);
}

/** Takes the first of each list, then the second of each, and so on. */
function roundRobin<T>(lists: readonly (readonly T[])[]): T[] {
  const longest = Math.max(0, ...lists.map((l) => l.length));
  const out: T[] = [];
  for (let i = 0; i < longest; i++) for (const list of lists) if (i < list.length) out.push(list[i]!);
  return out;
}

/** A scratch copy of the tree the tests need: src/ and test/ copied, the read-only rest linked. */
function scratchTree(): string {
  const dir = mkdtempSync(join(tmpdir(), "detc-mutate-"));
  cpSync(join(root, "src"), join(dir, "src"), { recursive: true });
  cpSync(join(root, "test"), join(dir, "test"), { recursive: true, filter: (path) => relative(root, path) !== join("test", "fixtures") });
  for (const linked of ["node_modules", "examples", "grammar", "specs", "test/fixtures"]) symlinkSync(realpathSync(join(root, linked)), join(dir, linked));
  for (const copied of ["package.json", "tsconfig.json"]) cpSync(join(root, copied), join(dir, copied));
  // The project's config minus the CLI build (no mapped test needs it), with a cache of its own.
  writeFileSync(
    join(dir, "vitest.config.ts"),
    'import { defineConfig } from "vitest/config";\nexport default defineConfig({ cacheDir: ".mutate-cache", test: { include: ["test/**/*.test.ts"], testTimeout: 60_000 } });\n',
  );
  return dir;
}

type Outcome = "killed" | "survived" | "timeout";

interface TestRun {
  readonly outcome: Outcome;
  readonly seconds: number;
}

let running: ReturnType<typeof spawn> | undefined;

/** Runs the given tests in the scratch tree; a failure or a run past `limit` seconds ends it. */
function runTests(dir: string, tests: readonly string[], limit: number): Promise<TestRun> {
  const started = performance.now();
  const vitest = join(dir, "node_modules", "vitest", "vitest.mjs");
  const child = spawn(process.execPath, [vitest, "run", ...tests, "--bail=1", "--reporter=dot"], { cwd: dir, detached: true, stdio: "ignore" });
  running = child;
  return new Promise((resolve) => {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, limit * 1000);
    child.on("exit", (code) => {
      clearTimeout(timer);
      running = undefined;
      const seconds = (performance.now() - started) / 1000;
      resolve({ outcome: timedOut ? "timeout" : code === 0 ? "survived" : "killed", seconds });
    });
  });
}

function killGroup(child: ReturnType<typeof spawn>): void {
  if (child.pid === undefined || child.exitCode !== null) return;
  try {
    process.kill(-child.pid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

interface Options {
  modules: string[];
  perModule: number;
  seed: number;
  budgetMinutes: number;
  out: string | undefined;
}

function parseOptions(args: readonly string[]): Options {
  const value = (name: string) => {
    const index = args.indexOf(name);
    return index >= 0 ? args[index + 1] : undefined;
  };
  const number = (name: string, fallback: number) => {
    const given = value(name);
    const parsed = given === undefined ? fallback : Number(given);
    if (!Number.isFinite(parsed) || parsed <= 0) throw new Error(`bench/mutate.ts: ${name} takes a positive number, got ${given}`);
    return parsed;
  };
  const defaultModules = () => {
    const list = (folder: string) => ts.sys.readDirectory(join(root, folder), [".ts"]).map((f) => relative(root, f));
    return [...list("src/check/rules").filter((m) => !m.endsWith("/index.ts")), ...list("src/detection")].sort();
  };
  return {
    modules: value("--modules")?.split(",") ?? defaultModules(),
    perModule: number("--per-module", 6),
    seed: number("--seed", 1),
    budgetMinutes: number("--budget-minutes", 60),
    out: value("--out"),
  };
}

interface Result extends Mutant {
  readonly outcome: Outcome;
  readonly seconds: number;
}

/** Each distinct test set run once unmutated: it must pass, and its time sets the limit. */
async function baselines(dir: string, modules: readonly string[]): Promise<Map<string, number>> {
  const seconds = new Map<string, number>();
  for (const tests of new Set(modules.map((m) => testsFor(m).join(" ")))) {
    const run = await runTests(dir, tests.split(" "), 900);
    if (run.outcome !== "survived") throw new Error(`bench/mutate.ts: ${tests} fail without any mutant; fix them first`);
    seconds.set(tests, run.seconds);
    console.error(`baseline ${tests}: ${run.seconds.toFixed(0)} s`);
  }
  return seconds;
}

async function mutate(dir: string, options: Options): Promise<Result[]> {
  const sources = new Map(options.modules.map((m) => [m, readFileSync(join(root, m), "utf8")]));
  const perModule = options.modules.map((m) => sample(findMutants(m, sources.get(m)!), options.perModule, options.seed, m));
  const queue = roundRobin(perModule);
  const limits = await baselines(dir, options.modules);
  const deadline = performance.now() + options.budgetMinutes * 60_000;
  const results: Result[] = [];
  for (const [index, mutant] of queue.entries()) {
    if (performance.now() > deadline) {
      console.error(`budget of ${options.budgetMinutes} min spent: ${queue.length - index} mutants not run`);
      break;
    }
    const original = sources.get(mutant.module)!;
    const file = join(dir, mutant.module);
    writeFileSync(file, original.slice(0, mutant.start) + mutant.replacement + original.slice(mutant.end));
    const tests = testsFor(mutant.module);
    const run = await runTests(dir, tests, 2 * limits.get(tests.join(" "))! + 30).finally(() => writeFileSync(file, original));
    results.push({ ...mutant, ...run });
    console.error(`[${index + 1}/${queue.length}] ${run.outcome.padEnd(8)} ${mutant.module}:${mutant.line} ${mutant.description} (${run.seconds.toFixed(0)} s)`);
  }
  return results;
}

/** Markdown: a row per module, the score over all, then every survivor to look at. */
function report(results: readonly Result[], options: Options): string[] {
  const count = (rs: readonly Result[], outcome: Outcome) => rs.filter((r) => r.outcome === outcome).length;
  const score = (rs: readonly Result[]) => (rs.length === 0 ? "-" : `${Math.round((100 * (rs.length - count(rs, "survived"))) / rs.length)}%`);
  const lines = [
    `seed ${options.seed}, at most ${options.perModule} mutants per module`,
    "",
    "| module | mutants (sites) | killed | timeout | survived | score |",
    "| --- | --- | --- | --- | --- | --- |",
  ];
  for (const module of options.modules) {
    const rs = results.filter((r) => r.module === module);
    const sites = findMutants(module, readFileSync(join(root, module), "utf8")).length;
    lines.push(`| ${module} | ${rs.length} (${sites}) | ${count(rs, "killed")} | ${count(rs, "timeout")} | ${count(rs, "survived")} | ${score(rs)} |`);
  }
  lines.push(`| **all** | ${results.length} | ${count(results, "killed")} | ${count(results, "timeout")} | ${count(results, "survived")} | **${score(results)}** |`, "", "Survivors:", "");
  const sourceLine = (r: Result) => readFileSync(join(root, r.module), "utf8").split("\n")[r.line - 1]?.trim() ?? "";
  for (const r of results.filter((x) => x.outcome === "survived")) lines.push(`- ${r.module}:${r.line} \`${r.description}\` in \`${sourceLine(r)}\``);
  return lines;
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const dir = scratchTree();
  const stop = (signal: NodeJS.Signals, code: number) =>
    process.on(signal, () => {
      if (running) killGroup(running);
      rmSync(dir, { recursive: true, force: true });
      process.exit(code);
    });
  stop("SIGINT", 130);
  stop("SIGTERM", 143);
  try {
    const results = await mutate(dir, options);
    if (options.out) writeFileSync(options.out, `${JSON.stringify(results, null, 1)}\n`);
    console.log(report(results, options).join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
