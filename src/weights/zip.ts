/**
 * The little of the zip format torch checkpoints use: reading entries through the central
 * directory (stored, as torch writes them, or deflated, as a re-zipped file may be), and writing
 * stored entries. No zip64: a state dict that large is out of scope here.
 */
import { inflateRawSync } from "node:zlib";
import { InputError } from "../util/input-error.js";
import type { ByteSource } from "./byte-source.js";

export class ZipError extends InputError {}

const LOCAL_HEADER = 0x04034b50;
const CENTRAL_HEADER = 0x02014b50;
const END_OF_CENTRAL_DIRECTORY = 0x06054b50;

export const isZip = (bytes: Uint8Array) => bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04;

/** A zip entry, read when asked: a stored entry by range, a deflated one whole. */
export interface ZipEntry {
  /** Uncompressed size. */
  readonly size: number;
  read(offset?: number, length?: number): Uint8Array;
}

/** Every entry, by name, from the central directory; no entry's data is read yet. */
export function readZip(source: ByteSource): Map<string, ZipEntry> {
  const file = source.name;
  // The end record is the last 22 bytes unless a comment (≤ 65535 bytes) follows it.
  const tailStart = Math.max(0, source.size - 22 - 0xffff);
  const tail = Buffer.from(source.read(tailStart, source.size - tailStart).buffer);
  let end = -1;
  for (let at = tail.length - 22; at >= 0; at--)
    if (tail.readUInt32LE(at) === END_OF_CENTRAL_DIRECTORY) {
      end = at;
      break;
    }
  if (end < 0) throw new ZipError(`${file}: not a complete zip file (no central directory; truncated?)`);
  const count = tail.readUInt16LE(end + 10);
  const directorySize = tail.readUInt32LE(end + 12);
  const directoryOffset = tail.readUInt32LE(end + 16);
  if (directoryOffset + directorySize > tailStart + end) throw new ZipError(`${file}: corrupt zip central directory`);
  const directory = Buffer.from(source.read(directoryOffset, directorySize).buffer);
  const entries = new Map<string, ZipEntry>();
  let at = 0;
  for (let i = 0; i < count; i++) {
    if (at + 46 > directory.length || directory.readUInt32LE(at) !== CENTRAL_HEADER) throw new ZipError(`${file}: corrupt zip central directory`);
    const method = directory.readUInt16LE(at + 10);
    const compressedSize = directory.readUInt32LE(at + 20);
    const size = directory.readUInt32LE(at + 24);
    const nameLength = directory.readUInt16LE(at + 28);
    const extraLength = directory.readUInt16LE(at + 30);
    const commentLength = directory.readUInt16LE(at + 32);
    const localOffset = directory.readUInt32LE(at + 42);
    const name = directory.toString("utf8", at + 46, at + 46 + nameLength);
    if (compressedSize === 0xffffffff || localOffset === 0xffffffff) throw new ZipError(`${file}: zip64 archives are not supported`);
    if (method !== 0 && method !== 8)
      throw new ZipError(`${file}: zip entry ${name} uses compression method ${method}; only stored and deflate are supported`);
    if (localOffset + 30 > source.size) throw new ZipError(`${file}: corrupt zip entry ${name}`);
    const local = Buffer.from(source.read(localOffset, 30).buffer);
    if (local.readUInt32LE(0) !== LOCAL_HEADER) throw new ZipError(`${file}: corrupt zip entry ${name}`);
    const dataStart = localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (dataStart + compressedSize > source.size) throw new ZipError(`${file}: zip entry ${name} runs past the end of the file (truncated?)`);
    entries.set(name, method === 0 ? storedEntry(source, dataStart, compressedSize) : deflatedEntry(source, name, dataStart, compressedSize, size));
    at += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}

function storedEntry(source: ByteSource, start: number, size: number): ZipEntry {
  return { size, read: (offset = 0, length = size - offset) => source.read(start + offset, length) };
}

function deflatedEntry(source: ByteSource, name: string, start: number, compressedSize: number, size: number): ZipEntry {
  return {
    size,
    read: (offset = 0, length = size - offset) => {
      const whole = inflateRawSync(source.read(start, compressedSize));
      if (whole.byteLength !== size) throw new ZipError(`${source.name}: zip entry ${name} inflates to ${whole.byteLength} bytes, not ${size} (corrupt file)`);
      return Uint8Array.prototype.slice.call(whole, offset, offset + length);
    },
  };
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});

function crc32(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = CRC_TABLE[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** A zip of stored (uncompressed) entries, in the given order. */
export function writeZip(entries: ReadonlyArray<readonly [string, Uint8Array]>): Buffer {
  const parts: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of entries) {
    const nameBytes = Buffer.from(name, "utf8");
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(LOCAL_HEADER, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.byteLength, 18);
    local.writeUInt32LE(data.byteLength, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    const header = Buffer.alloc(46);
    header.writeUInt32LE(CENTRAL_HEADER, 0);
    header.writeUInt16LE(20, 4); // version made by
    header.writeUInt16LE(20, 6);
    header.writeUInt32LE(crc, 16);
    header.writeUInt32LE(data.byteLength, 20);
    header.writeUInt32LE(data.byteLength, 24);
    header.writeUInt16LE(nameBytes.length, 28);
    header.writeUInt32LE(offset, 42);
    parts.push(local, nameBytes, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
    central.push(header, nameBytes);
    offset += 30 + nameBytes.length + data.byteLength;
  }
  const centralSize = central.reduce((sum, part) => sum + part.length, 0);
  const endRecord = Buffer.alloc(22);
  endRecord.writeUInt32LE(END_OF_CENTRAL_DIRECTORY, 0);
  endRecord.writeUInt16LE(entries.length, 8);
  endRecord.writeUInt16LE(entries.length, 10);
  endRecord.writeUInt32LE(centralSize, 12);
  endRecord.writeUInt32LE(offset, 16);
  return Buffer.concat([...parts, ...central, endRecord]);
}
