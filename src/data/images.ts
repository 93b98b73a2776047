/**
 * Image files in and out, through sharp (libvips; prebuilt binaries come with the npm package).
 *
 * Decoding matches what torchvision's datasets feed the model: PIL's `Image.open(...).convert("RGB")`
 * — stored pixel orientation (EXIF rotation is *not* applied, since COCO and VOC annotate the stored
 * pixels), grey expanded to RGB, alpha dropped without compositing.
 */
import { access } from "node:fs/promises";
import sharp from "sharp";
import { type Box, DatasetError, type DatasetWarning, type RgbImage } from "./dataset.js";

export interface ImageSize {
  readonly width: number;
  readonly height: number;
}

/**
 * What to do when an annotated image has no file. "error" (the default everywhere) because a
 * wrong image folder or a partial download would otherwise train or score on a silently smaller
 * set; "skip" leaves such images out with a warning each.
 */
export type MissingImagePolicy = "error" | "skip";

export interface ImageFileEntry {
  readonly file: string;
  /** The annotation record the image belongs to, for messages. */
  readonly record: string;
}

/**
 * Checks up front that every image file exists, so a bad path fails at load time rather than
 * hours into training. Returns which entries have their file, and a warning per skipped one.
 */
export async function checkImageFiles(
  entries: readonly ImageFileEntry[],
  policy: MissingImagePolicy,
): Promise<{ present: boolean[]; warnings: DatasetWarning[] }> {
  const present: boolean[] = [];
  const concurrency = 256;
  for (let start = 0; start < entries.length; start += concurrency) {
    const chunk = entries.slice(start, start + concurrency);
    const found = await Promise.all(chunk.map(({ file }) => access(file).then(() => true, () => false)));
    present.push(...found);
  }
  const missing = entries.filter((_, index) => !present[index]);
  if (missing.length > 0 && policy === "error") {
    const others = [...missing.slice(1, 4).map(({ file }) => file), ...(missing.length > 4 ? ["..."] : [])];
    const count = `${missing.length} of ${entries.length} images are missing`;
    const more = missing.length === 1 ? "" : ` (${count}, also ${others.join(", ")})`;
    throw new DatasetError(
      missing[0].file,
      missing[0].record,
      `image file not found${more}; check the image folder, or set missingImages: "skip" to leave missing images out`,
    );
  }
  const message = "image file not found; image skipped";
  return { present, warnings: missing.map(({ file, record }) => ({ file, record, message })) };
}

/**
 * Decodes a JPEG/PNG (or anything else libvips reads) to 8-bit RGB. With `expected`, also checks the
 * file's size against the annotation's, since boxes of a differently sized image would be wrong.
 */
export async function decodeImageFile(file: string, expected?: ImageSize): Promise<RgbImage> {
  const { data, info } = await sharp(file)
    .removeAlpha()
    .toColourspace("srgb") // also brings 16-bit and CMYK files to 8-bit RGB
    .raw()
    .toUint8Array()
    .catch((error: Error) => {
      const missing = error.message.startsWith("Input file is missing");
      const problem = missing ? "image file not found" : `cannot decode image (${error.message})`;
      throw new DatasetError(file, undefined, problem);
    });
  if (info.channels !== 3) {
    throw new DatasetError(file, undefined, `decoded to ${info.channels} channels, expected RGB`);
  }
  if (expected !== undefined && (info.width !== expected.width || info.height !== expected.height)) {
    throw new DatasetError(
      file,
      undefined,
      `image is ${info.width}×${info.height} but its annotation says ${expected.width}×${expected.height}`,
    );
  }
  // sharp hands back a Buffer, whose slice() shares memory; a plain Uint8Array behaves as typed arrays do.
  return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.length) };
}

/** A copy of `image` with box outlines drawn on it (for contact sheets and `detc predict`). */
export function drawBoxes(
  image: RgbImage,
  boxes: readonly Box[],
  colour: readonly [number, number, number],
  thickness = 1,
): RgbImage {
  const data = new Uint8Array(image.data);
  const paint = (x: number, y: number): void => {
    if (x < 0 || y < 0 || x >= image.width || y >= image.height) return;
    data.set(colour, (y * image.width + x) * 3);
  };
  for (const [x1, y1, x2, y2] of boxes) {
    // Outline the pixels the box covers: from the first pixel it enters to the last one.
    const left = Math.floor(x1);
    const top = Math.floor(y1);
    const right = Math.ceil(x2) - 1;
    const bottom = Math.ceil(y2) - 1;
    for (let t = 0; t < thickness; t++) {
      for (let x = left; x <= right; x++) {
        paint(x, top + t);
        paint(x, bottom - t);
      }
      for (let y = top; y <= bottom; y++) {
        paint(left + t, y);
        paint(right - t, y);
      }
    }
  }
  return { width: image.width, height: image.height, data };
}

export async function writePng(image: RgbImage, file: string): Promise<void> {
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } }).png().toFile(file);
}
