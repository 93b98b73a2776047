/** AnchorGenerator against torchvision's anchors: single map, four FPN levels, two image sizes each. */
import { beforeAll, describe, expect, it } from "vitest";
import { AnchorGenerator, type Size2D } from "../../src/detection/anchor-utils.js";
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

  it("covers torch.round's half-to-even and integer-division strides", () => {
    const halfway = cases.find((c) => c.name === "half_to_even")!;
    expect(halfway.cellAnchors[0]![3]).toEqual([-2, -2, 2, 2]); // size 5, ratio 1: +-2.5 rounds to +-2
    const strides = cases.find((c) => c.name === "c4" && c.imageSize[0] === 100)!;
    expect(strides.anchors[15]).toEqual([-23 + 15, -11, 23 + 15, 11]); // second column: stride 75 // 5 = 15
  });

  it("names the counts when anchor groups and feature maps disagree", () => {
    const generator = new AnchorGenerator([[32], [64]], [[1.0], [1.0]]);
    expect(() => generator.anchorsFor([64, 64], [[16, 16]])).toThrow(/1 feature maps but 2 anchor groups/);
    expect(() => new AnchorGenerator([[32], [64]], [[1.0], [1.0], [2.0]])).toThrow(
      /2 size groups but 3 aspect-ratio groups/,
    );
  });
});
