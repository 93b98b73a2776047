/** `detc check --json` keeps its promises on thousands of mutated specs (test/support/spec-fuzzer.ts). */
import { expect, it } from "vitest";
import { randomFromState } from "../src/util/random.js";
import { brokenPromises, fuzzedSpec } from "./support/spec-fuzzer.js";

const CASES = 2000;
const SEED = 14;

it(`keeps every promise on ${CASES} fuzzed specs (seed ${SEED})`, () => {
  const random = randomFromState(SEED);
  const failures: string[] = [];
  for (let i = 0; i < CASES && failures.length < 5; i++) {
    const source = fuzzedSpec(random);
    const broken = brokenPromises(source);
    if (broken.length > 0) failures.push(`case ${i}: ${broken.join("; ")}\n${JSON.stringify(source.slice(0, 400))}`);
  }
  expect(failures).toEqual([]);
}, 120_000);
