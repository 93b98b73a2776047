/**
 * The detector's deterministic first half on one image, as torchvision computes it: the transformed
 * input, the backbone's tapped maps, the FPN's levels and the RPN head's per-level outputs. What
 * `detc forward` writes to compare a model with torchvision's, layer by layer.
 */
import * as tf from "@tensorflow/tfjs";
import type { RgbImage } from "../data/dataset.js";
import type { FasterRCNN } from "../detection/faster-rcnn.js";

/**
 * By name (`input`, `body.<tap>`, `fpn.<level>`, `rpn.objectness.<level>`, `rpn.bbox_deltas.<level>`),
 * each NCHW as torchvision lays it out; levels are named as torchvision names its feature maps.
 */
export function forwardFeatures(model: FasterRCNN, image: RgbImage): Record<string, tf.Tensor4D> {
  return tf.tidy(() => {
    const { tensors } = model.transform.batch([model.transform.resize(image).image]);
    const taps = model.backbone.apply(tensors, { training: false }) as tf.Tensor4D[];
    const body = new Map(taps.map((map, i) => [String(i), map]));
    const levels = model.fpn ? model.fpn.apply(body) : body;
    const { objectness, bboxDeltas } = model.rpn.head.apply([...levels.values()]);
    const names = [...levels.keys()];
    const channelsLast = new Map<string, tf.Tensor4D>([
      ["input", tensors],
      ...[...body].map(([name, map]) => [`body.${name}`, map] as const),
      ...(model.fpn ? [...levels].map(([name, map]) => [`fpn.${name}`, map] as const) : []),
      ...names.map((name, i) => [`rpn.objectness.${name}`, objectness[i]!] as const),
      ...names.map((name, i) => [`rpn.bbox_deltas.${name}`, bboxDeltas[i]!] as const),
    ]);
    // A plain object, since tidy keeps only tensors it can see in what is returned.
    return Object.fromEntries([...channelsLast].map(([name, map]) => [name, tf.transpose(map, [0, 3, 1, 2])]));
  });
}
