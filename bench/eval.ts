/**
 * Issue 15: `detc eval` against pycocotools on a val2017-sized case (bench/coco-case.ts): wall time
 * and peak RSS of each as a fresh process, as users run them (pycocotools: `COCO(gt)`,
 * `loadRes(dt)`, `COCOeval(…, "bbox")` evaluate/accumulate/summarize; detc: `detc eval
 * --annotations --detections --json`), their ratios, and a check that the 12 numbers agree.
 *
 * pycocotools is installed (pip, 2.0.11) into a virtual environment over /usr/bin/python3's own
 * packages (numpy) in the temp folder, once. `npx tsx bench/eval.ts [--runs N] [--cli PATH]` after
 * `npm run build`, or as part of `npm run bench`; `--cli` times another build of detc (`npx tsx
 * src/build.ts OUTDIR --no-types` in another checkout) to compare versions.
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { cocoCase } from "./coco-case.js";
import { hasGnuTime, type ProcessUsage, processUsage } from "./process-usage.js";
import { median, PYTHON } from "./training.js";

const root = fileURLToPath(new URL("..", import.meta.url));
const PYCOCOTOOLS = "pycocotools==2.0.11";
const VENV = join(tmpdir(), "detc-bench-pycocotools-2.0.11");
const STATS = ["AP", "AP50", "AP75", "APs", "APm", "APl", "AR1", "AR10", "AR100", "ARs", "ARm", "ARl"] as const;
/** As test/eval.test.ts, tighter: -1 ("no ground truth here") exact, the rest to 1e-9. */
const TOLERANCE = 1e-9;
/** Goals of issue 15: detc's time and peak RSS over pycocotools' at most these. */
const GOALS = { time: 1 / 5, memory: 1 / 3 } as const;

type Stats = Record<(typeof STATS)[number], number>;

/** The venv's python with pycocotools importable, made on first use; throws a message that says what to install. */
function pycocotoolsPython(): string {
  const python = join(VENV, "bin", "python");
  const importable = () => existsSync(python) && spawnSync(python, ["-c", "import pycocotools.cocoeval"]).status === 0;
  if (importable()) return python;
  const steps: [string, string[]][] = [
    [PYTHON, ["-m", "venv", "--system-site-packages", VENV]],
    [join(VENV, "bin", "pip"), ["install", "--quiet", PYCOCOTOOLS]],
  ];
  for (const [command, args] of steps) {
    const result = spawnSync(command, args, { encoding: "utf8" });
    if (result.status !== 0) {
      const why = (result.error?.message ?? result.stderr.trim().split("\n").at(-1)) || `exit ${result.status}`;
      throw new Error(
        `cannot install the pycocotools baseline (\`${[command, ...args].join(" ")}\`: ${why}); ` +
          `it needs ${PYTHON} with numpy and venv (apt-get install python3-numpy python3-venv) and pip access to ${PYCOCOTOOLS}`,
      );
    }
  }
  if (!importable()) throw new Error(`${PYCOCOTOOLS} installed into ${VENV} but does not import`);
  return python;
}

function parseStats(usage: ProcessUsage, who: string): Stats {
  if (usage.exit !== 0) throw new Error(`${who} failed (exit ${usage.exit}): ${usage.stderr.trim().split("\n").slice(-3).join(" / ")}`);
  return JSON.parse(usage.stdout) as Stats;
}

/** The largest difference between the two sets of stats; -1 must be -1 on both sides. */
function largestDifference(detc: Stats, pycocotools: Stats): number {
  return Math.max(
    ...STATS.map((name) =>
      (detc[name] === -1) !== (pycocotools[name] === -1) ? Infinity : Math.abs(detc[name] - pycocotools[name]),
    ),
  );
}

const seconds = (values: readonly number[]) => `${median(values).toFixed(2)} s`;
const megabytes = (kb: number) => `${(kb / 1024).toFixed(0)} MB`;
const ratio = (value: number) => `**${value.toFixed(3)}×**`;

export function benchEval(options: { runs?: number; cli?: string } = {}): string[] {
  const runs = options.runs ?? 3;
  if (!hasGnuTime()) return ["skipped: GNU time (/usr/bin/time) is not installed"];
  const detcCli = options.cli ?? join(root, "dist/detc.js");
  if (!existsSync(detcCli)) throw new Error(`${detcCli} is missing: run \`npm run build\` first`);
  const python = pycocotoolsPython();
  const dir = mkdtempSync(join(tmpdir(), "detc-eval-bench-"));
  try {
    const { groundTruth, detections, annotationCount } = cocoCase();
    const groundTruthFile = join(dir, "instances_val.json");
    const detectionsFile = join(dir, "detections.json");
    writeFileSync(groundTruthFile, JSON.stringify(groundTruth));
    writeFileSync(detectionsFile, JSON.stringify(detections));
    const loadAtStart = loadavg()[0] ?? 0;
    const measured = { pycocotools: [] as ProcessUsage[], detc: [] as ProcessUsage[] };
    let pycocotoolsStats: Stats | undefined;
    let detcStats: Stats | undefined;
    // Alternated, so a change in the machine's load falls on both sides.
    for (let run = 0; run < runs; run++) {
      const reference = processUsage(python, [join(root, "bench/pycocotools_eval.py"), groundTruthFile, detectionsFile]);
      pycocotoolsStats = parseStats(reference, "pycocotools");
      measured.pycocotools.push(reference);
      const ours = processUsage(process.execPath, [detcCli, "eval", "--annotations", groundTruthFile, "--detections", detectionsFile, "--json"]);
      detcStats = parseStats(ours, "detc eval");
      measured.detc.push(ours);
    }
    if (!pycocotoolsStats || !detcStats) throw new Error("--runs must be at least 1");
    const difference = largestDifference(detcStats, pycocotoolsStats);
    const time = (side: ProcessUsage[]) => median(side.map((usage) => usage.seconds));
    const memory = (side: ProcessUsage[]) => median(side.map((usage) => usage.maxRssKb));
    const timeRatio = time(measured.detc) / time(measured.pycocotools);
    const memoryRatio = memory(measured.detc) / memory(measured.pycocotools);
    const row = (name: string, side: ProcessUsage[]) =>
      `| ${name} | ${seconds(side.map((u) => u.seconds))} | ${seconds(side.map((u) => u.cpu))} | ${megabytes(memory(side))} |`;
    const mb = (file: string) => `${(statSync(file).size / 1e6).toFixed(1)} MB`;
    const lines = [
      `case: ${(groundTruth as { images: unknown[] }).images.length} images, ${annotationCount} ground-truth objects, 80 categories, ` +
        `${detections.length} detections (ground truth ${mb(groundTruthFile)}, detections ${mb(detectionsFile)} of JSON)`,
      `timing: median of ${runs} run${runs === 1 ? "" : "s"} per side, each a fresh process (start-up, reading the JSON and printing included); peak RSS from GNU time`,
      "",
      "| | wall time | CPU time | peak RSS |",
      "|---|---|---|---|",
      row("pycocotools 2.0.11", measured.pycocotools),
      row(options.cli ? `detc eval (${options.cli})` : "detc eval", measured.detc),
      "",
      `detc/pycocotools: time ${ratio(timeRatio)} (goal ≤ ${GOALS.time.toFixed(2)}, i.e. ${(1 / timeRatio).toFixed(1)}× faster), ` +
        `peak RSS ${ratio(memoryRatio)} (goal ≤ ${GOALS.memory.toFixed(2)})`,
      `numbers: the 12 stats agree to ${difference.toExponential(1)} (tolerance ${TOLERANCE}); AP ${detcStats.AP.toFixed(4)}, AP50 ${detcStats.AP50.toFixed(4)}`,
      `load average (1 min) ${loadAtStart.toFixed(1)} at the start, ${(loadavg()[0] ?? 0).toFixed(1)} at the end`,
    ];
    if (!(difference <= TOLERANCE)) {
      throw new Error(`detc eval disagrees with pycocotools by ${difference}:\n${JSON.stringify({ detc: detcStats, pycocotools: pycocotoolsStats })}`);
    }
    return lines;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) {
  const { values } = parseArgs({ options: { runs: { type: "string" }, cli: { type: "string" } } });
  console.log(benchEval({ runs: values.runs === undefined ? undefined : Number(values.runs), cli: values.cli }).join("\n"));
}
