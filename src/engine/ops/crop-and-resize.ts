/**
 * The gradient tfjs lacks for `tf.image.cropAndResize` (bilinear), with respect to the image:
 * TensorFlow's `CropAndResizeGradImage`. RoIAlign (`detection/roi-align.ts`) samples through
 * cropAndResize, so this is its backward pass. Natively it is TensorFlow's own op; on the other
 * backends, {@link accumulateCropGradients} in JavaScript, which scatters each sample's gradient onto
 * its four pixels without materialising a `[samples, 4, channels]` tensor. Boxes get no gradient
 * (torchvision's RoIAlign gives them none either).
 */
import * as tf from "@tensorflow/tfjs";
import { nativeKernel } from "./native.js";

export const CROP_AND_RESIZE_GRAD_IMAGE = "CropAndResizeGradImage";

/** Inputs: `grads` [K, cropHeight, cropWidth, C], `boxes` [K, 4] (y1, x1, y2, x2 normalised), `boxInd` [K]. */
export interface CropGradientInputs {
  readonly grads: Float32Array | ArrayLike<number>;
  readonly boxes: ArrayLike<number>;
  readonly boxInd: ArrayLike<number>;
}

/**
 * Adds into `imageGradient` (`[batch, height, width, C]`, zeroed by the caller) the transpose of
 * TensorFlow's bilinear `crop_and_resize` (`crop_and_resize_op.cc`): the same sample coordinates, the
 * same skipping of samples outside the image.
 */
export function accumulateCropGradients(
  { grads, boxes, boxInd }: CropGradientInputs,
  [boxCount, cropHeight, cropWidth]: readonly number[],
  [batch, height, width, channels]: readonly number[],
  imageGradient: Float32Array,
): void {
  const rowStride = width * channels;
  for (let b = 0; b < boxCount!; b++) {
    const image = boxInd[b]!;
    if (image < 0 || image >= batch!) continue;
    const [y1, x1, y2, x2] = [boxes[4 * b]!, boxes[4 * b + 1]!, boxes[4 * b + 2]!, boxes[4 * b + 3]!];
    const heightScale = cropHeight! > 1 ? ((y2 - y1) * (height! - 1)) / (cropHeight! - 1) : 0;
    const widthScale = cropWidth! > 1 ? ((x2 - x1) * (width! - 1)) / (cropWidth! - 1) : 0;
    const imageStart = image * height! * rowStride;
    for (let y = 0; y < cropHeight!; y++) {
      const inY = cropHeight! > 1 ? y1 * (height! - 1) + y * heightScale : 0.5 * (y1 + y2) * (height! - 1);
      if (inY < 0 || inY > height! - 1) continue;
      const top = Math.floor(inY);
      const bottom = Math.ceil(inY);
      const yLerp = inY - top;
      for (let x = 0; x < cropWidth!; x++) {
        const inX = cropWidth! > 1 ? x1 * (width! - 1) + x * widthScale : 0.5 * (x1 + x2) * (width! - 1);
        if (inX < 0 || inX > width! - 1) continue;
        const left = Math.floor(inX);
        const right = Math.ceil(inX);
        const xLerp = inX - left;
        const weights = [(1 - yLerp) * (1 - xLerp), (1 - yLerp) * xLerp, yLerp * (1 - xLerp), yLerp * xLerp];
        const pixels = [
          imageStart + top * rowStride + left * channels!,
          imageStart + top * rowStride + right * channels!,
          imageStart + bottom * rowStride + left * channels!,
          imageStart + bottom * rowStride + right * channels!,
        ];
        const sample = ((b * cropHeight! + y) * cropWidth! + x) * channels!;
        for (let corner = 0; corner < 4; corner++) {
          const weight = weights[corner]!;
          const pixel = pixels[corner]!;
          for (let c = 0; c < channels!; c++) imageGradient[pixel + c] += weight * grads[sample + c]!;
        }
      }
    }
  }
}

/** The shape the gradient takes, passed as an attribute (the image itself is not needed). */
interface GradImageAttrs {
  imageShape: [number, number, number, number];
}

/** What the kernel uses of the cpu and wasm backends: a copy out, and a tensor made from values. */
interface JsBackend {
  readSync(dataId: tf.DataId): ArrayLike<number>;
  makeTensorInfo?(shape: number[], dtype: "float32", values: Float32Array): tf.TensorInfo; // cpu
  makeOutput(shape: number[], dtype: "float32", memoryOffset?: number, values?: Float32Array): tf.TensorInfo; // wasm
}

const jsKernel = (backendName: "cpu" | "wasm"): tf.KernelConfig => ({
  kernelName: CROP_AND_RESIZE_GRAD_IMAGE,
  backendName,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { grads, boxes, boxInd } = inputs as Record<"grads" | "boxes" | "boxInd", tf.TensorInfo>;
    const { imageShape } = attrs as unknown as GradImageAttrs;
    const js = backend as unknown as JsBackend;
    const gradient = new Float32Array(imageShape.reduce((a, b) => a * b, 1));
    const read = (tensor: tf.TensorInfo) => js.readSync(tensor.dataId);
    accumulateCropGradients({ grads: read(grads!), boxes: read(boxes!), boxInd: read(boxInd!) }, grads!.shape, imageShape, gradient);
    return backendName === "cpu" ? js.makeTensorInfo!(imageShape, "float32", gradient) : js.makeOutput(imageShape, "float32", undefined, gradient);
  },
});

export const CROP_AND_RESIZE_KERNELS: readonly tf.KernelConfig[] = [
  jsKernel("cpu"),
  jsKernel("wasm"),
  nativeKernel(CROP_AND_RESIZE_GRAD_IMAGE, ["grads", "boxes", "boxInd", "imageSize"], (binding) => [
    { name: "method", type: binding.TF_ATTR_STRING, value: "bilinear" },
  ]),
];

export const CROP_AND_RESIZE_GRADIENT: tf.GradConfig = {
  kernelName: "CropAndResize",
  inputsToSave: ["image", "boxes", "boxInd"],
  gradFunc: (dy, [image, boxes, boxInd]) => {
    const imageShape = image!.shape as GradImageAttrs["imageShape"];
    return {
      image: () =>
        tf.tidy(() =>
          tf.engine().runKernel(
            CROP_AND_RESIZE_GRAD_IMAGE,
            { grads: dy as tf.Tensor, boxes: boxes!, boxInd: boxInd!, imageSize: tf.tensor1d(imageShape, "int32") },
            { imageShape } as unknown as tf.NamedAttrMap,
          ) as tf.Tensor,
        ),
      boxes: () => tf.zerosLike(boxes!),
      boxInd: () => tf.zeros(boxInd!.shape), // tfjs wants float gradients, even for int inputs
    };
  },
};
