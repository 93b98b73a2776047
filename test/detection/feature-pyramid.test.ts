/**
 * FeaturePyramidNetwork against torchvision's, same weights: laterals, the nearest-upsampled top-down
 * path on odd-sized maps, output convs, and LastLevelMaxPool's `pool` level (make_detection_goldens.py).
 */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import { FeaturePyramidNetwork } from "../../src/detection/feature-pyramid.js";
import { BACKENDS, expectClose, golden, nchwToNhwc, useBackend } from "./support.js";

interface Stored {
  shape: number[];
  values: number[];
}

const c = golden<{ weights: Record<string, Stored>; features: Record<string, Stored>; outputs: Record<string, Stored> }>("fpn");
let built = 0;

const nhwc = ({ shape, values }: Stored) => {
  const [n, ch, h, w] = shape;
  return tf.tensor4d(nchwToNhwc(values, shape), [n!, h!, w!, ch!]);
};

describe.each(BACKENDS)("FeaturePyramidNetwork on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  it("gives torchvision's maps, the extra `pool` level included", () => {
    const inChannels = Object.values(c.features).map((f) => f.shape[1]!);
    const network = new FeaturePyramidNetwork(inChannels, 4, true, 0, `fpn-test-${built++}.`);
    for (const [key, { shape, values }] of Object.entries(c.weights)) {
      const variable = network.variables.get(key);
      if (!variable) throw new Error(`FeaturePyramidNetwork has no variable ${key}`);
      const tensor = tf.tensor(values, shape);
      variable.assign(shape.length === 4 ? tf.transpose(tensor, [2, 3, 1, 0]) : tensor);
      tensor.dispose();
    }
    const features = new Map(Object.entries(c.features).map(([name, stored]) => [name, nhwc(stored)]));
    const outputs = network.apply(features);
    expect([...outputs.keys()]).toEqual(Object.keys(c.outputs));
    for (const [name, stored] of Object.entries(c.outputs)) {
      const [n, ch, h, w] = stored.shape;
      const output = outputs.get(name)!;
      expect(output.shape, name).toEqual([n, h, w, ch]);
      expectClose(output.dataSync(), nchwToNhwc(stored.values, stored.shape), 1e-4);
    }
    tf.dispose([...features.values(), ...outputs.values()]);
    network.dispose();
  });
});
