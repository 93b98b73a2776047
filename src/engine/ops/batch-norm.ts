/**
 * Batch norm with batch statistics (a trainable BN in training mode) as one op and one gradient op:
 * TensorFlow's `FusedBatchNormV3` / `FusedBatchNormGradV3` natively, a single JavaScript pass each
 * on cpu and wasm. Written with `tf.moments`, the forward and backward passes are some 30 ops
 * over the activations; this is 2.
 */
import * as tf from "@tensorflow/tfjs";
import { readValues, tensorFrom, type JsBackendName } from "./js-backend.js";
import { nativeKernel, type NativeAttr, type NativeBinding } from "./native.js";
import { addAt, elementAt } from "../../util/element-at.js";

const FORWARD = "FusedBatchNormV3";
const BACKWARD = "FusedBatchNormGradV3";

interface BatchNormAttrs {
  epsilon: number;
}

export interface BatchNormResult {
  readonly y: tf.Tensor;
  /** The batch's mean and unbiased variance, per channel, for the running statistics. */
  readonly mean: tf.Tensor1D;
  readonly variance: tf.Tensor1D;
}

/**
 * Normalises channels-last `x` by its batch statistics (biased variance, as torch), then scales by
 * `weight` and shifts by `bias`; differentiable with respect to all three.
 */
export function batchNormTraining(x: tf.Tensor, weight: tf.Tensor, bias: tf.Tensor, epsilon: number): BatchNormResult {
  const channels = x.shape[x.rank - 1]!;
  const nhwc = x.rank === 4 ? x : x.reshape([1, 1, -1, channels]); // the native op takes 4-D only
  const none = tf.tensor1d([]); // population statistics: unused in training mode
  const [y, mean, variance] = tf
    .engine()
    .runKernel(FORWARD, { x: nhwc, scale: weight, offset: bias, mean: none, variance: none }, { epsilon } as unknown as tf.NamedAttrMap) as tf.Tensor[];
  return { y: nhwc === x ? y! : y!.reshape(x.shape), mean: mean as tf.Tensor1D, variance: variance as tf.Tensor1D };
}

const nativeAttrs = (binding: NativeBinding, attrs: tf.NamedAttrMap): NativeAttr[] => [
  { name: "U", type: binding.TF_ATTR_TYPE, value: binding.TF_FLOAT },
  { name: "epsilon", type: binding.TF_ATTR_FLOAT, value: (attrs as unknown as BatchNormAttrs).epsilon },
  { name: "data_format", type: binding.TF_ATTR_STRING, value: "NHWC" },
  { name: "is_training", type: binding.TF_ATTR_BOOL, value: true },
];

/**
 * Forward in JavaScript, outputs as TensorFlow's: y, batch mean, unbiased batch variance, then the
 * "reserve space" the gradient reads (here the mean and the biased variance, and an empty third).
 * Loops run rows × channels (channels last), sums in float64.
 */
function normalise(x: Float32Array, scale: Float32Array, offset: Float32Array, channels: number, epsilon: number): Float32Array[] {
  const rows = x.length / channels;
  const mean = new Float64Array(channels);
  const squares = new Float64Array(channels);
  for (let i = 0; i < x.length; i += channels) for (let c = 0; c < channels; c++) addAt(mean, c, x[i + c]!);
  for (let c = 0; c < channels; c++) mean[c] = elementAt(mean, c) / rows;
  for (let i = 0; i < x.length; i += channels)
    for (let c = 0; c < channels; c++) {
      const centred = x[i + c]! - mean[c]!;
      addAt(squares, c, centred * centred);
    }
  const biased = squares.map((sum) => sum / rows);
  const factor = biased.map((variance, c) => scale[c]! / Math.sqrt(variance + epsilon));
  const shift = factor.map((f, c) => offset[c]! - mean[c]! * f);
  const y = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += channels) for (let c = 0; c < channels; c++) y[i + c] = x[i + c]! * factor[c]! + shift[c]!;
  const unbiased = squares.map((sum) => sum / Math.max(rows - 1, 1));
  return [y, Float32Array.from(mean), Float32Array.from(unbiased), Float32Array.from(mean), Float32Array.from(biased), new Float32Array(0)];
}

/**
 * dx, dscale, doffset (and TensorFlow's two empty reserve outputs) from dy and the forward's reserve:
 * with x̂ = (x − μ)·σ⁻¹ and m rows, dx = γσ⁻¹·(dy − Σdy/m − x̂·Σ(dy·x̂)/m), per channel a·dy + b·(x − μ) + d.
 */
function normaliseGradient(
  dy: Float32Array,
  x: Float32Array,
  scale: Float32Array,
  mean: Float32Array,
  variance: Float32Array,
  channels: number,
  epsilon: number,
): Float32Array[] {
  const rows = x.length / channels;
  const sumDy = new Float64Array(channels);
  const sumDyCentred = new Float64Array(channels);
  for (let i = 0; i < x.length; i += channels)
    for (let c = 0; c < channels; c++) {
      addAt(sumDy, c, dy[i + c]!);
      addAt(sumDyCentred, c, dy[i + c]! * (x[i + c]! - mean[c]!));
    }
  const inverseStd = Float64Array.from({ length: channels }, (_, c) => 1 / Math.sqrt(variance[c]! + epsilon));
  const a = inverseStd.map((s, c) => scale[c]! * s);
  const b = inverseStd.map((s, c) => (-scale[c]! * s * s * s * sumDyCentred[c]!) / rows);
  const d = inverseStd.map((s, c) => (-scale[c]! * s * sumDy[c]!) / rows - b[c]! * mean[c]!);
  const dx = new Float32Array(x.length);
  for (let i = 0; i < x.length; i += channels) for (let c = 0; c < channels; c++) dx[i + c] = a[c]! * dy[i + c]! + b[c]! * x[i + c]! + d[c]!;
  const dscale = sumDyCentred.map((sum, c) => sum * inverseStd[c]!);
  return [dx, Float32Array.from(dscale), Float32Array.from(sumDy), new Float32Array(0), new Float32Array(0)];
}

function jsKernels(backendName: JsBackendName): tf.KernelConfig[] {
  const shapes = (x: tf.TensorInfo, channels: number, vectors: number) => [x.shape, ...Array<number[]>(vectors).fill([channels])];
  return [
    {
      kernelName: FORWARD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { x, scale, offset } = inputs as Record<string, tf.TensorInfo>;
        const channels = x!.shape[3]!;
        const read = (t: tf.TensorInfo) => readValues(backend, t);
        const values = normalise(read(x!), read(scale!), read(offset!), channels, (attrs as unknown as BatchNormAttrs).epsilon);
        const outShapes = [...shapes(x!, channels, 4), [0]];
        return values.map((v, i) => tensorFrom(backendName, backend, outShapes[i]!, v));
      },
    },
    {
      kernelName: BACKWARD,
      backendName,
      kernelFunc: ({ inputs, backend, attrs }) => {
        const { dy, x, scale, reserve1, reserve2 } = inputs as Record<string, tf.TensorInfo>;
        const channels = x!.shape[3]!;
        const read = (t: tf.TensorInfo) => readValues(backend, t);
        const values = normaliseGradient(read(dy!), read(x!), read(scale!), read(reserve1!), read(reserve2!), channels, (attrs as unknown as BatchNormAttrs).epsilon);
        const outShapes = [...shapes(x!, channels, 2), [0], [0]];
        return values.map((v, i) => tensorFrom(backendName, backend, outShapes[i]!, v));
      },
    },
  ];
}

export const BATCH_NORM_KERNELS: readonly tf.KernelConfig[] = [
  ...jsKernels("cpu"),
  ...jsKernels("wasm"),
  nativeKernel(FORWARD, ["x", "scale", "offset", "mean", "variance"], nativeAttrs, 6),
  nativeKernel(BACKWARD, ["dy", "x", "scale", "reserve1", "reserve2", "reserve3"], nativeAttrs, 5),
];

export const BATCH_NORM_GRADIENT: tf.GradConfig = {
  kernelName: FORWARD,
  inputsToSave: ["x", "scale"],
  outputsToSave: [false, false, false, true, true, true],
  gradFunc: (dys, [x, scale, reserve1, reserve2, reserve3], attrs) => {
    const dy = (dys as tf.Tensor[])[0]!;
    const [dx, dscale, doffset] = tf
      .engine()
      .runKernel(BACKWARD, { dy, x: x!, scale: scale!, reserve1: reserve1!, reserve2: reserve2!, reserve3: reserve3! }, attrs as tf.NamedAttrMap) as tf.Tensor[];
    const empty = () => tf.tensor1d([]);
    return { x: () => dx!, scale: () => dscale!, offset: () => doffset!, mean: empty, variance: empty };
  },
};
