/** The training progress line: redrawn in place on a terminal and cut to its width, plain lines elsewhere. */
import { describe, expect, it } from "vitest";
import { formatDuration, ProgressLine } from "../src/cli/progress.js";

function stream(isTTY: boolean, columns?: number) {
  const written: string[] = [];
  return { written, stream: { isTTY, columns, write: (text: string) => written.push(text) } as unknown as NodeJS.WriteStream };
}

describe("the progress line", () => {
  it("off a terminal prints whole lines, no carriage returns, never cut, at most one per interval", () => {
    const { written, stream: out } = stream(false);
    const line = new ProgressLine(out, 60_000);
    const long = "train " + "x".repeat(200);
    line.update(long, true);
    line.update("skipped: within the interval");
    line.update("the last step", true);
    line.end();
    expect(written).toEqual([long + "\n", "the last step\n"]);
  });

  it("on a terminal redraws in place, fitted to the terminal's width, and ends its line before other output", () => {
    const { written, stream: out } = stream(true, 40);
    const line = new ProgressLine(out);
    line.update("y".repeat(100));
    line.update("short");
    line.end();
    line.end();
    expect(written).toEqual([`\r${"y".repeat(38)}…\x1b[K`, "\rshort\x1b[K", "\n"]);
  });

  it("formats the time left", () => {
    expect([formatDuration(7.4), formatDuration(125), formatDuration(3 * 3600 + 61), formatDuration(Infinity)]).toEqual(["7s", "2m05s", "3h01m", "–"]);
  });
});
