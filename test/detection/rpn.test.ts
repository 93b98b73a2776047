/**
 * RegionProposalNetwork against torchvision's, with the same head weights and features: proposals
 * in training and testing mode (top-n per level, decoding, clipping to each image, NMS per level,
 * post-NMS top-n) and both losses. The sampler takes every labelled anchor, so no randomness enters.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { AnchorGenerator } from "../../src/detection/anchor-utils.js";
import type { Size2D } from "../../src/detection/geometry.js";
import { randomFromState } from "../../src/util/random.js";
import { RegionProposalNetwork, RPNHead } from "../../src/detection/rpn.js";
import { BACKENDS, expectClose, golden, nchwToNhwc, useBackend } from "./support.js";

interface Stored {
  shape: number[];
  values: number[];
}

interface RPNCase {
  settings: {
    fg_iou_thresh: number;
    bg_iou_thresh: number;
    batch_size_per_image: number;
    positive_fraction: number;
    pre_nms_top_n: { training: number; testing: number };
    post_nms_top_n: { training: number; testing: number };
    nms_thresh: number;
    score_thresh: number;
  };
  sizes: number[][];
  aspectRatios: number[][];
  weights: Record<string, Stored>;
  features: Stored[];
  paddedSize: Size2D;
  imageSizes: Size2D[];
  targets: { boxes: number[][]; labels: number[] }[];
  trainingProposals: number[][][];
  testingProposals: number[][][];
  lossObjectness: number;
  lossRpnBoxReg: number;
}

const c = golden<RPNCase>("rpn");
/** tfjs refuses two variables of one name: each network built here gets a prefix of its own. */
let built = 0;

/** torchvision's RPN with the golden's head weights (OIHW conv kernels turned HWIO). */
function goldenRpn(): RegionProposalNetwork {
  const head = new RPNHead(c.features[0]!.shape[1]!, 3, 0, `rpn-test-${built++}.`);
  for (const [key, { shape, values }] of Object.entries(c.weights)) {
    const tensor = tf.tensor(values, shape);
    const variable = head.variables.get(key);
    if (!variable) throw new Error(`RPNHead has no variable ${key}`);
    variable.assign(shape.length === 4 ? tf.transpose(tensor, [2, 3, 1, 0]) : tensor);
    tensor.dispose();
  }
  const s = c.settings;
  return new RegionProposalNetwork(
    new AnchorGenerator(c.sizes, c.aspectRatios),
    head,
    {
      preNmsTopN: s.pre_nms_top_n,
      postNmsTopN: s.post_nms_top_n,
      nmsThresh: s.nms_thresh,
      fgIouThresh: s.fg_iou_thresh,
      bgIouThresh: s.bg_iou_thresh,
      batchSizePerImage: s.batch_size_per_image,
      positiveFraction: s.positive_fraction,
      scoreThresh: s.score_thresh,
    },
    randomFromState(0),
  );
}

describe.each(BACKENDS)("RegionProposalNetwork on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  const run = (training: boolean) => {
    const network = goldenRpn();
    const features = c.features.map(({ shape, values }) => {
      const [n, ch, h, w] = shape;
      return tf.tensor4d(nchwToNhwc(values, shape), [n!, h!, w!, ch!]);
    });
    const images = { tensors: tf.zeros([c.imageSizes.length, ...c.paddedSize, 3]) as tf.Tensor4D, imageSizes: c.imageSizes };
    const targets = c.targets.map((t) => ({ boxes: tf.tensor2d(t.boxes), labels: tf.tensor1d(t.labels, "int32") }));
    const { proposals, losses } = network.forward(images, features, training, training ? targets : undefined);
    const result = {
      proposals: proposals.map((p) => p.arraySync()),
      losses: losses && { objectness: losses.lossObjectness.dataSync()[0], boxReg: losses.lossRpnBoxReg.dataSync()[0] },
    };
    tf.dispose([proposals, losses?.lossObjectness, losses?.lossRpnBoxReg, features, images.tensors, ...targets.flatMap((t) => [t.boxes, t.labels])]);
    network.dispose();
    return result;
  };

  it("proposes torchvision's boxes in training mode, and computes its two losses", () => {
    const { proposals, losses } = run(true);
    expect(proposals.map((p) => p.length)).toEqual(c.trainingProposals.map((p) => p.length));
    proposals.forEach((p, i) => expectClose(p.flat(), c.trainingProposals[i]!.flat(), 2e-4));
    expect(losses?.objectness).toBeCloseTo(c.lossObjectness, 5);
    expect(losses?.boxReg).toBeCloseTo(c.lossRpnBoxReg, 5);
  });

  it("proposes torchvision's boxes in testing mode, with its smaller top-n counts", () => {
    const { proposals, losses } = run(false);
    expect(losses).toBeUndefined();
    expect(proposals.map((p) => p.length)).toEqual(c.testingProposals.map((p) => p.length));
    proposals.forEach((p, i) => expectClose(p.flat(), c.testingProposals[i]!.flat(), 2e-4));
  });
});
