/**
 * The ops that keep less for backward (src/lowering/lean-backward.ts, the ReLU gradients of
 * src/engine/ops/activations.ts, RoIAlign's masked pool) against the plain tfjs composites they
 * replace: the same values and gradients, and fewer bytes on the tape.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { selectBackend } from "../../src/engine/backend.js";
import { roiAlign } from "../../src/detection/roi-align.js";
import { add, concat, gatherRows, gelu, hardSigmoid, hardSwish, leanOp, mean, pad, silu } from "../../src/lowering/lean-backward.js";
import { variableGrads } from "../../src/engine/gradients.js";

beforeAll(async () => {
  await selectBackend("auto");
});

/** Values across every piece of the activations, the kinks (±3, 0, 6) exactly included. */
const inputs = (shape: number[], seed: number) =>
  tf.tidy(() => {
    const values = tf.randomUniform(shape, -8, 8, "float32", seed);
    const kinks = tf.tensor1d([-3, 0, 3, 6, -6, 1e-7, -1e-7, 2.9999, 3.0001]);
    const size = values.size;
    return tf.concat([values.reshape([-1]).slice(0, size - kinks.size), kinks]).reshape(shape);
  });

const plain: Record<string, (x: tf.Tensor) => tf.Tensor> = {
  hardSigmoid: (x) => tf.div(tf.relu6(tf.add(x, 3)), 6),
  hardSwish: (x) => tf.mul(x, tf.div(tf.relu6(tf.add(x, 3)), 6)),
  silu: (x) => tf.mul(x, tf.sigmoid(x)),
  gelu: (x) => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)),
};
const lean: Record<string, (x: tf.Tensor) => tf.Tensor> = { hardSigmoid, hardSwish, silu, gelu };

interface TapeNode {
  readonly saved?: readonly (tf.Tensor | undefined)[];
}

/** Bytes the tape keeps for the backward pass of `f(xs)`: saved tensors, each once, the variables' own data not counted. */
function keptBytes(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Variable[]): number {
  let kept = 0;
  const { value, grads } = variableGrads(() => {
    const y = f(...xs);
    const tape = (tf.engine() as unknown as { state: { activeTape: TapeNode[] } }).state.activeTape;
    const saved = new Map<object, number>();
    for (const tensor of tape.flatMap((node) => node.saved ?? [])) if (tensor) saved.set(tensor.dataId, tensor.size * 4);
    for (const x of xs) saved.delete(x.dataId);
    kept = [...saved.values()].reduce((sum, bytes) => sum + bytes, 0);
    return tf.sum(y) as tf.Scalar;
  }, xs);
  tf.dispose([value, ...Object.values(grads)]);
  return kept;
}

/** Value and gradient of `sum(f(xs) · w)` for a fixed random `w`. */
function valueAndGradients(f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[]): { y: Float32Array; dxs: Float32Array[] } {
  return tf.tidy(() => {
    const y = f(...xs);
    const w = tf.randomUniform(y.shape, -1, 1, "float32", 11);
    const dxs = tf.grads((...args: tf.Tensor[]) => tf.sum(tf.mul(f(...args), w)))(xs);
    return { y: y.dataSync() as Float32Array, dxs: dxs.map((dx) => dx.dataSync() as Float32Array) };
  });
}

function expectClose(actual: Float32Array, expected: Float32Array): void {
  expect(actual.length).toBe(expected.length);
  const worst = actual.reduce((max, value, i) => Math.max(max, Math.abs(value - expected[i]!)), 0);
  expect(worst).toBeLessThanOrEqual(1e-5);
}

describe("activations that keep only their input", () => {
  for (const name of Object.keys(plain))
    it(`${name}: the composite's values and gradients, one tensor kept where the composite keeps more`, () => {
      const x = inputs([2, 5, 5, 8], 3);
      const ours = valueAndGradients(lean[name]!, [x]);
      const theirs = valueAndGradients(plain[name]!, [x]);
      expectClose(ours.y, theirs.y);
      expectClose(ours.dxs[0]!, theirs.dxs[0]!);
      const variable = tf.variable(x);
      // Only its input, here the variable itself; the composite at least one tensor more.
      expect(keptBytes(lean[name]!, [variable])).toBe(0);
      expect(keptBytes(plain[name]!, [variable])).toBeGreaterThanOrEqual(x.size * 4);
      tf.dispose([x, variable]);
    });
});

describe("ReLU and ReLU6 keep their output", () => {
  it("gives tfjs's composite gradients (torch's ReLU6 slope, 0 at both ends) and keeps one tensor, not two", () => {
    const x = inputs([3, 4, 4, 6], 5);
    for (const [op, slope] of [
      [tf.relu, (t: tf.Tensor) => tf.cast(tf.greater(t, 0), "float32")],
      [tf.relu6, (t: tf.Tensor) => tf.cast(tf.logicalAnd(tf.greater(t, 0), tf.less(t, 6)), "float32")],
    ] as const) {
      // The activation with a gradient from its input, as tfjs's own and torch's compute it.
      const reference = leanOp<[tf.Tensor]>(
        ([input], save) => {
          save([input]);
          return op(input);
        },
        (dy, [input]) => [tf.mul(dy, slope(input!))],
      );
      expectClose(valueAndGradients((t) => op(t), [x]).dxs[0]!, valueAndGradients((t) => reference(t), [x]).dxs[0]!);
      const variable = tf.variable(x);
      // Between two multiplies (each keeping its scalar): the output, which the second keeps
      // anyway; keeping the input would add the first multiply's output.
      expect(keptBytes((t) => tf.mul(op(tf.mul(t, 2)), 3), [variable])).toBe(x.size * 4 + 8);
      variable.dispose();
    }
    x.dispose();
  });
});

describe("add and pad keep nothing", () => {
  it("same-shape add, bias add and zero padding: tfjs's values and gradients", () => {
    const a = inputs([2, 3, 4, 5], 1);
    const b = inputs([2, 3, 4, 5], 2);
    const bias = tf.randomUniform([5], -1, 1, "float32", 4);
    const expectSame = (ours: ReturnType<typeof valueAndGradients>, theirs: ReturnType<typeof valueAndGradients>) => {
      expectClose(ours.y, theirs.y);
      ours.dxs.forEach((dx, i) => expectClose(dx, theirs.dxs[i]!));
    };
    expectSame(valueAndGradients(add, [a, b]), valueAndGradients(tf.add, [a, b]));
    expectSame(valueAndGradients(add, [a, bias]), valueAndGradients(tf.add, [a, bias]));
    const paddings: [number, number][] = [[0, 0], [1, 2], [0, 3], [0, 0]];
    expectSame(valueAndGradients((t) => pad(t, paddings), [a]), valueAndGradients((t) => tf.pad(t, paddings), [a]));
    const [va, vb] = [tf.variable(a), tf.variable(b)];
    // After a multiply, which keeps its scalar factor: tfjs's keep the multiply's output too.
    expect(keptBytes((x, y) => add(tf.mul(x, 2), y), [va, vb])).toBe(4);
    expect(keptBytes((x, y) => tf.add(tf.mul(x, 2), y), [va, vb])).toBe(4 + a.size * 4);
    expect(keptBytes((x) => pad(tf.mul(x, 2), paddings), [va])).toBe(4);
    expect(keptBytes((x) => tf.pad(tf.mul(x, 2), paddings), [va])).toBe(4 + a.size * 4);
    tf.dispose([a, b, bias, va, vb]);
  });
});

describe("concat and gather keep no values", () => {
  it("concatenating RoIAlign's chunks and putting rows back in order: tfjs's values and gradients, only the indices kept", () => {
    const parts = [inputs([3, 2, 2, 4], 5), inputs([1, 2, 2, 4], 6), inputs([2, 2, 2, 4], 7)];
    const order = tf.tensor1d([4, 0, 5, 2, 1, 3, 0], "int32"); // a row twice: its gradients add up
    const ours = (...xs: tf.Tensor[]) => gatherRows(concat(xs), order);
    const theirs = (...xs: tf.Tensor[]) => tf.gather(tf.concat(xs), order);
    const [mine, tfjs] = [valueAndGradients(ours, parts), valueAndGradients(theirs, parts)];
    expectClose(mine.y, tfjs.y);
    mine.dxs.forEach((dx, i) => expectClose(dx, tfjs.dxs[i]!));
    expect(concat([parts[0]!, parts[0]!], 3).shape).toEqual([3, 2, 2, 8]);
    const variables = parts.map((part) => tf.variable(tf.mul(part, 1)));
    // After a multiply each (which keeps its scalar factor): ours keep the indices, tfjs's the inputs and the concatenation too.
    const doubled = (xs: tf.Tensor[]) => xs.map((x) => tf.mul(x, 2));
    const rows = 6 * 2 * 2 * 4 * 4;
    expect(keptBytes((...xs) => ours(...doubled(xs)), variables)).toBe(3 * 4 + order.size * 4);
    expect(keptBytes((...xs) => theirs(...doubled(xs)), variables)).toBe(3 * 4 + 2 * rows + order.size * 4);
    tf.dispose([...parts, order, ...variables]);
  });
});

describe("mean keeps nothing", () => {
  it("squeeze-excitation's window means: tfjs's values and gradients, no tensor kept", () => {
    const x = inputs([2, 3, 4, 2, 5, 6], 8); // [n, outH, window, outW, window, c], as adaptiveAvgPool2d reshapes
    for (const axes of [[2, 4], [1, 2, 3, 4], [5]]) {
      const [ours, theirs] = [valueAndGradients((t) => mean(t, axes), [x]), valueAndGradients((t) => tf.mean(t, axes), [x])];
      expectClose(ours.y, theirs.y);
      expectClose(ours.dxs[0]!, theirs.dxs[0]!);
    }
    const variable = tf.variable(x);
    // After a multiply (which keeps its scalar factor): tfjs's mean keeps the product too.
    expect(keptBytes((t) => mean(tf.mul(t, 2), [2, 4]), [variable])).toBe(4);
    expect(keptBytes((t) => tf.mean(tf.mul(t, 2), [2, 4]), [variable])).toBe(4 + x.size * 4);
    tf.dispose([x, variable]);
  });
});

describe("RoIAlign's masked pool", () => {
  // Its values and gradients are tested against torchvision's in test/detection/roi-align.test.ts.
  it("keeps the mask, not the samples and their product", () => {
    const features = tf.variable(inputs([1, 12, 12, 16], 9));
    const boxes = Array.from({ length: 64 }, (_, i) => [0, (i % 8) - 2, i % 5, 6 + (i % 7), 5 + (i % 9)]);
    const pooled = (map: tf.Tensor) =>
      roiAlign(map as tf.Tensor4D, tf.tensor2d(boxes), { outputSize: 3, spatialScale: 0.75, samplingRatio: 2 });
    // The map (in the atlas it samples from) and a little geometry; the samples, [64, 6, 6, 16],
    // not once (the composite kept them twice).
    const samples = boxes.length * 6 * 6 * 16 * 4;
    expect(keptBytes(pooled, [features])).toBeLessThan(samples);
    features.dispose();
  });
});
