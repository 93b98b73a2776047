/** "Did you mean": nearest candidates by edit distance, shared by every rule that needs it. */
import { distance } from "fastest-levenshtein";

/**
 * How far apart the numbers of two names are (`features.44` vs `features.43` → 1), so that among
 * equally close spellings the neighbouring layer comes first.
 */
function numericGap(input: string, candidate: string): number {
  const numbers = (s: string) => (s.match(/\d+/g) ?? []).map(Number);
  const [a, b] = [numbers(input), numbers(candidate)];
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  return a.reduce((sum, n, i) => sum + Math.abs(n - b[i]!), 0);
}

/** Candidates close enough to `input` to be a plausible typo, nearest first. */
export function suggestionList(input: string, candidates: readonly string[], limit = 5): string[] {
  const threshold = Math.max(2, Math.floor(input.length * 0.4));
  const lower = input.toLowerCase();
  return candidates
    // Two names differ by at least their difference in length: a 1 MB name is compared with nothing.
    .filter((candidate) => Math.abs(candidate.length - input.length) <= threshold)
    .map((candidate) => ({ candidate, d: distance(lower, candidate.toLowerCase()) }))
    .filter(({ d }) => d <= threshold)
    .sort(
      (a, b) =>
        a.d - b.d ||
        numericGap(input, a.candidate) - numericGap(input, b.candidate) ||
        a.candidate.localeCompare(b.candidate),
    )
    .slice(0, limit)
    .map(({ candidate }) => candidate);
}

/**
 * Different names a rule looks up suggestions for, per detector. A spec with thousands of unknown
 * names is machine-made; past this many, searching every candidate for each costs seconds and
 * the diagnostics that would show them are past the listed ones anyway.
 */
export const MAX_SUGGESTED_NAMES = 20;

/** suggestionList over fixed candidates, once per different name, for the first MAX_SUGGESTED_NAMES names. */
export function suggester(candidates: readonly string[], limit?: number): (input: string) => string[] {
  const found = new Map<string, string[]>();
  return (input) => {
    const known = found.get(input);
    if (known) return known;
    if (found.size >= MAX_SUGGESTED_NAMES) return [];
    const suggestions = suggestionList(input, candidates, limit);
    found.set(input, suggestions);
    return suggestions;
  };
}

/** `did you mean `a`?` / `did you mean one of `a`, `b`?`, or undefined when nothing is close. */
export function didYouMean(suggestions: readonly string[]): string | undefined {
  if (suggestions.length === 0) return undefined;
  if (suggestions.length === 1) return `did you mean \`${suggestions[0]}\`?`;
  return `did you mean one of ${suggestions.map((s) => `\`${s}\``).join(", ")}?`;
}
