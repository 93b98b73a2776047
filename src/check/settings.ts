/**
 * Every tunable setting of the detector and of training: its name, kind, range and torchvision's
 * default, in one table per section. A spec overrides them with `rpn KEY VALUE`, `box KEY VALUE`
 * and `train KEY VALUE`; keys keep torchvision's FasterRCNN argument names without their
 * `rpn_`/`box_` prefix. The same table types the resolved settings (`Settings`), gives E070 its
 * names, kinds and ranges, and gives the emitters their defaults and docs.
 */
import type * as ast from "../language/ast.js";

export type SettingType = "integer" | "number" | "integers" | "boolean";
export type SettingValue = number | boolean | readonly number[];

/** What reading a written value gives: the value, or what was expected instead (E070's words). */
export type SettingReading<T> = { readonly value: T } | { readonly expected: string } | { readonly unreadable: true };

export interface SettingSpec<T extends SettingValue = SettingValue> {
  readonly type: SettingType;
  readonly default: T;
  readonly min?: number;
  readonly max?: number;
  readonly doc: string;
  /** A non-finite number is `unreadable`: E034 reports it, not E070. */
  readonly read: (values: ast.Setting["values"]) => SettingReading<T>;
}

interface Range {
  readonly min?: number;
  readonly max?: number;
}

const probability: Range = { min: 0, max: 1 };
const positive: Range = { min: 1 };

function rangeProblem(numbers: readonly number[], { min, max }: Range): string | undefined {
  if (!numbers.some((n) => (min !== undefined && n < min) || (max !== undefined && n > max))) return undefined;
  return [min !== undefined ? `≥ ${min}` : "", max !== undefined ? `≤ ${max}` : ""].filter(Boolean).join(" and ");
}

/** The written numbers, `unreadable` if one is not finite, undefined if a value is not a number. */
function numbersOf(values: ast.Setting["values"]): readonly number[] | "unreadable" | undefined {
  const numbers = values.flatMap((v) => (v.kind === "Number" ? [v.value] : []));
  if (numbers.some((n) => !Number.isFinite(n))) return "unreadable";
  return numbers.length === values.length ? numbers : undefined;
}

function integer(defaultValue: number, doc: string, range: Range = {}): SettingSpec<number> {
  return {
    type: "integer", default: defaultValue, ...range, doc,
    read(values) {
      const numbers = numbersOf(values);
      if (numbers === "unreadable") return { unreadable: true };
      const [only] = numbers ?? [];
      if (values.length !== 1 || only === undefined) return { expected: "one whole number" };
      if (!Number.isInteger(only)) return { expected: "a whole number" };
      if (!Number.isSafeInteger(only)) return { expected: "a whole number below 2^53" };
      const problem = rangeProblem([only], range);
      return problem ? { expected: problem } : { value: only };
    },
  };
}

function number(defaultValue: number, doc: string, range: Range = {}): SettingSpec<number> {
  return {
    type: "number", default: defaultValue, ...range, doc,
    read(values) {
      const numbers = numbersOf(values);
      if (numbers === "unreadable") return { unreadable: true };
      const [only] = numbers ?? [];
      if (values.length !== 1 || only === undefined) return { expected: "one number" };
      const problem = rangeProblem([only], range);
      return problem ? { expected: problem } : { value: only };
    },
  };
}

function integers(defaultValue: readonly number[], doc: string, range: Range = {}): SettingSpec<readonly number[]> {
  return {
    type: "integers", default: defaultValue, ...range, doc,
    read(values) {
      const numbers = numbersOf(values);
      // An empty list is the parser's to report.
      if (numbers === "unreadable" || values.length === 0) return { unreadable: true };
      if (numbers === undefined || numbers.some((n) => !Number.isInteger(n))) return { expected: "whole numbers" };
      if (numbers.some((n) => !Number.isSafeInteger(n))) return { expected: "whole numbers below 2^53" };
      const problem = rangeProblem(numbers, range);
      return problem ? { expected: problem } : { value: numbers };
    },
  };
}

function boolean(defaultValue: boolean, doc: string): SettingSpec<boolean> {
  return {
    type: "boolean", default: defaultValue, doc,
    read(values) {
      if (numbersOf(values) === "unreadable") return { unreadable: true };
      const [only] = values;
      const word = values.length === 1 && only?.kind === "Identifier" ? only.value : undefined;
      return word === "true" || word === "false" ? { value: word === "true" } : { expected: "`true` or `false`" };
    },
  };
}

/** Gives a section's table one setting's value: the written one when it reads, else the default. */
type Read = <T extends SettingValue>(name: string, spec: SettingSpec<T>) => T;

/** The tables. Each entry's key is its name, checked when the module loads (`tableOf`). */
const rpn = (read: Read) => ({
  pre_nms_top_n_train: read("pre_nms_top_n_train", integer(2000, "proposals kept per level before NMS (training)", positive)),
  pre_nms_top_n_test: read("pre_nms_top_n_test", integer(1000, "proposals kept per level before NMS (inference)", positive)),
  post_nms_top_n_train: read("post_nms_top_n_train", integer(2000, "proposals kept after NMS (training)", positive)),
  post_nms_top_n_test: read("post_nms_top_n_test", integer(1000, "proposals kept after NMS (inference)", positive)),
  nms_thresh: read("nms_thresh", number(0.7, "NMS IoU threshold for proposals", probability)),
  fg_iou_thresh: read("fg_iou_thresh", number(0.7, "IoU at or above which an anchor is positive", probability)),
  bg_iou_thresh: read("bg_iou_thresh", number(0.3, "IoU below which an anchor is negative", probability)),
  batch_size_per_image: read("batch_size_per_image", integer(256, "anchors sampled per image for the loss", positive)),
  positive_fraction: read("positive_fraction", number(0.5, "share of positives among sampled anchors", probability)),
  score_thresh: read("score_thresh", number(0, "minimum objectness of a proposal", probability)),
});

const box = (read: Read) => ({
  score_thresh: read("score_thresh", number(0.05, "minimum class score of a detection", probability)),
  nms_thresh: read("nms_thresh", number(0.5, "per-class NMS IoU threshold", probability)),
  detections_per_img: read("detections_per_img", integer(100, "detections kept per image", positive)),
  fg_iou_thresh: read("fg_iou_thresh", number(0.5, "IoU at or above which a proposal is foreground", probability)),
  bg_iou_thresh: read("bg_iou_thresh", number(0.5, "IoU below which a proposal is background", probability)),
  batch_size_per_image: read("batch_size_per_image", integer(512, "proposals sampled per image for the loss", positive)),
  positive_fraction: read("positive_fraction", number(0.25, "share of foreground among sampled proposals", probability)),
  representation_size: read("representation_size", integer(1024, "width of TwoMLPHead's two fully connected layers", positive)),
});

const train = (read: Read) => ({
  epochs: read("epochs", integer(12, "passes over the training split", positive)),
  batch_size: read("batch_size", integer(2, "images per step", positive)),
  lr: read("lr", number(0.01, "peak learning rate (SGD)", { min: 0 })),
  momentum: read("momentum", number(0.9, "SGD momentum", probability)),
  weight_decay: read("weight_decay", number(1e-4, "L2 weight decay (not applied to norm layers' parameters)", { min: 0 })),
  warmup_steps: read("warmup_steps", integer(500, "steps of linear learning-rate warm-up", { min: 0 })),
  warmup_factor: read("warmup_factor", number(0.001, "learning-rate multiplier at the first warm-up step", probability)),
  lr_steps: read("lr_steps", integers([8, 11], "epochs after which the learning rate is multiplied by lr_gamma", positive)),
  lr_gamma: read("lr_gamma", number(0.1, "learning-rate decay factor", probability)),
  flip: read("flip", number(0.5, "probability of a horizontal flip", probability)),
  frozen_batch_norm: read("frozen_batch_norm", boolean(true, "freeze BatchNorm statistics and affine parameters")),
  recompute_stages: read(
    "recompute_stages",
    boolean(false, "keep only each trainable backbone stage's input for the backward pass and recompute the rest there (less memory, slower steps)"),
  ),
  checkpoint_every: read("checkpoint_every", integer(500, "steps between checkpoints", positive)),
  seed: read("seed", integer(0, "random seed for initialisation, sampling and augmentation", { min: 0 })),
});

export type RpnSettings = Readonly<ReturnType<typeof rpn>>;
export type BoxSettings = Readonly<ReturnType<typeof box>>;
export type TrainSettings = Readonly<ReturnType<typeof train>>;

/** Every setting resolved: plain JSON, typed by the tables. */
export interface Settings {
  readonly rpn: RpnSettings;
  readonly box: BoxSettings;
  readonly train: TrainSettings;
}

export type Section = keyof Settings;

/** A section's table, name → spec, in the order written above. */
function tableOf(section: (read: Read) => object): ReadonlyMap<string, SettingSpec> {
  const table = new Map<string, SettingSpec>();
  const keys = Object.keys(
    section((name, spec) => {
      table.set(name, spec);
      return spec.default;
    }),
  );
  if (keys.join() !== [...table.keys()].join()) throw new Error(`internal error: a settings table names a key other than its own (${keys.join()})`);
  return table;
}

export const SETTINGS: { readonly [S in Section]: ReadonlyMap<string, SettingSpec> } = {
  rpn: tableOf(rpn),
  box: tableOf(box),
  train: tableOf(train),
};

export function isSection(name: string): name is Section {
  return Object.hasOwn(SETTINGS, name);
}

/**
 * The settings with a spec's overrides applied (the last written wins); values E070 rejects keep
 * torchvision's default, so later stages always see a value of the right kind.
 */
export function resolveSettings(written: (section: Section, name: string) => ast.Setting | undefined): Settings {
  const reader =
    (section: Section): Read =>
    (name, spec) => {
      const setting = written(section, name);
      const reading = setting && spec.read(setting.values);
      return reading && "value" in reading ? reading.value : spec.default;
    };
  return { rpn: rpn(reader("rpn")), box: box(reader("box")), train: train(reader("train")) };
}

/** torchvision's defaults, typed like any resolved settings. */
export const DEFAULT_SETTINGS: Settings = resolveSettings(() => undefined);

/** A section's resolved values beside their specs, in table order (for the emitters). */
export function sectionEntries(section: Section, values: Settings[Section]): { name: string; spec: SettingSpec; value: SettingValue }[] {
  return Object.entries(values).map(([name, value]: [string, SettingValue]) => {
    const spec = SETTINGS[section].get(name);
    if (!spec) throw new Error(`internal error: no ${section} setting \`${name}\` in the table`);
    return { name, spec, value };
  });
}
