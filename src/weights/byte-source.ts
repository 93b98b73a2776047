/**
 * Bytes read by range. A weights file is decoded from its directory (a zip's, a safetensors
 * header) and each tensor's bytes are read when its values are asked for, so loading holds one
 * tensor at a time rather than the whole file beside the model.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from "node:fs";
import { InputError } from "../util/input-error.js";

export interface ByteSource {
  /** The file, for messages. */
  readonly name: string;
  readonly size: number;
  /** `length` bytes at `offset`, in a buffer of their own (so typed arrays over them are aligned). */
  read(offset: number, length: number): Uint8Array;
}

export function bytesSource(bytes: Uint8Array, name: string): ByteSource {
  return { name, size: bytes.byteLength, read: (offset, length) => new Uint8Array(bytes.subarray(offset, offset + length)) };
}

/**
 * A file read piece by piece, each read opening it afresh (nothing to close). A file replaced or
 * cut while it is read is an error, not a mix of two files. Opening errors are fs's own (ENOENT,
 * EISDIR, EACCES), for the caller to word.
 */
export function fileSource(path: string): ByteSource {
  const stats = statSync(path);
  if (stats.isDirectory()) throw Object.assign(new Error(`${path} is a folder`), { code: "EISDIR" });
  const { size, mtimeMs } = stats;
  return {
    name: path,
    size,
    read(offset, length) {
      const fd = openSync(path, "r");
      try {
        const now = fstatSync(fd);
        if (now.size !== size || now.mtimeMs !== mtimeMs) throw new InputError(`${path} changed while it was being read; load it again`);
        const bytes = new Uint8Array(length);
        for (let done = 0; done < length; ) {
          const count = readSync(fd, bytes, done, length - done, offset + done);
          if (count === 0) throw new InputError(`${path} ended at byte ${offset + done} while reading (truncated?)`);
          done += count;
        }
        return bytes;
      } finally {
        closeSync(fd);
      }
    },
  };
}
