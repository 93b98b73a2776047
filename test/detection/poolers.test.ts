/** MultiScaleRoIAlign against torchvision: scales, level of every box, pooled values, per-level gradients. */
import * as tf from "@tensorflow/tfjs";
import { beforeAll, describe, expect, it } from "vitest";
import type { Size2D } from "../../src/detection/geometry.js";
import { inferScale, LevelMapper } from "../../src/detection/geometry.js";
import { boxLevels, MultiScaleRoIAlign } from "../../src/detection/poolers.js";
import { BACKENDS, expectClose, golden, nchwToNhwc, useBackend } from "./support.js";

interface PoolerCase {
  featmapNames: string[];
  outputSize: number | [number, number];
  samplingRatio: number;
  scales: number[];
  kMin: number;
  kMax: number;
  levels: number[];
  output: number[];
  upstream: number[];
  gradients: Record<string, number[]>;
}

interface PoolerGolden {
  features: Record<string, { shape: [number, number, number, number]; values: number[] }>;
  imageShapes: Size2D[];
  boxes: number[][][];
  cases: PoolerCase[];
}

const expected = golden<PoolerGolden>("multiscale_roi_align");
const channels = 2;
const boxCount = expected.boxes.reduce((total, perImage) => total + perImage.length, 0);

/** The maps in torchvision's dict order, NHWC. */
function featureMaps(): Map<string, tf.Tensor4D> {
  return new Map(
    Object.entries(expected.features).map(([name, { shape, values }]) => {
      const [n, c, h, w] = shape;
      return [name, tf.tensor4d(nchwToNhwc(values, shape), [n, h, w, c])];
    }),
  );
}

const boxes = () => expected.boxes.map((perImage) => tf.tensor2d(perImage));
const sizeOf = (c: PoolerCase): [number, number] =>
  typeof c.outputSize === "number" ? [c.outputSize, c.outputSize] : c.outputSize;
const label = (c: PoolerCase) =>
  `maps ${c.featmapNames.join(",")}, output ${sizeOf(c).join("x")}, sampling ${c.samplingRatio}`;
const nhwc = (c: PoolerCase, values: number[]) => nchwToNhwc(values, [boxCount, channels, ...sizeOf(c)]);

describe.each(BACKENDS)("MultiScaleRoIAlign on %s", (backend) => {
  beforeAll(() => useBackend(backend));

  describe.each(expected.cases.map((c) => [label(c), c] as const))("%s", (_, c) => {
    const pooler = new MultiScaleRoIAlign(c.featmapNames, c.outputSize, c.samplingRatio);

    it("infers torchvision's scales and level range and assigns each box its level", () => {
      const { levels, levelIndex, mapper } = pooler.assignLevels(featureMaps(), boxes(), expected.imageShapes);
      expect(levels.map((level) => level.spatialScale)).toEqual(c.scales);
      expect([mapper.kMin, mapper.kMax]).toEqual([c.kMin, c.kMax]);
      expect(Array.from(levelIndex.dataSync())).toEqual(c.levels);
    });

    it("pools like torchvision", () => {
      const pooled = pooler.forward(featureMaps(), boxes(), expected.imageShapes);
      expect(pooled.shape).toEqual([boxCount, ...sizeOf(c), channels]);
      expectClose(pooled.dataSync(), nhwc(c, c.output), 2e-5);
    });

    it("sends each box's gradient to its own level, like torchvision", () => {
      const maps = featureMaps();
      const pooled = c.featmapNames.map((name) => maps.get(name)!);
      const upstream = tf.tensor(nhwc(c, c.upstream), [boxCount, ...sizeOf(c), channels]);
      const gradients = tf.grads((...levelMaps: tf.Tensor[]) => {
        const withLevels = new Map(maps);
        c.featmapNames.forEach((name, i) => withLevels.set(name, levelMaps[i] as tf.Tensor4D));
        return tf.sum(tf.mul(pooler.forward(withLevels, boxes(), expected.imageShapes), upstream));
      })(pooled);
      c.featmapNames.forEach((name, i) => {
        expectClose(gradients[i]!.dataSync(), nchwToNhwc(c.gradients[name]!, expected.features[name]!.shape), 2e-5);
      });
    });
  });

  it("zeroes boxes whose level has no map when the maps skip a stride, as torchvision does", () => {
    const c = expected.cases.find((candidate) => candidate.featmapNames.join() === "0,1,3")!;
    const pooler = new MultiScaleRoIAlign(c.featmapNames, c.outputSize, c.samplingRatio);
    const pooled = pooler.forward(featureMaps(), boxes(), expected.imageShapes);
    const perBox = pooled.reshape([boxCount, -1]).arraySync() as number[][];
    c.levels.forEach((level, box) => expect(perBox[box]!.every((v) => v === 0)).toBe(level === 3));
  });

  it("names a missing feature map and the maps that exist", () => {
    const pooler = new MultiScaleRoIAlign(["0", "p6"], 7, 2);
    expect(() => pooler.forward(featureMaps(), boxes(), expected.imageShapes)).toThrow(
      /no feature map named p6; the maps are 0, 1, 2, 3, pool/,
    );
  });
});

describe("level heuristics", () => {
  it("a 224x224 box lands on the canonical level 4; eps keeps exact powers of two on their level", () => {
    const mapper = new LevelMapper(2, 5);
    const sides = [224, 112, 111, 448, 8, 4000];
    const squares = tf.tensor2d(sides.map((side) => [0, 0, side, side]));
    expect(Array.from(boxLevels(mapper, [squares]).dataSync())).toEqual([2, 1, 0, 3, 0, 3]);
  });

  it("scales are powers of two rounded from the map / image ratio", () => {
    expect(inferScale([25, 34], [800, 1067])).toBe(1 / 32);
    expect(inferScale([200, 267], [800, 1067])).toBe(1 / 4);
  });
});
