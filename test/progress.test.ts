/** The training progress line: redrawn in place on a terminal, cut to its width and redrawn on resize; plain lines elsewhere. */
import { EventEmitter } from "node:events";
import { describe, expect, it } from "vitest";
import { formatDuration, ProgressLine } from "../src/cli/progress.js";

function stream(isTTY: boolean, columns?: number) {
  const written: string[] = [];
  const out = Object.assign(new EventEmitter(), { isTTY, columns, write: (text: string) => written.push(text) });
  return { written, stream: out as unknown as NodeJS.WriteStream };
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

  it("draws itself again, fitted to the new width, when the terminal is resized, until it ends", () => {
    const written: string[] = [];
    const terminal = Object.assign(new EventEmitter(), { isTTY: true, columns: 40, write: (text: string) => written.push(text) });
    const line = new ProgressLine(terminal as unknown as NodeJS.WriteStream);
    line.update("z".repeat(100));
    terminal.columns = 30;
    terminal.emit("resize");
    line.end();
    terminal.emit("resize");
    expect(written).toEqual([`\r${"z".repeat(38)}…\x1b[K`, `\r${"z".repeat(28)}…\x1b[K`, "\n"]);
    expect(terminal.listenerCount("resize")).toBe(0);
  });

  it("formats the time left", () => {
    expect([formatDuration(7.4), formatDuration(125), formatDuration(3 * 3600 + 61), formatDuration(Infinity)]).toEqual(["7s", "2m05s", "3h01m", "–"]);
  });
});
