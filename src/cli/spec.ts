/** Loading a spec for the runtime commands: check it first, refuse to build a model from errors. */
import { closeSync, fstatSync, openSync, readSync, type Stats } from "node:fs";
import { dirname } from "node:path";
import { checkSource } from "../check/index.js";
import { filesBeside } from "../util/files-beside.js";
import type { DetectorAnalysis } from "../check/analysis.js";
import type { DetectorSpec } from "../check/detector-spec.js";
import { MAX_SPEC_SIZE } from "../language/index.js";
import { cannotRead, sourceName, STDIN, UsageError } from "./io.js";
import { renderDiagnostic } from "./render-diagnostics.js";
import { colors } from "./style.js";

/** The spec has errors; they were printed (exit 1). */
export class SpecError extends Error {}

export interface LoadedSpec {
  readonly spec: DetectorSpec;
  /** The checked detector and its file's text, for checks that come later (its data, in `detc run`). */
  readonly analysis: DetectorAnalysis;
  readonly source: string;
  /** Paths in the spec are relative to this folder. */
  readonly dir: string;
}

const DESCRIBE_KIND: readonly [(stats: Stats) => boolean, string][] = [
  [(stats) => stats.isDirectory(), "a directory"],
  [(stats) => stats.isCharacterDevice(), "a character device"],
  [(stats) => stats.isBlockDevice(), "a block device"],
  [(stats) => stats.isSocket(), "a socket"],
];

const READ_CHUNK = 64 * 1024;

/**
 * The text of a spec file, read in bounded time and memory: directories and devices
 * (`/dev/zero`) are refused, and at most MAX_SPEC_SIZE bytes are ever read, also from a pipe that
 * never ends. Every refusal is a UsageError (exit 2) that names the file.
 */
export function readSpec(path: string): string {
  let fd: number;
  try {
    fd = path === STDIN ? 0 : openSync(path, "r");
  } catch (error) {
    throw cannotRead(path, error);
  }
  try {
    // Standard input may be a terminal (a spec typed by hand, ended with Ctrl-D).
    const kind = path === STDIN ? undefined : DESCRIBE_KIND.find(([is]) => is(fstatSync(fd)))?.[1];
    if (kind) throw new UsageError(`cannot read ${sourceName(path)}: it is ${kind}, not a .det file`);
    const chunks: Buffer[] = [];
    let size = 0;
    for (;;) {
      const chunk = Buffer.alloc(Math.min(READ_CHUNK, MAX_SPEC_SIZE + 1 - size));
      const read = readSync(fd, chunk, 0, chunk.length, null);
      if (read === 0) break;
      chunks.push(chunk.subarray(0, read));
      size += read;
      if (size > MAX_SPEC_SIZE)
        throw new UsageError(`cannot read ${sourceName(path)}: it is larger than ${MAX_SPEC_SIZE / (1024 * 1024)} MiB, the most a spec may be (real specs are a few KB)`);
    }
    const bytes = Buffer.concat(chunks, size);
    const nul = bytes.indexOf(0);
    if (nul >= 0) throw new UsageError(`cannot read ${sourceName(path)}: it is not a text file (a zero byte at offset ${nul})`);
    return bytes.toString("utf8");
  } catch (error) {
    throw error instanceof UsageError ? error : cannotRead(path, error);
  } finally {
    if (fd !== 0) closeSync(fd);
  }
}

export function loadSpec(path: string, detectorName?: string): LoadedSpec {
  const source = readSpec(path);
  const result = checkSource(source, { files: filesBeside(dirname(path)) });
  const c = colors(process.stderr);
  for (const d of result.diagnostics) if (d.severity !== "info") process.stderr.write(renderDiagnostic(d, path, source, c) + "\n\n");
  const errors = result.counts.error;
  if (errors > 0) throw new SpecError(`${path} has ${errors} error${errors === 1 ? "" : "s"}; fix ${errors === 1 ? "it" : "them"} first (\`detc check ${path}\`)`);
  const names = result.detectors.map((d) => d.name);
  if (names.length === 0) throw new UsageError(`${path} has no detector`);
  if (detectorName === undefined && names.length > 1)
    throw new UsageError(`${path} has ${names.length} detectors (${names.join(", ")}); choose one with --detector`);
  const detector = detectorName === undefined ? result.detectors[0]! : result.detectors.find((d) => d.name === detectorName);
  if (!detector) throw new UsageError(`${path} has no detector \`${detectorName}\` (it has ${names.join(", ")})`);
  const analysis = result.analyses.find((a) => a.name === detector.name)!;
  return { spec: detector.spec, analysis, source, dir: dirname(path) };
}
