/**
 * Terminal colours: `--color` / `--no-color` when given; otherwise on only for a TTY (or with
 * FORCE_COLOR) and never with NO_COLOR.
 */
import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

let chosen: boolean | undefined;

/** The user's `--color` (true) or `--no-color` (false); undefined leaves it to the stream and NO_COLOR. */
export function chooseColor(on: boolean | undefined): void {
  chosen = on;
}

export function colors(stream: NodeJS.WriteStream): Colors {
  const enabled = chosen ?? (!process.env.NO_COLOR && (stream.isTTY === true || !!process.env.FORCE_COLOR));
  return pc.createColors(enabled);
}

/** `70,596,852` (without toLocaleString, whose ICU start-up costs ~100 ms of a cold run). */
export const thousands = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
