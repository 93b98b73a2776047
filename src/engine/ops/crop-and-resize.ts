/**
 * The gradient tfjs lacks for `tf.image.cropAndResize` (bilinear), with respect to the image:
 * TensorFlow's `CropAndResizeGradImage`. RoIAlign (`detection/roi-align.ts`) samples through
 * cropAndResize, so this is its backward pass. Natively it is TensorFlow's own op; on the other
 * backends, {@link accumulateCropGradients} in JavaScript, which scatters each sample's gradient onto
 * its four pixels without materialising a `[samples, 4, channels]` tensor. Boxes get no gradient
 * (torchvision's RoIAlign gives them none either).
 */
import * as tf from "@tensorflow/tfjs";
import { readValues, tensorFrom, type JsBackendName } from "./js-backend.js";
import { nativeKernel } from "./native.js";
import { addAt } from "../../util/element-at.js";

export const CROP_AND_RESIZE_GRAD_IMAGE = "CropAndResizeGradImage";

/** Inputs: `grads` [K, cropHeight, cropWidth, C], `boxes` [K, 4] (y1, x1, y2, x2 normalised), `boxInd` [K]. */
export interface CropGradientInputs {
  readonly grads: Float32Array;
  readonly boxes: Float32Array;
  readonly boxInd: Int32Array;
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
  const [K, ch, cw, B, H, W, C] = [boxCount!, cropHeight!, cropWidth!, batch!, height!, width!, channels!];
  const rowStride = W * C;
  for (let b = 0; b < K; b++) {
    const image = boxInd[b]!;
    if (image < 0 || image >= B) continue;
    const y1 = boxes[4 * b]!, x1 = boxes[4 * b + 1]!, y2 = boxes[4 * b + 2]!, x2 = boxes[4 * b + 3]!;
    const heightScale = ch > 1 ? ((y2 - y1) * (H - 1)) / (ch - 1) : 0;
    const widthScale = cw > 1 ? ((x2 - x1) * (W - 1)) / (cw - 1) : 0;
    const imageStart = image * H * rowStride;
    for (let y = 0; y < ch; y++) {
      const inY = ch > 1 ? y1 * (H - 1) + y * heightScale : 0.5 * (y1 + y2) * (H - 1);
      if (inY < 0 || inY > H - 1) continue;
      const top = Math.floor(inY);
      const yLerp = inY - top;
      const topRow = imageStart + top * rowStride;
      const bottomRow = imageStart + Math.ceil(inY) * rowStride;
      for (let x = 0; x < cw; x++) {
        const inX = cw > 1 ? x1 * (W - 1) + x * widthScale : 0.5 * (x1 + x2) * (W - 1);
        if (inX < 0 || inX > W - 1) continue;
        const left = Math.floor(inX);
        const xLerp = inX - left;
        const [leftColumn, rightColumn] = [left * C, Math.ceil(inX) * C];
        const [topLeft, topRight] = [topRow + leftColumn, topRow + rightColumn];
        const [bottomLeft, bottomRight] = [bottomRow + leftColumn, bottomRow + rightColumn];
        const wTopLeft = (1 - yLerp) * (1 - xLerp), wTopRight = (1 - yLerp) * xLerp;
        const wBottomLeft = yLerp * (1 - xLerp), wBottomRight = yLerp * xLerp;
        const sample = ((b * ch + y) * cw + x) * C;
        for (let c = 0; c < C; c++) {
          const g = grads[sample + c]!;
          addAt(imageGradient, topLeft + c, wTopLeft * g);
          addAt(imageGradient, topRight + c, wTopRight * g);
          addAt(imageGradient, bottomLeft + c, wBottomLeft * g);
          addAt(imageGradient, bottomRight + c, wBottomRight * g);
        }
      }
    }
  }
}

/** The shape the gradient takes, passed as an attribute (the image itself is not needed). */
interface GradImageAttrs {
  imageShape: [number, number, number, number];
}

const jsKernel = (backendName: JsBackendName): tf.KernelConfig => ({
  kernelName: CROP_AND_RESIZE_GRAD_IMAGE,
  backendName,
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { grads, boxes, boxInd } = inputs as Record<"grads" | "boxes" | "boxInd", tf.TensorInfo>;
    const { imageShape } = attrs as unknown as GradImageAttrs;
    const gradient = new Float32Array(imageShape.reduce((a, b) => a * b, 1));
    const values = { grads: readValues(backend, grads!), boxes: readValues(backend, boxes!), boxInd: readValues<Int32Array>(backend, boxInd!) };
    accumulateCropGradients(values, grads!.shape, imageShape, gradient);
    return tensorFrom(backendName, backend, imageShape, gradient);
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
