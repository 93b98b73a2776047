/**
 * torchvision classification networks detc knows but cannot use as a backbone, each with the
 * reason and what to use instead: a spec naming one gets that answer, never "unknown backbone".
 */
export interface UnsupportedBackbone {
  readonly name: string;
  /** torchvision family (its model file's name). */
  readonly family: string;
  /** Why it cannot be a backbone here, in a user's terms. */
  readonly reason: string;
  /** Zoo networks that do the same job. */
  readonly instead: readonly string[];
}

const family = (names: readonly string[], family: string, reason: string, instead: readonly string[]) =>
  names.map((name): UnsupportedBackbone => ({ name, family, reason, instead }));

export const unsupportedBackbones: readonly UnsupportedBackbone[] = [
  ...family(
    ["shufflenet_v2_x0_5", "shufflenet_v2_x1_0", "shufflenet_v2_x1_5", "shufflenet_v2_x2_0"],
    "shufflenetv2",
    "torchvision 0.14 cannot trace it: its `channel_shuffle` unpacks `x.size()`, which torch.fx rejects, so " +
      "`get_graph_node_names` and `create_feature_extractor` fail and it has no node names to tap",
    ["mnasnet0_5", "mobilenet_v3_small", "mnasnet1_0"],
  ),
  ...family(
    ["maxvit_t"],
    "maxvit",
    "it is built for one input size (224×224: every stage's 7×7 partitions must tile the map exactly), " +
      "and torchvision 0.14 cannot trace it for feature extraction",
    ["convnext_tiny", "regnet_y_8gf"],
  ),
  ...family(
    ["vit_b_16", "vit_b_32", "vit_l_16", "vit_l_32", "vit_h_14"],
    "vision_transformer",
    "it outputs a sequence of tokens, not feature maps, at the one image size its position embedding " +
      "was built for, and torchvision 0.14 cannot trace it for feature extraction",
    ["convnext_base", "regnet_y_16gf"],
  ),
];

export function findUnsupportedBackbone(name: string): UnsupportedBackbone | undefined {
  return unsupportedBackbones.find((b) => b.name === name);
}
