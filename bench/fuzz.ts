/**
 * The long run of test/fuzz.test.ts: fuzzed specs for a fixed time (FUZZ_SECONDS, default 300),
 * from a seed (FUZZ_SEED, default the time), checking the same promises. `npx tsx bench/fuzz.ts`
 * on its own, or as part of `npm run bench`; a failure prints the seed and case to reproduce.
 */
import { randomFromState } from "../src/util/random.js";
import { brokenPromises, fuzzedSpec } from "../test/support/spec-fuzzer.js";

export function benchFuzz(seconds = Number(process.env.FUZZ_SECONDS ?? 300), seed = Number(process.env.FUZZ_SEED ?? Date.now() % 1e9)): string[] {
  const random = randomFromState(seed);
  const until = performance.now() + seconds * 1000;
  const failures: string[] = [];
  let cases = 0;
  let slowest = 0;
  while (performance.now() < until && failures.length < 10) {
    const source = fuzzedSpec(random);
    const start = performance.now();
    const broken = brokenPromises(source);
    slowest = Math.max(slowest, performance.now() - start);
    if (broken.length > 0) failures.push(`case ${cases}: ${broken.join("; ")}\n  ${JSON.stringify(source.slice(0, 300))}`);
    cases++;
  }
  return [
    `fuzzed specs (seed ${seed})          ${cases.toLocaleString("en-US").padStart(9)} in ${seconds} s, slowest ${slowest.toFixed(0)} ms`,
    failures.length === 0 ? "broken promises                          none" : `broken promises: ${failures.length}\n${failures.join("\n")}`,
  ];
}

if (import.meta.url === `file://${process.argv[1]}`) for (const line of benchFuzz()) console.log(line);
