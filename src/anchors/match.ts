/**
 * What the RPN's `Matcher(fg, bg, allow_low_quality_matches=True)` does with one image's ground
 * truth, computed on the host without the `[boxes × anchors]` IoU matrix: an 800-px image on five
 * FPN levels has ~200k anchors, of which only a handful can matter to a box.
 *
 * Why that is exact: a grid anchor's IoU with a box is a monotone function of the intersection,
 * and the intersection is `overlapX(column) × overlapY(row)`, each unimodal in its index. So, per
 * box and cell anchor, the best location is one of the two columns (rows) around the centred
 * position, and the anchors at or above any threshold form a run of rows, each a run of columns,
 * around it. The Matcher only makes an anchor positive when its best IoU reaches `fg`, or when it
 * is a box's best anchor (ties included); both kinds lie in such a run, found by walking outward.
 * Each positive is then assigned like torch's argmax: its best box, the first of equal ones.
 */
import { pairIou } from "../detection/geometry.js";

/** One feature level's anchors: its cell anchors (`AnchorGenerator.cellAnchors`) laid on its grid. */
export interface LevelGrid {
  /** Zero-centred `(x1, y1, x2, y2)` per anchor of a location. */
  readonly cell: Float32Array;
  readonly gridHeight: number;
  readonly gridWidth: number;
  readonly strideHeight: number;
  readonly strideWidth: number;
}

export interface MatchThresholds {
  /** IoU at or above which an anchor is positive (`rpn fg_iou_thresh`). */
  readonly high: number;
}

/** Per ground-truth box of one image. */
export interface ImageMatch {
  /** The best IoU any anchor reaches with the box, in float32 as torch computes it. */
  readonly bestIou: Float32Array;
  /** The level of the box's best anchor (the first in torchvision's anchor order). */
  readonly bestLevel: Int32Array;
  /** Anchors the Matcher assigns to the box, per level: `[box * levels + level]`. */
  readonly positives: Int32Array;
}

/** An anchor of the grid, by level, row, column and cell index. */
interface AnchorAt {
  readonly level: number;
  readonly row: number;
  readonly column: number;
  readonly cellIndex: number;
}

function anchorBox(grid: LevelGrid, at: AnchorAt): [number, number, number, number] {
  const shiftX = at.column * grid.strideWidth;
  const shiftY = at.row * grid.strideHeight;
  const c = at.cellIndex * 4;
  return [shiftX + grid.cell[c]!, shiftY + grid.cell[c + 1]!, shiftX + grid.cell[c + 2]!, shiftY + grid.cell[c + 3]!];
}

function iouWith(boxes: Float32Array, box: number, anchor: readonly [number, number, number, number]): number {
  const b = box * 4;
  return pairIou(boxes[b]!, boxes[b + 1]!, boxes[b + 2]!, boxes[b + 3]!, anchor[0], anchor[1], anchor[2], anchor[3]);
}

/** The IoU of a box with the anchor at (row, column, cellIndex) of a grid; allocates nothing, for the scans. */
function iouAt(boxes: Float32Array, box: number, grid: LevelGrid, row: number, column: number, cellIndex: number): number {
  const b = box * 4;
  const c = cellIndex * 4;
  const shiftX = column * grid.strideWidth;
  const shiftY = row * grid.strideHeight;
  return pairIou(
    boxes[b]!, boxes[b + 1]!, boxes[b + 2]!, boxes[b + 3]!,
    shiftX + grid.cell[c]!, shiftY + grid.cell[c + 1]!, shiftX + grid.cell[c + 2]!, shiftY + grid.cell[c + 3]!,
  );
}

/** The grid index (0..count-1) nearest, on either side, to where the anchor centre meets `centre`. */
function bracket(centre: number, cellCentre: number, stride: number, count: number): [number, number] {
  const exact = (centre - cellCentre) / stride;
  const clamp = (i: number) => Math.min(count - 1, Math.max(0, i));
  return [clamp(Math.floor(exact)), clamp(Math.ceil(exact))];
}

/** The location of a cell anchor with the box's best IoU, and that IoU. */
function bestLocation(boxes: Float32Array, box: number, grid: LevelGrid, level: number, cellIndex: number): { at: AnchorAt; iou: number } {
  const b = box * 4;
  const c = cellIndex * 4;
  const rows = bracket((boxes[b + 1]! + boxes[b + 3]!) / 2, (grid.cell[c + 1]! + grid.cell[c + 3]!) / 2, grid.strideHeight, grid.gridHeight);
  const columns = bracket((boxes[b]! + boxes[b + 2]!) / 2, (grid.cell[c]! + grid.cell[c + 2]!) / 2, grid.strideWidth, grid.gridWidth);
  // Rows and columns in increasing order, and only a higher IoU replaces: ties keep the first
  // location, as torch's max keeps the first anchor.
  let [bestRow, bestColumn, best] = [rows[0], columns[0], -1];
  for (const row of rows)
    for (const column of columns) {
      const iou = iouAt(boxes, box, grid, row, column, cellIndex);
      if (iou > best) [bestRow, bestColumn, best] = [row, column, iou];
    }
  return { at: { level, row: bestRow, column: bestColumn, cellIndex }, iou: best };
}

/**
 * Calls `visit` with every location of `start`'s level and cell anchor whose IoU with the box is
 * `>= threshold`, walking out from `start` (the best location) row by row, then column by column.
 */
function visitAtLeast(boxes: Float32Array, box: number, grid: LevelGrid, start: AnchorAt, threshold: number, visit: (at: AnchorAt) => void): void {
  const reaches = (row: number, column: number) => iouAt(boxes, box, grid, row, column, start.cellIndex) >= threshold;
  const walkRow = (row: number): boolean => {
    if (!reaches(row, start.column)) return false;
    visit({ ...start, row });
    for (const step of [-1, 1])
      for (let column = start.column + step; column >= 0 && column < grid.gridWidth && reaches(row, column); column += step) visit({ ...start, row, column });
    return true;
  };
  if (!walkRow(start.row)) return;
  for (const step of [-1, 1])
    for (let row = start.row + step; row >= 0 && row < grid.gridHeight; row += step) if (!walkRow(row)) break;
}

const cellCount = (grid: LevelGrid) => grid.cell.length / 4;

/**
 * Matches one image's boxes (`[x1, y1, x2, y2]` per box, float32) to the anchors of `levels`, as
 * torchvision's RPN does for an image batched alone.
 */
export function matchImage(boxes: Float32Array, levels: readonly LevelGrid[], thresholds: MatchThresholds): ImageMatch {
  const boxCount = boxes.length / 4;
  const bestIou = new Float32Array(boxCount);
  const bestLevel = new Int32Array(boxCount);
  const positives = new Int32Array(boxCount * levels.length);
  const bestAt: { at: AnchorAt; iou: number }[][] = [];
  for (let box = 0; box < boxCount; box++) {
    const perCell: { at: AnchorAt; iou: number }[] = [];
    let best = -1;
    levels.forEach((grid, level) => {
      for (let cellIndex = 0; cellIndex < cellCount(grid); cellIndex++) {
        const found = bestLocation(boxes, box, grid, level, cellIndex);
        perCell.push(found);
        if (found.iou > best) [best, bestLevel[box]] = [found.iou, level];
      }
    });
    bestIou[box] = best;
    bestAt.push(perCell);
  }
  // A box no anchor touches makes every anchor tie as its "best" (torchvision's low-quality rule),
  // so every anchor becomes positive: then the whole grid is scanned.
  const candidates = new Map<number, AnchorAt>();
  const addCandidate = (at: AnchorAt) => {
    const grid = levels[at.level]!;
    const indexInLevel = (at.row * grid.gridWidth + at.column) * cellCount(grid) + at.cellIndex;
    candidates.set(indexInLevel * levels.length + at.level, at);
  };
  if (bestIou.some((iou) => iou === 0)) visitEveryAnchor(levels, addCandidate);
  else
    for (let box = 0; box < boxCount; box++) {
      const threshold = Math.min(thresholds.high, bestIou[box]!);
      for (const { at, iou } of bestAt[box]!) if (iou >= threshold) visitAtLeast(boxes, box, levels[at.level]!, at, threshold, addCandidate);
    }
  for (const at of candidates.values()) {
    const anchor = anchorBox(levels[at.level]!, at);
    let [maxIou, argmax, isBestOfSomeBox] = [-1, 0, false];
    for (let box = 0; box < boxCount; box++) {
      const iou = iouWith(boxes, box, anchor);
      if (iou > maxIou) [maxIou, argmax] = [iou, box];
      if (iou === bestIou[box]) isBestOfSomeBox = true;
    }
    if (maxIou >= thresholds.high || isBestOfSomeBox) positives[argmax * levels.length + at.level]!++;
  }
  return { bestIou, bestLevel, positives };
}

function visitEveryAnchor(levels: readonly LevelGrid[], visit: (at: AnchorAt) => void): void {
  levels.forEach((grid, level) => {
    for (let row = 0; row < grid.gridHeight; row++)
      for (let column = 0; column < grid.gridWidth; column++)
        for (let cellIndex = 0; cellIndex < cellCount(grid); cellIndex++) visit({ level, row, column, cellIndex });
  });
}
