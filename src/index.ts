/**
 * detc as a library (`import { check, buildDetector, … } from "detc"`): the functions the CLI is
 * made of, for programs that check specs or run detectors without shelling out. Documented in
 * docs/library.md. Text and values in, values out; only `loadWeights`, `readImage` and the lookup `filesBeside` makes read files.
 */
export { parse } from "./language/index.js";
export type { ParseResult, SpecFile, SyntaxProblem, Span, Position } from "./language/index.js";
export { format } from "./language/printer.js";

export { checkSource as check } from "./check/index.js";
export type { CheckOptions, CheckResult } from "./check/index.js";
export type { FileKind, FileLookup } from "./check/rule.js";
export { filesBeside } from "./util/files-beside.js";
export type { Diagnostic, Label, Severity } from "./check/diagnostic.js";
export type { DetectorSummary, PartParameters } from "./check/summary.js";
export type { FeatureLevel } from "./check/analysis.js";
export type { DetectorSpec } from "./check/detector-spec.js";

export { buildFasterRCNN as buildDetector, FasterRCNN } from "./detection/faster-rcnn.js";
export type { Detection, FasterRCNNOptions } from "./detection/faster-rcnn.js";
export { detect, className, DEFAULT_MIN_SCORE } from "./detection/detect.js";
export type { DetectOptions, LabelledDetection } from "./detection/detect.js";
export type { Box, RgbImage } from "./data/dataset.js";
export { decodePhoto as readImage } from "./data/images.js";

export { loadWeights } from "./train/detector-weights.js";
export type { WeightsSource } from "./train/detector-weights.js";
export { formatWeightsReport } from "./weights/load-weights.js";
export type { WeightsReport } from "./weights/load-weights.js";

export { selectBackend as useEngine } from "./engine/backend.js";
export type { BackendSelection, EngineAttempt } from "./engine/backend.js";
export type { EngineChoice, EngineName } from "./engine/engines.js";

export { evaluateCoco } from "./eval/coco-eval.js";
export type { CocoStats, CocoDetection, CocoGroundTruth } from "./eval/coco-eval.js";

export { InputError } from "./util/input-error.js";
