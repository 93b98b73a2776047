/**
 * How files name a detector's tensors. detc's variables are named as in the seed tutorial's FPN
 * model (`backbone.body.<the network's own names>`, `backbone.fpn.…`, `rpn.…`, `roi_heads.…`);
 * the files people have come in a few more layouts, all recognised by their keys:
 *
 * - `tutorial`: the seed's `create_feature_extractor(network, …)` over the whole network. With an
 *   FPN it is the body, `backbone.body.features.6.…` / `backbone.body.layer3.…`; without one the
 *   extractor is the backbone itself, `backbone.features.42.…` / `backbone.layer3.…`.
 * - `torchvision`: the stock builders. A network tapped inside its `features` trunk
 *   (`_mobilenet_extractor`, and the docs' `backbone = net.features`) names it
 *   `backbone.body.<i>.…` with an FPN and `backbone.<i>.…` without; other networks keep their names
 *   under `backbone.body.` (`IntermediateLayerGetter`), as in the tutorial's FPN model.
 * - a classification network's own state dict (`layer1.0.conv1.weight`), for `backbone … weights`.
 *
 * Before reading, a file is normalised: DDP's `module.` prefix is dropped and torchvision < 0.13's
 * FPN and RPN-head names (`inner_blocks.N.weight`, `rpn.head.conv.weight`) become today's, as
 * torchvision's own `_load_from_state_dict` converts them.
 */
import type { DetectorSpec } from "../check/detector-spec.js";
import type { NamedTensor } from "./safetensors.js";

/** The layouts `detc export` writes and `detc emit torchvision` builds. */
export type Layout = "tutorial" | "torchvision";
export const LAYOUTS: readonly Layout[] = ["tutorial", "torchvision"];
/** What a seed user's own code (the tutorial's model) loads with strict=True. */
export const DEFAULT_LAYOUT: Layout = "tutorial";

const BODY = "backbone.body.";
const FEATURES = "features.";

/**
 * Whether torchvision's layout takes this configuration's body from the `features` trunk: when
 * every tap (a node name) is inside it. `detc emit torchvision --layout torchvision` builds it so.
 */
export function bodyFromFeatures(taps: readonly string[]): boolean {
  return taps.every((node) => node.startsWith(FEATURES));
}

/** The key `layout` gives our variable `key`. */
export function layoutKey(spec: DetectorSpec, key: string, layout: Layout): string {
  if (!key.startsWith(BODY)) return key;
  const inNetwork = key.slice(BODY.length);
  const prefix = spec.fpn ? BODY : "backbone.";
  if (layout === "tutorial") return prefix + inNetwork;
  if (!bodyFromFeatures(spec.taps.map((t) => t.node))) return key;
  return prefix + inNetwork.slice(FEATURES.length);
}

/** One way of naming the model's tensors, as a reader tries it on a file. */
export interface Naming {
  /** What the report calls it. */
  readonly name: string;
  /** The file key of our variable `key`, or undefined when this naming has none for it. */
  readonly keyOf: (key: string) => string | undefined;
}

/** The layouts a whole detector's file may be in. */
export function detectorNamings(spec: DetectorSpec): Naming[] {
  const tutorial = spec.fpn ? "the tutorial's FPN layout" : "the tutorial's single-map layout";
  // With an FPN, a network tapped outside `features` has the same keys both ways.
  const same = spec.fpn !== null && !bodyFromFeatures(spec.taps.map((t) => t.node));
  return [
    { name: same ? `${tutorial} (also torchvision's)` : tutorial, keyOf: (key) => layoutKey(spec, key, "tutorial") },
    { name: "torchvision's layout", keyOf: (key) => layoutKey(spec, key, "torchvision") },
  ];
}

/** The layouts a backbone's file may be in: a classification network's, or a detector's body. */
export function backboneNamings(spec: DetectorSpec): Naming[] {
  const classification: Naming = { name: "a classification network's layout", keyOf: (key) => (key.startsWith(BODY) ? key.slice(BODY.length) : undefined) };
  return [classification, ...detectorNamings(spec).map((naming) => ({ name: `${naming.name} of a detector`, keyOf: naming.keyOf }))];
}

const PRE_0_13: readonly [RegExp, string][] = [
  [/^(backbone\.fpn\.(?:inner|layer)_blocks\.\d+)\.(weight|bias)$/, "$1.0.$2"],
  [/^rpn\.head\.conv\.(weight|bias)$/, "rpn.head.conv.0.0.$1"],
];

export interface NormalisedFile {
  /** Key as read (after the renames below) → tensor. */
  readonly tensors: ReadonlyMap<string, NamedTensor>;
  /** What was renamed, for the report. */
  readonly notes: readonly string[];
}

/** The file's keys with DDP's `module.` prefix dropped and torchvision < 0.13's names updated. */
export function normaliseKeys(stateDict: ReadonlyMap<string, NamedTensor>): NormalisedFile {
  const notes: string[] = [];
  let entries = [...stateDict];
  if (entries.length > 0 && entries.every(([key]) => key.startsWith("module."))) {
    entries = entries.map(([key, tensor]) => [key.slice("module.".length), tensor]);
    notes.push("DDP's `module.` prefix dropped");
  }
  let renamed = 0;
  entries = entries.map(([key, tensor]) => {
    const rule = PRE_0_13.find(([pattern]) => pattern.test(key));
    if (!rule) return [key, tensor];
    renamed++;
    return [key.replace(rule[0], rule[1]), tensor];
  });
  if (renamed > 0) notes.push(`${renamed} FPN/RPN keys named as torchvision < 0.13 names them, converted`);
  return { tensors: new Map(entries), notes };
}

export interface Recognised {
  readonly naming: Naming;
  /** Our key → the file's key for it, for every variable the file has. */
  readonly found: ReadonlyMap<string, string>;
}

/** The naming under which most of `modelKeys` are in the file (the first on a tie). */
export function recognise(namings: readonly Naming[], modelKeys: Iterable<string>, fileKeys: ReadonlySet<string>): Recognised {
  const keys = [...modelKeys];
  const tried = namings.map((naming) => {
    const found = new Map<string, string>();
    for (const key of keys) {
      const fileKey = naming.keyOf(key);
      if (fileKey !== undefined && fileKeys.has(fileKey)) found.set(key, fileKey);
    }
    return { naming, found };
  });
  return tried.reduce((best, next) => (next.found.size > best.found.size ? next : best));
}

/**
 * A prefix rename that would explain several unexpected keys as missing ones (`backbone.body.` →
 * `backbone.`), with how many it explains and one example; undefined unless it explains at least
 * two, and half of the smaller side (a few shared endings between two networks explain nothing).
 */
export function renameHint(unexpected: readonly string[], missing: readonly string[]): string | undefined {
  const bySuffix = new Map<string, string[]>();
  for (const key of missing) {
    const parts = key.split(".");
    for (let i = 0; i < parts.length - 1; i++) {
      const suffix = parts.slice(i).join(".");
      bySuffix.set(suffix, [...(bySuffix.get(suffix) ?? []), key]);
    }
  }
  const renames = new Map<string, { count: number; example: [string, string] }>();
  for (const key of unexpected) {
    const parts = key.split(".");
    // The longest common ending of at least two components that names one missing key.
    for (let i = 0; i < parts.length - 1; i++) {
      const candidates = bySuffix.get(parts.slice(i).join("."));
      if (candidates?.length !== 1) continue;
      const target = candidates[0]!;
      const ending = parts.slice(i).join(".");
      const from = key.slice(0, key.length - ending.length);
      const to = target.slice(0, target.length - ending.length);
      const rename = `${from}\u0000${to}`;
      renames.set(rename, { count: (renames.get(rename)?.count ?? 0) + 1, example: renames.get(rename)?.example ?? [key, target] });
      break;
    }
  }
  const [best] = [...renames].sort((a, b) => b[1].count - a[1].count);
  if (!best || best[1].count < Math.max(2, Math.min(unexpected.length, missing.length) / 2)) return undefined;
  const [from, to] = best[0].split("\u0000");
  return `${best[1].count} unexpected keys would fit if \`${from}…\` were \`${to}…\` (e.g. \`${best[1].example[0]}\` → \`${best[1].example[1]}\`)`;
}
