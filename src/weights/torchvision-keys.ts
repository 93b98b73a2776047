/**
 * torchvision names a detector's backbone by how it was built: `_resnet_fpn_extractor` keeps the
 * network's names (`backbone.body.layer1.…`, as ours), but `_mobilenet_extractor` and the
 * tutorial's `backbone = net.features` take the `features` Sequential itself, so its modules are
 * `backbone.body.<i>.…` with an FPN and `backbone.<i>.…` without. Ours are `backbone.body.features.<i>.…`.
 */
import type { DetectorSpec } from "../check/detector-spec.js";

const FEATURES_BODY = "backbone.body.features.";

/**
 * Whether torchvision's model of this configuration takes its body from the `features` Sequential:
 * when every tap (a node name) is inside it. `detc emit torchvision` builds the body the same way.
 */
export function bodyFromFeatures(taps: readonly string[]): boolean {
  return taps.every((node) => node.startsWith("features."));
}

/** The key torchvision's model of this configuration gives our variable `key`. */
export function torchvisionKey(spec: DetectorSpec, key: string): string {
  if (!key.startsWith(FEATURES_BODY) || !bodyFromFeatures(spec.taps.map((t) => t.node))) return key;
  return (spec.fpn ? "backbone.body." : "backbone.") + key.slice(FEATURES_BODY.length);
}

/** Our key for a torchvision file's key (either naming is accepted). */
export function detcKey(key: string): string {
  const match = /^backbone\.(?:body\.)?(\d.*)$/.exec(key);
  return match ? FEATURES_BODY + match[1] : key;
}
