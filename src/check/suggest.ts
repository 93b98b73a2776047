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
  return candidates
    .map((candidate) => ({ candidate, d: distance(input.toLowerCase(), candidate.toLowerCase()) }))
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

/** `did you mean `a`?` / `did you mean one of `a`, `b`?`, or undefined when nothing is close. */
export function didYouMean(suggestions: readonly string[]): string | undefined {
  if (suggestions.length === 0) return undefined;
  if (suggestions.length === 1) return `did you mean \`${suggestions[0]}\`?`;
  return `did you mean one of ${suggestions.map((s) => `\`${s}\``).join(", ")}?`;
}
