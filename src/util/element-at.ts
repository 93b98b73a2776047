/**
 * Indexing where the index is in range by construction (a loop bound, a lookup table built from
 * the same list). `noUncheckedIndexedAccess` types every `array[i]` as possibly missing; this says
 * "cannot be" and, if it ever is, fails with a message naming the bug instead of computing NaN.
 */
export function elementAt<T>(items: ArrayLike<T>, index: number): T {
  const item = items[index];
  if (item === undefined) throw new RangeError(`internal error: index ${index} is outside 0..${items.length - 1}`);
  return item;
}

/** `values[index] += amount` for an index in range by construction (an accumulator indexed by channel). */
export function addAt(values: { [index: number]: number; readonly length: number }, index: number, amount: number): void {
  values[index] = elementAt(values, index) + amount;
}
