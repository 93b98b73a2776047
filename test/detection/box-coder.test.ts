/** BoxCoder against torchvision: both weight sets, several classes per box, the exp clamp. */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { BBOX_XFORM_CLIP, BoxCoder, ROI_HEADS_BOX_CODER_WEIGHTS, RPN_BOX_CODER_WEIGHTS, type BoxCoderWeights } from "../../src/detection/box-coder.js";
import { BACKENDS, expectClose, golden, useBackend } from "./support.js";

interface CoderCase {
  weights: BoxCoderWeights;
  bboxXformClip: number;
  reference: number[][];
  proposals: number[][];
  encoded: number[][];
  relCodes: number[][];
  decoded: number[][][];
}

const cases = golden<CoderCase[]>("box_coder");

describe.each(BACKENDS)("BoxCoder on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("uses torchvision's clamp log(1000 / 16)", () => {
    expect(BBOX_XFORM_CLIP).toBe(cases[0]!.bboxXformClip);
  });

  it("weighs the RPN's deltas (1, 1, 1, 1) and the box head's (10, 10, 5, 5), as FasterRCNN builds them", () => {
    expect([RPN_BOX_CODER_WEIGHTS, ROI_HEADS_BOX_CODER_WEIGHTS]).toEqual(cases.map((c) => c.weights));
  });

  describe.each(cases.map((c) => [c.weights.join(", "), c] as const))("weights (%s)", (_, c) => {
    const coder = new BoxCoder(c.weights);

    it("encodes like encode_single", () => {
      const encoded = coder.encodeSingle(tf.tensor2d(c.reference), tf.tensor2d(c.proposals));
      expectClose(encoded.dataSync(), c.encoded.flat(), 5e-6);
    });

    it("decodes three boxes per reference, clamping large dw / dh", () => {
      const decoded = coder.decode(tf.tensor2d(c.relCodes), [tf.tensor2d(c.proposals)]);
      expect(decoded.shape).toEqual([c.proposals.length, 3, 4]);
      expectClose(decoded.dataSync(), c.decoded.flat(2), 1e-4);
    });

    it("decode inverts encode", () => {
      const reference = tf.tensor2d(c.reference);
      const proposals = tf.tensor2d(c.proposals);
      const roundTrip = coder.decodeSingle(coder.encodeSingle(reference, proposals), proposals);
      expectClose(roundTrip.dataSync(), c.reference.flat(), 1e-4);
    });
  });

  it("encode splits the targets back per image", () => {
    const coder = new BoxCoder([10, 10, 5, 5]);
    const c = cases[1]!;
    const [first, second] = coder.encode(
      [tf.tensor2d(c.reference.slice(0, 3)), tf.tensor2d(c.reference.slice(3))],
      [tf.tensor2d(c.proposals.slice(0, 3)), tf.tensor2d(c.proposals.slice(3))],
    );
    expect(first!.shape).toEqual([3, 4]);
    expect(second!.shape).toEqual([c.reference.length - 3, 4]);
    expectClose(tf.concat([first!, second!]).dataSync(), c.encoded.flat(), 5e-6);
  });
});
