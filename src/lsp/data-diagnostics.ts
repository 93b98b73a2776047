/**
 * The language server's `detc check --data`: each error-free detector of a document checked against
 * its training boxes (anchor recall, small and elongated boxes, a fitted `anchors` line with its
 * fix). Reading a dataset is I/O, so this runs after the pure diagnostics, and each dataset is read
 * once per session (keyed by what the spec says about it and the document's folder).
 */
import { dirname } from "node:path";
import { fileURLToPath } from "node:url";
import type { TextDocument } from "vscode-languageserver-textdocument";
import { checkSource } from "../check/index.js";
import type { Diagnostic } from "../check/diagnostic.js";
import type { DetectorSpec } from "../check/detector-spec.js";
import type { DetectionDataset } from "../data/dataset.js";

export class DataDiagnostics {
  private readonly datasets = new Map<string, Promise<DetectionDataset>>();

  /** The data rules' diagnostics; none for a document that is not a file, or whose data cannot be read. */
  async of(document: TextDocument): Promise<Diagnostic[]> {
    if (!document.uri.startsWith("file:")) return [];
    const dir = dirname(fileURLToPath(document.uri));
    const result = checkSource(document.getText());
    const { checkDetectorData } = await import("../anchors/analyze.js");
    const found: Diagnostic[] = [];
    for (const detector of result.detectors) {
      const analysis = result.analyses.find((a) => a.name === detector.name);
      const train = await this.training(detector.spec, dir).catch(() => undefined);
      if (analysis && train) found.push(...checkDetectorData(analysis, train).diagnostics);
    }
    return found;
  }

  private training(spec: DetectorSpec, dir: string): Promise<DetectionDataset> {
    const key = JSON.stringify([dir, spec.dataset, spec.input, spec.classes, spec.settings.train.seed]);
    const cached = this.datasets.get(key);
    if (cached !== undefined) return cached;
    const train = load(spec, dir);
    // A failed read is retried next time (the user may be fixing the path).
    void train.catch(() => this.datasets.delete(key));
    this.datasets.set(key, train);
    return train;
  }
}

async function load(spec: DetectorSpec, dir: string): Promise<DetectionDataset> {
  const { loadSpecDatasets } = await import("../train/datasets.js");
  return (await loadSpecDatasets(spec, dir)).train;
}
