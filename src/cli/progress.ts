/**
 * The training progress line. On a terminal it redraws one line in place, cut to the terminal's
 * width so it never wraps; anywhere else (a pipe, a log file, CI) it prints plain lines, at most one
 * every `plainEveryMs` unless told otherwise. It has no timer of its own: it draws when told, so
 * nothing of it can keep the process alive after the run ends or fails. With `--quiet` it draws nothing.
 */
import { isQuiet } from "./output.js";

export class ProgressLine {
  private drawn = false;
  private lastPlain = -Infinity;
  private text = "";
  /** A resized terminal re-wraps the line drawn for the old width: draw it again for the new one. */
  private readonly redraw = () => this.draw();

  constructor(
    private readonly stream: NodeJS.WriteStream,
    private readonly plainEveryMs = 10_000,
  ) {}

  /** `always`: print this one even off a terminal (the first and last step, say). */
  update(text: string, always = false): void {
    if (isQuiet()) return;
    if (this.stream.isTTY) {
      this.text = text;
      if (!this.drawn) this.stream.on("resize", this.redraw);
      this.drawn = true;
      this.draw();
    } else if (always || performance.now() - this.lastPlain >= this.plainEveryMs) {
      this.stream.write(text + "\n");
      this.lastPlain = performance.now();
    }
  }

  /** Ends the line being redrawn, so that what is printed next starts a line of its own. */
  end(): void {
    if (this.drawn) {
      this.stream.write("\n");
      this.stream.off("resize", this.redraw);
    }
    this.drawn = false;
  }

  private draw(): void {
    const width = Math.max(20, (this.stream.columns || 80) - 1);
    const text = this.text;
    this.stream.write(`\r${text.length > width ? text.slice(0, width - 1) + "…" : text}\x1b[K`);
  }
}

export function progressBar(done: number, total: number, width = 24): string {
  const filled = Math.round((width * done) / Math.max(total, 1));
  return "[" + "=".repeat(filled) + " ".repeat(width - filled) + "]";
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "–";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor(s / 60) % 60).padStart(2, "0")}m`;
}
