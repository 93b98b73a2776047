/** AnchorGenerator against torchvision's anchors: single map, four FPN levels, two image sizes each. */
import { beforeAll, describe, expect, it } from "vitest";
import { AnchorGenerator } from "../../src/detection/anchor-utils.js";
import type { Size2D } from "../../src/detection/geometry.js";
import { golden, useBackend } from "./support.js";

interface AnchorCase {
  name: string;
  sizes: number[] | number[][];
  aspectRatios: number[] | number[][];
  imageSize: Size2D;
  gridSizes: Size2D[];
  numAnchorsPerLocation: number[];
  cellAnchors: number[][][];
  anchors: number[][];
}

const cases = golden<AnchorCase[]>("anchors");
const label = (c: AnchorCase) =>
  `${c.name} at ${c.imageSize.join("x")} over ${c.gridSizes.map((g) => g.join("x")).join(", ")}`;
/** `+ 0` folds -0 into 0: torch.round(-0.4) is -0 too, but toEqual tells them apart. */
const plain = (values: ArrayLike<number>) => Array.from(values, (v) => v + 0);

describe("AnchorGenerator", () => {
  beforeAll(() => useBackend("wasm"));

  it.each(cases.map((c) => [label(c), c] as const))("%s", (_, c) => {
    const generator = new AnchorGenerator(c.sizes, c.aspectRatios);
    expect(generator.numAnchorsPerLocation()).toEqual(c.numAnchorsPerLocation);
    expect(generator.cellAnchors.map(plain)).toEqual(c.cellAnchors.map((cell) => cell.flat()));
    const anchors = generator.anchorsFor(c.imageSize, c.gridSizes);
    expect(anchors.shape).toEqual([c.anchors.length, 4]);
    expect(plain(anchors.dataSync())).toEqual(c.anchors.flat());
    anchors.dispose();
  });

  it("rounds half to even like torch.round, and strides by integer division", () => {
    // Size 5, ratio 1: the half-sides are +-2.5, which torch.round takes to +-2 (Math.round: -2, 3).
    const halfway = new AnchorGenerator([5], [1.0]);
    expect(plain(halfway.cellAnchors[0]!)).toEqual([-2, -2, 2, 2]);
    // Size 7, ratio 1: +-3.5 rounds to +-4, away from zero this time (truncation would give 3).
    expect(plain(new AnchorGenerator([7], [1.0]).cellAnchors[0]!)).toEqual([-4, -4, 4, 4]);
    // A 100x100 image over a 5x5 map: stride 100 // 5 = 20; over a 7x7 map 100 // 7 = 14, not 14.28.
    const generator = new AnchorGenerator([[46], [46]], [[1.0], [1.0]]);
    const anchors = generator.anchorsFor([100, 100], [[5, 5], [7, 7]]);
    const rows = anchors.arraySync();
    anchors.dispose();
    expect(rows[1]).toEqual([-23 + 20, -23, 23 + 20, 23]); // second column of the 5x5 map
    expect(rows[25 + 7]).toEqual([-23, -23 + 14, 23, 23 + 14]); // second row of the 7x7 map
  });

  it("names the counts when anchor groups and feature maps disagree", () => {
    const generator = new AnchorGenerator([[32], [64]], [[1.0], [1.0]]);
    expect(() => generator.anchorsFor([64, 64], [[16, 16]])).toThrow(/1 feature maps but 2 anchor groups/);
    expect(() => new AnchorGenerator([[32], [64]], [[1.0], [1.0], [2.0]])).toThrow(
      /2 size groups but 3 aspect-ratio groups/,
    );
  });
});
