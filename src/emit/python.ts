/** Python literals for generated code: numbers as Python would print them, strings JSON-quoted. */

/** An integer as written (`2000`); a float always with a decimal point (`0.0`, `0.7`, `0.0001`). */
export function pyNumber(value: number, float = !Number.isInteger(value)): string {
  const text = String(value);
  return float && /^-?\d+$/.test(text) ? `${text}.0` : text;
}

/** JSON string escapes are valid in Python string literals. */
export const pyString = (value: string): string => JSON.stringify(value);

/** A tuple literal, with the trailing comma a one-element tuple needs. */
export function pyTuple(items: readonly string[]): string {
  return items.length === 1 ? `(${items[0]},)` : `(${items.join(", ")})`;
}

export const pyList = (items: readonly string[]): string => `[${items.join(", ")}]`;
