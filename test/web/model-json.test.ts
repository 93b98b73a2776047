/** The web export's weights are TensorFlow.js's own format: what tfjs's decoder reads back is what was written. */
import * as tf from "@tensorflow/tfjs";
import { describe, expect, it } from "vitest";
import type { DetectorSpec } from "../../src/check/detector-spec.js";
import { encodeWebModel, float16Bits, WEB_MODEL_FORMAT } from "../../src/web/model-json.js";
import type { NamedTensor } from "../../src/weights/safetensors.js";

// Without it, tfjs's cpu backend asks to install tfjs-node on first use.
tf.enableProdMode();

describe("float16Bits", () => {
  it("rounds to the nearest half-precision value, ties to even, with subnormals, overflow and NaN", () => {
    const cases: [number, number][] = [
      [0, 0x0000], [-0, 0x8000], [1, 0x3c00], [-2, 0xc000], [0.1, 0x2e66], [65504, 0x7bff], [65520, 0x7c00],
      [Infinity, 0x7c00], [-Infinity, 0xfc00], [2 ** -24, 0x0001], [2 ** -25, 0x0000], [1.5 * 2 ** -24, 0x0002],
      [2 ** -14, 0x0400], [1 + 2 ** -11, 0x3c00], [1 + 3 * 2 ** -11, 0x3c02],
    ];
    for (const [value, bits] of cases) expect(float16Bits(value), String(value)).toBe(bits);
    expect(float16Bits(NaN) & 0x7c00).toBe(0x7c00);
    expect(float16Bits(NaN) & 0x3ff).not.toBe(0);
  });
});

describe("encodeWebModel", () => {
  const spec = { name: "d" } as DetectorSpec;
  const values = Float32Array.from({ length: 300 }, (_, i) => Math.sin(i) * 10 ** ((i % 7) - 3));
  const tensors = new Map<string, NamedTensor>([
    ["a.weight", { dtype: "F32", shape: [3, 100], data: values }],
    ["b.num_batches_tracked", { dtype: "I32", shape: [], data: Int32Array.of(7) }],
  ]);

  const decode = (files: ReturnType<typeof encodeWebModel>) => {
    const bytes = new Uint8Array(files.shards.reduce((sum, shard) => sum + shard.bytes.length, 0));
    let offset = 0;
    for (const shard of files.shards) {
      bytes.set(shard.bytes, offset);
      offset += shard.bytes.length;
    }
    const [group] = files.modelJson.weightsManifest;
    return tf.io.decodeWeights(bytes.buffer, group?.weights ?? []);
  };

  it("float32: shards of the size asked, named as tfjs's converter names them, decoded exactly by tfjs", () => {
    const files = encodeWebModel(spec, tensors, "float32", 500);
    expect(files.modelJson.format).toBe(WEB_MODEL_FORMAT);
    expect(files.shards.map((shard) => [shard.file, shard.bytes.length])).toEqual([["group1-shard1of3.bin", 500], ["group1-shard2of3.bin", 500], ["group1-shard3of3.bin", 204]]);
    expect(files.modelJson.weightsManifest[0]?.paths).toEqual(files.shards.map((shard) => shard.file));
    const decoded = decode(files);
    expect(decoded["a.weight"]?.shape).toEqual([3, 100]);
    expect(Array.from(decoded["a.weight"]?.dataSync() ?? [])).toEqual(Array.from(values));
    expect(decoded["b.num_batches_tracked"]?.dtype).toBe("int32");
    expect(Array.from(decoded["b.num_batches_tracked"]?.dataSync() ?? [])).toEqual([7]);
  });

  it("float16: half the bytes for floats, widened back by tfjs within 2^-11 of each value", () => {
    const files = encodeWebModel(spec, tensors, "float16");
    expect(files.shards.map((shard) => shard.bytes.length)).toEqual([300 * 2 + 4]);
    const decoded = Array.from(decode(files)["a.weight"]?.dataSync() ?? []);
    expect(decoded).toHaveLength(300);
    decoded.forEach((value, i) => {
      const want = values[i] ?? 0;
      // Below 2^-14 half precision is subnormal: an absolute step of 2^-24.
      expect(Math.abs(value - want), `value ${i}: ${want}`).toBeLessThanOrEqual(Math.max(Math.abs(want) * 2 ** -11, 2 ** -25));
    });
  });
});
