/** Loading a spec for the runtime commands: check it first, refuse to build a model from errors. */
import { dirname } from "node:path";
import { checkSource } from "../check/index.js";
import { errorCount } from "../check/diagnostic.js";
import type { DetectorSpec } from "../check/detector-spec.js";
import { readText, UsageError } from "./io.js";
import { renderDiagnostic } from "./render-diagnostics.js";
import { colors } from "./style.js";

/** The spec has errors; they were printed (exit 1). */
export class SpecError extends Error {}

export interface LoadedSpec {
  readonly spec: DetectorSpec;
  /** Paths in the spec are relative to this folder. */
  readonly dir: string;
}

export function loadSpec(path: string, detectorName?: string): LoadedSpec {
  const source = readText(path);
  const result = checkSource(source);
  const c = colors(process.stderr);
  for (const d of result.diagnostics) if (d.severity !== "info") process.stderr.write(renderDiagnostic(d, path, source, c) + "\n\n");
  const errors = errorCount(result.diagnostics);
  if (errors > 0) throw new SpecError(`${path} has ${errors} error${errors === 1 ? "" : "s"}; fix ${errors === 1 ? "it" : "them"} first (\`detc check ${path}\`)`);
  const names = result.detectors.map((d) => d.name);
  if (names.length === 0) throw new UsageError(`${path} has no detector`);
  if (detectorName === undefined && names.length > 1)
    throw new UsageError(`${path} has ${names.length} detectors (${names.join(", ")}); choose one with --detector`);
  const detector = detectorName === undefined ? result.detectors[0]! : result.detectors.find((d) => d.name === detectorName);
  if (!detector) throw new UsageError(`${path} has no detector \`${detectorName}\` (it has ${names.join(", ")})`);
  return { spec: detector.spec, dir: dirname(path) };
}
