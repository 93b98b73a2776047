/**
 * Image files in and out, through sharp (libvips; prebuilt binaries come with the npm package).
 *
 * Every image is turned upright by its EXIF orientation, in datasets as in `detc predict`, so that
 * `detc eval` and `detc predict` see the same pixels of the same file. Annotation tools (CVAT, Label
 * Studio, browsers since 2020) show a photo upright, so that is what its boxes describe; detectron2
 * reads datasets the same way (torchvision's PIL reader does not: the one place detc differs from it).
 * Otherwise dataset decoding matches PIL's `convert("RGB")`: grey expanded, alpha dropped without
 * compositing. Photos for `detc predict` have transparency composited on white: {@link decodePhoto}.
 */
import { closeSync, openSync, readSync } from "node:fs";
import { access } from "node:fs/promises";
import sharp, { type Sharp } from "sharp";
import { type Box, DatasetError, type DatasetWarning, type RgbImage } from "./dataset.js";
import { jpegOrientation } from "./exif-orientation.js";

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
  const [first] = missing;
  if (first && policy === "error") {
    const others = [...missing.slice(1, 4).map(({ file }) => file), ...(missing.length > 4 ? ["..."] : [])];
    const count = `${missing.length} of ${entries.length} images are missing`;
    const more = missing.length === 1 ? "" : ` (${count}, also ${others.join(", ")})`;
    throw new DatasetError(
      first.file,
      first.record,
      `image file not found${more}; check the image folder, or set missingImages: "skip" to leave missing images out`,
    );
  }
  const message = "image file not found; image skipped";
  return { present, warnings: missing.map(({ file, record }) => ({ file, record, message })) };
}

/** Bytes read from the start of each file for its orientation: one page holds a camera's EXIF header. */
const HEADER_BYTES = 4096;

/**
 * How many of `files` carry an EXIF orientation other than "as stored", so that decoding turns (or
 * mirrors) them upright. A JPEG's first page is parsed directly, read synchronously (0.03 ms a
 * file, against 0.1 ms through the asynchronous API), in batches that give the event loop a turn;
 * any other file, or a JPEG whose EXIF reaches past that page, is asked of libvips. A file that
 * cannot be read counts as not turned; decoding it reports the problem.
 */
export async function countTurnedImages(files: readonly string[]): Promise<number> {
  const batch = 512;
  const header = Buffer.alloc(HEADER_BYTES);
  const askLibvips: string[] = [];
  let turned = 0;
  for (let start = 0; start < files.length; start += batch) {
    for (const file of files.slice(start, start + batch)) {
      const orientation = headerOrientation(file, header);
      if (orientation === undefined) askLibvips.push(file);
      else if (orientation !== 1) turned++;
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  for (let start = 0; start < askLibvips.length; start += 64) {
    const orientations = await Promise.all(
      askLibvips.slice(start, start + 64).map((file) =>
        sharp(file)
          .metadata()
          .then(({ orientation }) => orientation ?? 1, () => 1),
      ),
    );
    turned += orientations.filter((orientation) => orientation !== 1).length;
  }
  return turned;
}

/** The orientation from the file's first page; undefined when that cannot tell (not a JPEG, EXIF cut off, unreadable). */
function headerOrientation(file: string, header: Buffer): number | undefined {
  let descriptor: number | undefined;
  try {
    descriptor = openSync(file, "r");
    return jpegOrientation(header.subarray(0, readSync(descriptor, header, 0, HEADER_BYTES, 0)));
  } catch {
    return undefined;
  } finally {
    if (descriptor !== undefined) closeSync(descriptor);
  }
}

/**
 * Decodes a JPEG/PNG (or anything else libvips reads) to 8-bit RGB, upright. With `expected`, also
 * checks the upright size against the annotation's, since boxes of a differently sized image would
 * be wrong: a sideways phone photo annotated on its stored pixels fails here rather than silently.
 */
export async function decodeImageFile(file: string, expected?: ImageSize): Promise<RgbImage> {
  return decode(sharp(file).autoOrient().removeAlpha(), file, expected);
}

/** What a transparent pixel of a photo shows: the page a PNG with alpha is usually seen on. */
export const PHOTO_BACKGROUND = "#ffffff";

/**
 * Decodes an image as people see it, for `detc predict`: turned upright by its EXIF orientation (a
 * portrait phone photo is stored sideways with a tag saying so), transparency composited on
 * {@link PHOTO_BACKGROUND}. Boxes found on it are in the upright image's pixels, as in datasets.
 */
export async function decodePhoto(file: string): Promise<RgbImage> {
  return decode(sharp(file).autoOrient().flatten({ background: PHOTO_BACKGROUND }), file);
}

async function decode(pipeline: Sharp, file: string, expected?: ImageSize): Promise<RgbImage> {
  const { data, info } = await pipeline
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
    const sideways = info.width === expected.height && info.height === expected.width;
    throw new DatasetError(
      file,
      undefined,
      `image is ${info.width}×${info.height} but its annotation says ${expected.width}×${expected.height}` +
        (sideways
          ? " (turned a quarter: if its EXIF orientation tag turns it, the annotation was made on the stored pixels; " +
            "reset the tag, \`exiftool -Orientation=1 -n FILE\`, so that it is shown as it was annotated)"
          : ""),
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

/** A detection to draw: its box in the image's pixels, its class (for the colour) and its caption. */
export interface DrawnDetection {
  readonly box: readonly number[];
  readonly label: number;
  readonly text: string;
}

const PALETTE = ["#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c", "#008080", "#9a6324"];

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/**
 * Line width and caption size that read the same at any image size: 2 px and 13 px on a 640-px
 * image, in proportion to the longer side (a 4000-px photo gets 13-px lines and 81-px captions).
 */
export function drawingSizes(image: ImageSize): { line: number; font: number } {
  const scale = Math.max(image.width, image.height) / 640;
  // Never thinner or smaller than 2 px and 10 px, which small images (the quick start's 128 px) need.
  return { line: Math.max(2, Math.round(2 * scale)), font: Math.max(10, Math.round(13 * scale)) };
}

/** The image as a PNG with each box outlined in its class's colour and captioned with class and score. */
export async function writeDetectionsPng(image: RgbImage, detections: readonly DrawnDetection[], path: string): Promise<void> {
  const { line, font } = drawingSizes(image);
  const shapes = detections.map(({ box: [x1 = 0, y1 = 0, x2 = 0, y2 = 0], label, text }) => {
    const colour = PALETTE[(label - 1 + PALETTE.length) % PALETTE.length];
    const height = font + 2 * line;
    const width = Math.min(image.width, text.length * font * 0.62 + 2 * line);
    // Above the box when there is room, else just inside its top; never past the right edge.
    const top = y1 - height >= 0 ? y1 - height : y1;
    const left = Math.max(0, Math.min(x1 - line / 2, image.width - width));
    return (
      `<rect x="${x1}" y="${y1}" width="${Math.max(0, x2 - x1)}" height="${Math.max(0, y2 - y1)}" fill="none" stroke="${colour}" stroke-width="${line}"/>` +
      `<rect x="${left}" y="${top}" width="${width.toFixed(0)}" height="${height}" fill="${colour}"/>` +
      `<text x="${left + line}" y="${top + line + font * 0.85}" font-family="DejaVu Sans, sans-serif" font-size="${font}" fill="white">${escapeXml(text)}</text>`
    );
  });
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${image.width}" height="${image.height}">${shapes.join("")}</svg>`;
  await sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .composite([{ input: Buffer.from(svg) }])
    .removeAlpha()
    .png()
    .toFile(path);
}
