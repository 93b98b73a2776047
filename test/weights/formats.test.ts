/** Reading and writing PyTorch checkpoints and safetensors, and refusing hostile pickles. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/util/input-error.js";
import { bytesSource, type ByteSource } from "../../src/weights/byte-source.js";
import { decodeSafetensors, encodeSafetensors, type NamedTensor } from "../../src/weights/safetensors.js";
import { decodeTorchCheckpoint, encodeTorchCheckpoint } from "../../src/weights/torch-checkpoint.js";
import { PyDict, unpickle } from "../../src/weights/pickle.js";
import { encodeNpy } from "../../src/weights/npy.js";
import { float32Values, int32Values, readStateDict, writeStateDict } from "../../src/weights/state-dict.js";
import { fixture, readNpy } from "./support.js";

const tensor = (shape: number[], data: Float32Array): NamedTensor => ({ dtype: "F32", shape, data });

/** A byte source that counts what is read from it. */
function counted(inner: ByteSource): { source: ByteSource; bytesRead: () => number } {
  let total = 0;
  const source = { name: inner.name, size: inner.size, read: (offset: number, length: number) => ((total += length), inner.read(offset, length)) };
  return { source, bytesRead: () => total };
}

const expected = JSON.parse(readFileSync(fixture("wrapped.json"), "utf8")) as Record<string, { shape: number[]; values: number[] }>;

describe("PyTorch checkpoints", () => {
  it('reads {"model": state_dict} with non-contiguous, offset, half and int64 tensors', () => {
    const stateDict = readStateDict(fixture("wrapped.pth"));
    expect([...stateDict.keys()]).toEqual(Object.keys(expected));
    for (const [name, { shape, values }] of Object.entries(expected)) {
      const tensor = stateDict.get(name)!;
      expect(tensor.shape).toEqual(shape);
      expect([...float32Values(tensor)]).toEqual(values.map(Math.fround));
    }
    expect(stateDict.get("half")!.dtype).toBe("F16");
    expect([...int32Values(stateDict.get("count")!)]).toEqual([7]);
  });

  it("reads the zip's directory and the pickle when opened, and a tensor's own bytes only when its values are asked for", () => {
    const values = Float32Array.from({ length: 1 << 18 }, (_, i) => i); // 1 MiB
    const bytes = encodeTorchCheckpoint(new Map([["big", tensor([512, 512], values)], ["small", tensor([3], new Float32Array([1, 2, 3]))]]));
    const { source, bytesRead } = counted(bytesSource(bytes, "counted.pth"));
    const stateDict = decodeTorchCheckpoint(source);
    expect(bytesRead()).toBeLessThan(bytes.length / 8); // the end of the file (≤ 64 KiB) for the directory, the pickle
    const before = bytesRead();
    expect(float32Values(stateDict.get("big")!)).toEqual(values);
    expect(bytesRead() - before).toBe(values.byteLength);
  });

  it("says so when the file is replaced while it loads, rather than mixing two files", () => {
    const dir = mkdtempSync(join(tmpdir(), "detc-replaced-"));
    try {
      const path = join(dir, "weights.pth");
      writeStateDict(path, new Map([["w", tensor([2], new Float32Array([1, 2]))]]));
      const stateDict = readStateDict(path);
      writeStateDict(path, new Map([["w", tensor([3], new Float32Array([1, 2, 3]))]]));
      expect(() => stateDict.get("w")!.data).toThrow(InputError);
      expect(() => stateDict.get("w")!.data).toThrow(`${path} changed while it was being read; load it again`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("reads a plain dict", () => {
    const tensor = readStateDict(fixture("plain.pth")).get("plain")!;
    expect(tensor.shape).toEqual([2, 2]);
    expect([...float32Values(tensor)]).toEqual([1, 1, 1, 1]);
  });

  it("reads DICT as Python does: the pairs above the MARK, or an empty dict", () => {
    const noGlobals = { resolveGlobal: () => { throw new Error("no globals here"); }, persistentLoad: () => { throw new Error("no storages here"); } };
    // pickle.loads(b'\x80\x02(X\x01\x00\x00\x00aK\x01X\x01\x00\x00\x00bK\x02d.') == {'a': 1, 'b': 2}
    const pairs = Uint8Array.from([0x80, 2, 0x28, 0x58, 1, 0, 0, 0, 0x61, 0x4b, 1, 0x58, 1, 0, 0, 0, 0x62, 0x4b, 2, 0x64, 0x2e]);
    expect(unpickle(pairs, "pairs.pkl", noGlobals)).toEqual(new PyDict([["a", 1], ["b", 2]]));
    expect(unpickle(Uint8Array.from([0x80, 2, 0x28, 0x64, 0x2e]), "empty.pkl", noGlobals)).toEqual(new PyDict());
  });

  it("refuses a pickle that would call os.system, naming it, without running it", () => {
    rmSync("/tmp/detc-pwned", { force: true });
    expect(() => readStateDict(fixture("malicious.pth"))).toThrow(InputError);
    expect(() => readStateDict(fixture("malicious.pth"))).toThrow(/refusing to load: the pickle asks for `posix\.system`/);
    expect(existsSync("/tmp/detc-pwned")).toBe(false);
  });

  it.each(["pth", "safetensors"])("round-trips through .%s", (extension) => {
    const folder = mkdtempSync(join(tmpdir(), "detc-weights-"));
    try {
      const original = readStateDict(fixture("wrapped.pth"));
      const path = join(folder, `copy.${extension}`);
      writeStateDict(path, original);
      const copy = readStateDict(path);
      expect([...copy.keys()].sort()).toEqual([...original.keys()].sort());
      for (const [name, tensor] of original) {
        expect(copy.get(name)!.dtype).toBe(tensor.dtype);
        expect(copy.get(name)!.shape).toEqual(tensor.shape);
        expect([...copy.get(name)!.data]).toEqual([...tensor.data]);
      }
    } finally {
      rmSync(folder, { recursive: true });
    }
  });

  it("explains a missing file and a non-weights file", () => {
    expect(() => readStateDict(fixture("nope.pth"))).toThrow(/no such file/);
    expect(() => readStateDict(fixture("wrapped.json"))).toThrow(InputError);
  });
});

describe("safetensors", () => {
  it("reads the header when opened, and a tensor's own bytes only when its values are asked for", () => {
    const values = Float32Array.from({ length: 1 << 18 }, (_, i) => -i);
    const bytes = encodeSafetensors(new Map([["big", tensor([512, 512], values)]]));
    const { source, bytesRead } = counted(bytesSource(bytes, "counted.safetensors"));
    const { tensors } = decodeSafetensors(source);
    expect(bytesRead()).toBeLessThan(1024);
    expect(float32Values(tensors.get("big")!)).toEqual(values);
    expect(bytesRead()).toBeLessThan(values.byteLength + 1024);
  });
});

describe(".npy", () => {
  it("writes what NumPy writes", () => {
    const folder = mkdtempSync(join(tmpdir(), "detc-npy-"));
    try {
      const golden = readNpy(fixture("resnet18_fpn/fpn.pool.npy"));
      const path = join(folder, "copy.npy");
      writeFileSync(path, encodeNpy(golden.values, golden.shape));
      expect(readFileSync(path)).toEqual(readFileSync(fixture("resnet18_fpn/fpn.pool.npy")));
    } finally {
      rmSync(folder, { recursive: true });
    }
  });
});
