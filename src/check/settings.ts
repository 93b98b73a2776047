/**
 * Every tunable setting of the detector and of training, with torchvision's defaults, gathered in
 * one place. A spec overrides them with `rpn KEY VALUE`, `box KEY VALUE` and `train KEY VALUE`;
 * keys keep torchvision's FasterRCNN argument names without their `rpn_`/`box_` prefix.
 */

export type SettingType = "integer" | "number" | "integers" | "boolean";
export type SettingValue = number | boolean | readonly number[];

export interface SettingSpec {
  readonly type: SettingType;
  readonly default: SettingValue;
  readonly min?: number;
  readonly max?: number;
  readonly doc: string;
}

export type Section = "rpn" | "box" | "train";

const probability = { min: 0, max: 1 } as const;

export const SETTINGS: Readonly<Record<Section, Readonly<Record<string, SettingSpec>>>> = {
  rpn: {
    pre_nms_top_n_train: { type: "integer", default: 2000, min: 1, doc: "proposals kept per level before NMS (training)" },
    pre_nms_top_n_test: { type: "integer", default: 1000, min: 1, doc: "proposals kept per level before NMS (inference)" },
    post_nms_top_n_train: { type: "integer", default: 2000, min: 1, doc: "proposals kept after NMS (training)" },
    post_nms_top_n_test: { type: "integer", default: 1000, min: 1, doc: "proposals kept after NMS (inference)" },
    nms_thresh: { type: "number", default: 0.7, ...probability, doc: "NMS IoU threshold for proposals" },
    fg_iou_thresh: { type: "number", default: 0.7, ...probability, doc: "IoU at or above which an anchor is positive" },
    bg_iou_thresh: { type: "number", default: 0.3, ...probability, doc: "IoU below which an anchor is negative" },
    batch_size_per_image: { type: "integer", default: 256, min: 1, doc: "anchors sampled per image for the loss" },
    positive_fraction: { type: "number", default: 0.5, ...probability, doc: "share of positives among sampled anchors" },
    score_thresh: { type: "number", default: 0, ...probability, doc: "minimum objectness of a proposal" },
  },
  box: {
    score_thresh: { type: "number", default: 0.05, ...probability, doc: "minimum class score of a detection" },
    nms_thresh: { type: "number", default: 0.5, ...probability, doc: "per-class NMS IoU threshold" },
    detections_per_img: { type: "integer", default: 100, min: 1, doc: "detections kept per image" },
    fg_iou_thresh: { type: "number", default: 0.5, ...probability, doc: "IoU at or above which a proposal is foreground" },
    bg_iou_thresh: { type: "number", default: 0.5, ...probability, doc: "IoU below which a proposal is background" },
    batch_size_per_image: { type: "integer", default: 512, min: 1, doc: "proposals sampled per image for the loss" },
    positive_fraction: { type: "number", default: 0.25, ...probability, doc: "share of foreground among sampled proposals" },
    representation_size: { type: "integer", default: 1024, min: 1, doc: "width of TwoMLPHead's two fully connected layers" },
  },
  train: {
    epochs: { type: "integer", default: 12, min: 1, doc: "passes over the training split" },
    batch_size: { type: "integer", default: 2, min: 1, doc: "images per step" },
    lr: { type: "number", default: 0.01, min: 0, doc: "peak learning rate (SGD)" },
    momentum: { type: "number", default: 0.9, ...probability, doc: "SGD momentum" },
    weight_decay: { type: "number", default: 1e-4, min: 0, doc: "L2 weight decay (not applied to norm layers' parameters)" },
    warmup_steps: { type: "integer", default: 500, min: 0, doc: "steps of linear learning-rate warm-up" },
    warmup_factor: { type: "number", default: 0.001, ...probability, doc: "learning-rate multiplier at the first warm-up step" },
    lr_steps: { type: "integers", default: [8, 11], min: 1, doc: "epochs after which the learning rate is multiplied by lr_gamma" },
    lr_gamma: { type: "number", default: 0.1, ...probability, doc: "learning-rate decay factor" },
    flip: { type: "number", default: 0.5, ...probability, doc: "probability of a horizontal flip" },
    frozen_batch_norm: { type: "boolean", default: true, doc: "freeze BatchNorm statistics and affine parameters" },
    checkpoint_every: { type: "integer", default: 500, min: 1, doc: "steps between checkpoints" },
    seed: { type: "integer", default: 0, min: 0, doc: "random seed for initialisation, sampling and augmentation" },
  },
};

export function isSection(name: string): name is Section {
  return Object.hasOwn(SETTINGS, name);
}
