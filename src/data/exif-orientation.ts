/**
 * A JPEG's EXIF orientation tag, read from the first bytes of the file without decoding anything:
 * the markers up to the image data, the `Exif` APP1 segment, its TIFF header and the first IFD,
 * where cameras write tag 0x0112. Counting the turned photos of a 118k-image dataset this way
 * reads one page per file (about 0.03 ms) where opening each with libvips costs about 0.5 ms.
 */

const ORIENTATION_TAG = 0x0112;
const SHORT = 3;

/**
 * 1–8 as the tag says, 1 for a JPEG without one; undefined when `bytes` are not the start of a
 * JPEG or end before the answer (the caller asks a full reader then).
 */
export function jpegOrientation(bytes: Uint8Array): number | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 4 <= bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1]!;
    if (marker === 0xff) {
      at++; // fill byte
      continue;
    }
    // Start of scan (the pixels) or end of image: no EXIF before them.
    if (marker === 0xda || marker === 0xd9) return 1;
    const length = (bytes[at + 2]! << 8) | bytes[at + 3]!;
    if (marker === 0xe1 && isExifHeader(bytes, at + 4)) return tiffOrientation(bytes, at + 10, at + 2 + length);
    at += 2 + length;
  }
  return undefined;
}

/** `Exif\0\0` */
const isExifHeader = (bytes: Uint8Array, at: number) =>
  at + 6 <= bytes.length && String.fromCharCode(...bytes.subarray(at, at + 4)) === "Exif" && bytes[at + 4] === 0 && bytes[at + 5] === 0;

/** The orientation in the first IFD of the TIFF structure starting at `tiff` (1 if absent); undefined if cut off. */
function tiffOrientation(bytes: Uint8Array, tiff: number, segmentEnd: number): number | undefined {
  const end = Math.min(bytes.length, segmentEnd);
  if (tiff + 8 > end) return undefined;
  const little = bytes[tiff] === 0x49 && bytes[tiff + 1] === 0x49; // "II"; "MM" is big-endian
  if (!little && !(bytes[tiff] === 0x4d && bytes[tiff + 1] === 0x4d)) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const ifd = tiff + view.getUint32(tiff + 4, little);
  if (ifd + 2 > end) return undefined;
  const entries = view.getUint16(ifd, little);
  for (let i = 0; i < entries; i++) {
    const entry = ifd + 2 + 12 * i;
    if (entry + 12 > end) return undefined;
    if (view.getUint16(entry, little) !== ORIENTATION_TAG) continue;
    if (view.getUint16(entry + 2, little) !== SHORT) return undefined;
    const orientation = view.getUint16(entry + 8, little);
    return orientation >= 1 && orientation <= 8 ? orientation : undefined;
  }
  return 1;
}
