/**
 * im2col and its adjoint on the heap, for convolutions as matrix products. A patch holds what one
 * output pixel (n, oh, ow) reads, ordered (kh, kw, ci) like an HWIO filter's rows, so that
 * patches [P, KH·KW·CI] · filter [KH·KW·CI, CO] is the convolution over the P output pixels.
 * Large ones are handled a band of output rows at a time, so memory stays bounded at any image size.
 */
import { columnsInside, type Convolution } from "./convolution.js";
import type { TensorInfo, WasmHeap } from "./heap.js";
import { simdLoops } from "./simd.js";

export const patchMemory = {
  /** Most floats one band of patches may take (64 MB): products over bigger bands are no faster. */
  bandFloats: 16 * 1024 * 1024,
};

/** Output rows (counted over the whole batch: row r is image ⌊r / OH⌋, row r mod OH) per band. */
export function bandRows(conv: Convolution): number {
  const floatsPerRow = conv.outWidth * conv.filterHeight * conv.filterWidth * conv.inChannels;
  return Math.max(1, Math.floor(patchMemory.bandFloats / Math.max(1, floatsPerRow)));
}

/**
 * The patches of output rows [firstRow, firstRow + rowCount) of `x` [N, IH, IW, CI], transposed:
 * [KH·KW·CI, rows·OW], one row per filter tap and channel. Read from `planes`, x as channel planes
 * [N, CI, IH, IW], each row is a few runs of (strided) copies; transposing ordinary patches costs
 * several times more.
 */
export function extractPatchesTransposed(heap: WasmHeap, planes: TensorInfo, conv: Convolution, firstRow: number, rowCount: number): TensorInfo {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth } = conv;
  const pixels = rowCount * outWidth;
  const patches = heap.zeros([conv.filterHeight * conv.filterWidth * inChannels, pixels]); // padding stays 0
  const memory = heap.allFloats();
  const inputAt = heap.offset(planes);
  const outAt = heap.offset(patches);
  for (let kh = 0; kh < conv.filterHeight; kh++)
    for (let kw = 0; kw < conv.filterWidth; kw++) {
      const [first, end] = columnsInside(conv, kw);
      const firstColumn = first * strideWidth + kw * conv.dilationWidth - conv.padInfo.left;
      const tapRow = (kh * conv.filterWidth + kw) * inChannels;
      for (let ci = 0; ci < inChannels; ci++) {
        const patchRow = outAt + (tapRow + ci) * pixels - firstRow * outWidth;
        for (let row = firstRow; row < firstRow + rowCount; row++) {
          const ih = (row % outHeight) * strideHeight + kh * conv.dilationHeight - conv.padInfo.top;
          if (ih < 0 || ih >= inHeight) continue;
          const at = patchRow + row * outWidth + first;
          const from = inputAt + ((Math.floor(row / outHeight) * inChannels + ci) * inHeight + ih) * inWidth + firstColumn;
          if (strideWidth === 1) memory.copyWithin(at, from, from + end - first);
          else for (let i = 0; i < end - first; i++) memory[at + i] = memory[from + i * strideWidth]!;
        }
      }
    }
  return patches;
}

/**
 * The adjoint of im2col: adds the patches of output rows [firstRow, firstRow + rowCount),
 * `patches` [rows·OW, KH·KW·CI], onto the input pixels they were read from in `dx` [N, IH, IW, CI].
 */
export function accumulatePatches(heap: WasmHeap, patches: TensorInfo, dx: TensorInfo, conv: Convolution, firstRow: number, rowCount: number): void {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, strideHeight, strideWidth, filterWidth } = conv;
  const patchLength = conv.filterHeight * filterWidth * inChannels;
  const [patchesAt, dxAt] = [heap.offset(patches), heap.offset(dx)];
  const loops = simdLoops(heap);
  const runs = Array.from({ length: filterWidth }, (_, kw) => columnsInside(conv, kw));
  for (let row = firstRow; row < firstRow + rowCount; row++)
    for (let kh = 0; kh < conv.filterHeight; kh++) {
      const ih = (row % outHeight) * strideHeight + kh * conv.dilationHeight - conv.padInfo.top;
      if (ih < 0 || ih >= inHeight) continue;
      const inputRow = (Math.floor(row / outHeight) * inHeight + ih) * inWidth;
      for (let kw = 0; kw < filterWidth; kw++) {
        const [first, end] = runs[kw]!;
        const iw = first * strideWidth + kw * conv.dilationWidth - conv.padInfo.left;
        const patch = patchesAt + ((row - firstRow) * outWidth + first) * patchLength + (kh * filterWidth + kw) * inChannels;
        loops.accumulateRows(dxAt + (inputRow + iw) * inChannels, strideWidth * inChannels, patch, patchLength, inChannels, end - first);
      }
    }
}
