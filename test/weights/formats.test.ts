/** Reading and writing PyTorch checkpoints and safetensors, and refusing hostile pickles. */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InputError } from "../../src/util/input-error.js";
import { PyDict, unpickle } from "../../src/weights/pickle.js";
import { encodeNpy } from "../../src/weights/npy.js";
import { float32Values, int32Values, readStateDict, writeStateDict } from "../../src/weights/state-dict.js";
import { fixture, readNpy } from "./support.js";

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

  it("views a contiguous tensor in the file's bytes rather than copying it (the file is not held twice while it loads)", () => {
    const stateDict = readStateDict(fixture("plain.pth"));
    const plain = stateDict.get("plain")!.data;
    const { data: other } = readStateDict(fixture("wrapped.pth")).get("half")!;
    // Every tensor of one file shares one buffer, the file's, larger than any tensor.
    expect(plain.buffer.byteLength).toBeGreaterThan(plain.byteLength);
    expect(other.buffer.byteLength).toBeGreaterThan(other.byteLength);
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
