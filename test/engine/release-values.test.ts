/**
 * `releaseValues` (engine/move-into-engine): the values of variables about to be filled from a file
 * are freed first, and what the variables hold meanwhile takes no memory.
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { releaseValues } from "../../src/engine/move-into-engine.js";
import { collectGarbage } from "../../src/util/collect-garbage.js";
import { BACKENDS, useBackend } from "../detection/support.js";

const MIB = 2 ** 20;
const residentMiB = () => process.memoryUsage().rss / MIB;

describe.each(BACKENDS)("releaseValues on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("leaves zeros of the same shape and dtype, and the variable takes a new value", () => {
    const weight = tf.variable(tf.tensor2d([1, 2, 3, 4], [2, 2]));
    const counter = tf.variable(tf.scalar(7, "int32"));
    releaseValues([weight, counter]);
    expect([weight.shape, weight.dtype, counter.dtype]).toEqual([[2, 2], "float32", "int32"]);
    expect([...weight.dataSync(), ...counter.dataSync()]).toEqual([0, 0, 0, 0, 0]);
    weight.assign(tf.tensor2d([5, 6, 7, 8], [2, 2]));
    expect([...weight.dataSync()]).toEqual([5, 6, 7, 8]);
    tf.dispose([weight, counter]);
  });

  it.runIf(backend === "tensorflow")("frees the old values, and the zeros take no memory until read", async () => {
    // Four 128 MiB variables from JavaScript values, as a random initialisation leaves them.
    const variables = Array.from({ length: 4 }, (_, i) =>
      tf.tidy(() => tf.variable(tf.tensor1d(new Float32Array(32 * MIB).fill(i + 1)))),
    );
    collectGarbage();
    const before = residentMiB();
    releaseValues(variables);
    collectGarbage();
    // V8 sweeps freed array buffers on a thread of its own.
    await new Promise((resolve) => setTimeout(resolve, 500));
    collectGarbage();
    // 512 MiB held before; zeros that were written out would hold as much again.
    expect(before - residentMiB()).toBeGreaterThan(384);
    tf.dispose(variables);
  });
});
