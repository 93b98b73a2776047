/** Test photos carrying EXIF orientation tags, shared by the predict and dataset tests. */
import sharp, { type Sharp } from "sharp";

export const PHOTO_WIDTH = 96;
export const PHOTO_HEIGHT = 64;

/** A 96×64 picture that no rotation or mirror maps onto itself: a bright square near its top-left corner (raw RGB). */
export async function uprightPixels(): Promise<Buffer> {
  const square = await sharp({ create: { width: 24, height: 16, channels: 3, background: "#f0e060" } }).png().toBuffer();
  return sharp({ create: { width: PHOTO_WIDTH, height: PHOTO_HEIGHT, channels: 3, background: "#203040" } })
    .composite([{ input: square, left: 8, top: 6 }])
    .removeAlpha()
    .raw()
    .toBuffer();
}

export const rawImage = (data: Buffer, width: number, height: number) => sharp(data, { raw: { width, height, channels: 3 } });

/**
 * What a camera stores for each orientation tag: the pixels the tag turns back upright
 * (6: the camera was held upright for a landscape sensor, so the stored image is rotated).
 */
const STORED: Record<number, (image: Sharp) => Sharp> = {
  2: (image) => image.flop(),
  3: (image) => image.rotate(180),
  6: (image) => image.rotate(270),
  8: (image) => image.rotate(90),
};

/** The upright picture stored for `orientation` and tagged with it: lossless PNG, or JPEG as cameras write. */
export async function taggedPhoto(file: string, orientation: number, format: "png" | "jpeg" = "png"): Promise<void> {
  const stored = await STORED[orientation]!(rawImage(await uprightPixels(), PHOTO_WIDTH, PHOTO_HEIGHT)).png().toBuffer();
  await sharp(stored).withMetadata({ orientation }).toFormat(format, { quality: 95 }).toFile(file);
}
