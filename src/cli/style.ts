/** Terminal colours: on only for a TTY and never with NO_COLOR (picocolors decides). */
import pc from "picocolors";

export type Colors = ReturnType<typeof pc.createColors>;

export function colors(stream: NodeJS.WriteStream): Colors {
  const enabled = !process.env.NO_COLOR && (stream.isTTY === true || !!process.env.FORCE_COLOR);
  return pc.createColors(enabled);
}

/** `70,596,852` (without toLocaleString, whose ICU start-up costs ~100 ms of a cold run). */
export const thousands = (n: number) => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
