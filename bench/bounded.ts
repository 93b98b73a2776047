/**
 * `detc check` and `detc fmt` on the inputs of issue 14, each a fresh process as a user runs it,
 * with wall time and peak memory from GNU time (`/usr/bin/time -v`). `npx tsx bench/bounded.ts`
 * after `npm run build`, or as part of `npm run bench`.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { hasGnuTime, processUsage } from "./process-usage.js";

const root = fileURLToPath(new URL("..", import.meta.url));

/** Printable junk, the same every run. */
function junk(bytes: number): string {
  let state = 14;
  const chars: string[] = [];
  for (let i = 0; i < bytes; i++) {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    chars.push(String.fromCharCode(32 + (state % 95)), ...(state % 40 === 0 ? ["\n"] : []));
  }
  return chars.join("").slice(0, bytes);
}

const detectors = (n: number) =>
  Array.from({ length: n }, (_, i) => `# detector ${i}\ndetector d${i}  # its name\nbackbone resnet50\ntap layer3  # the tap\nclasses 21\n`).join("\n");

function measure(args: string[]): { seconds: number; cpu: number; megabytes: number; exit: number; output: number } {
  const usage = processUsage(process.execPath, ["dist/detc.js", ...args], { cwd: root });
  return { ...usage, megabytes: usage.maxRssKb / 1024, output: usage.stdout.length + usage.stderr.length };
}

export function benchBounded(): string[] {
  if (!hasGnuTime()) return ["skipped: GNU time (/usr/bin/time) is not installed"];
  const dir = mkdtempSync(join(tmpdir(), "detc-bounded-"));
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(path, text);
    return path;
  };
  const spec = (...lines: string[]) => ["detector d", "backbone resnet50", ...lines, "classes 21", ""].join("\n");
  const cases: [string, string[]][] = [
    ["detc --version (start-up alone, for scale)", ["--version"]],
    ["check /dev/zero", ["check", "/dev/zero"]],
    ["check 50 MB of junk", ["check", file("junk50m.det", junk(50 * 1024 * 1024))]],
    ["check 1 MiB of junk (the largest spec read)", ["check", file("junk1m.det", junk(1024 * 1024 - 1))]],
    ["check 20 000 nested parentheses", ["check", file("parens.det", spec(`anchors sizes ${"(".repeat(20_000)}`))]],
    ["check 100 000 taps", ["check", file("taps.det", spec(`tap ${Array.from({ length: 100_000 }, (_, i) => `layer${(i % 4) + 1}`).join(", ")}`))]],
    ["check --json 100 000 taps", ["check", "--json", join(dir, "taps.det")]],
    ["fmt --check 1 000 commented detectors", ["fmt", "--check", file("det1k.det", detectors(1_000))]],
    ["fmt --check 10 000 commented detectors", ["fmt", "--check", file("det10k.det", detectors(10_000))]],
  ];
  const lines = ["| input | wall time | CPU time | peak memory | exit | output |", "|---|---|---|---|---|---|"];
  for (const [what, args] of cases) {
    const { seconds, cpu, megabytes, exit, output } = measure(args);
    lines.push(`| ${what} | ${seconds.toFixed(2)} s | ${cpu.toFixed(2)} s | ${megabytes.toFixed(0)} MB | ${exit} | ${(output / 1024).toFixed(1)} KB |`);
  }
  rmSync(dir, { recursive: true, force: true });
  return lines;
}

if (import.meta.url === `file://${process.argv[1]}`) for (const line of benchBounded()) console.log(line);
