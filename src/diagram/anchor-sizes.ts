/**
 * The training boxes' sizes against the anchors, as one SVG: a histogram of every box's √area after
 * the spec's resize (log scale, as sizes double from level to level), each level's anchor sizes as
 * coloured lines, the fitted sizes (when they beat the spec's) as dashed ones, and the recall each reaches.
 */
import type { AnchorDataReport, RecallAt } from "../check/anchor-data.js";
import { anchorsLine, percent } from "../check/anchor-data.js";
import { FONT_FAMILY } from "./svg.js";

const WIDTH = 860;
const HEIGHT = 420;
const PLOT = { left: 64, right: 170, top: 92, bottom: 48 } as const;
const PALETTE = ["#1e88e5", "#43a047", "#ef6c00", "#8e24aa", "#00897b", "#d81b60", "#6d4c41"];
const FITTED = "#212121";
const BINS = 48;

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const round = (n: number) => Math.round(n * 10) / 10;
const recallText = (recall: readonly RecallAt[], boxes: number) => recall.map((at) => `≥ ${at.iou}: ${percent(at.boxes, boxes)}`).join(" · ");

/** Powers of two in [low, high]: the sizes anchor pyramids are made of. */
function powersOfTwo(low: number, high: number): number[] {
  const result: number[] = [];
  for (let p = 2 ** Math.ceil(Math.log2(low)); p <= high; p *= 2) result.push(p);
  return result;
}

export function anchorSizesSvg(report: AnchorDataReport, title: string): string {
  const scales = report.boxScales;
  const sizes = report.levels.flatMap((level) => level.sizes);
  const fitted = report.suggestion?.sizes.flat() ?? [];
  const all = [...scales, ...sizes, ...fitted].filter((v) => v > 0);
  const [low, high] = [Math.min(...all) / 1.25, Math.max(...all) * 1.25];
  const box = { x: PLOT.left, y: PLOT.top, width: WIDTH - PLOT.left - PLOT.right, height: HEIGHT - PLOT.top - PLOT.bottom };
  const sx = (size: number) => box.x + ((Math.log2(size) - Math.log2(low)) / (Math.log2(high) - Math.log2(low))) * box.width;
  const counts = new Array<number>(BINS).fill(0);
  for (const scale of scales) counts[Math.min(BINS - 1, Math.floor(((sx(scale) - box.x) / box.width) * BINS))]!++;
  const peak = Math.max(1, ...counts);
  const sy = (count: number) => box.y + box.height - (count / peak) * box.height;

  const parts = [
    `<text x="${PLOT.left}" y="24" font-size="16" font-weight="bold" fill="#212121">${escape(title)}</text>`,
    `<text x="${PLOT.left}" y="44" fill="#455a64">${escape(`${report.boxes.toLocaleString("en-US")} boxes of ${report.source}, resized to ${report.resize}; boxes whose best anchor reaches IoU…`)}</text>`,
    `<text x="${PLOT.left}" y="60" fill="#212121">${escape(`spec:   ${anchorsLine(report.anchors)} · ${recallText(report.anchors.recall, report.boxes)}`)}</text>`,
    `<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" fill="#fafafa" stroke="#b0bec5"/>`,
  ];
  const binWidth = box.width / BINS;
  counts.forEach((count, i) => {
    if (count > 0)
      parts.push(`<rect class="bin" x="${round(box.x + i * binWidth)}" y="${round(sy(count))}" width="${round(binWidth - 1)}" height="${round(box.y + box.height - sy(count))}" fill="#b0bec5"/>`);
  });
  for (const tick of powersOfTwo(low, high)) {
    parts.push(`<text x="${round(sx(tick))}" y="${box.y + box.height + 16}" text-anchor="middle" fill="#455a64">${tick}</text>`);
  }
  parts.push(`<text x="${box.x + box.width / 2}" y="${box.y + box.height + 34}" text-anchor="middle" fill="#455a64">box √area after resizing (px, log scale); grey: boxes, lines: anchor sizes</text>`);
  parts.push(`<text x="${box.x - 6}" y="${box.y + 4}" text-anchor="end" fill="#455a64">${peak}</text>`, `<text x="${box.x - 6}" y="${box.y + box.height}" text-anchor="end" fill="#455a64">0</text>`);

  const legendX = WIDTH - PLOT.right + 14;
  report.levels.forEach((level, i) => {
    const colour = PALETTE[i % PALETTE.length]!;
    for (const size of level.sizes)
      parts.push(`<line class="anchor" data-level="${escape(level.name)}" x1="${round(sx(size))}" x2="${round(sx(size))}" y1="${box.y}" y2="${box.y + box.height}" stroke="${colour}" stroke-width="2"/>`);
    const y = box.y + 8 + i * 18;
    parts.push(`<line x1="${legendX}" x2="${legendX + 20}" y1="${y}" y2="${y}" stroke="${colour}" stroke-width="2.5"/>`);
    parts.push(`<text x="${legendX + 26}" y="${y + 4}" fill="#212121">${escape(`${level.name} · stride ${level.stride}`)}</text>`);
  });
  const suggestion = report.suggestion;
  if (suggestion) {
    for (const size of fitted)
      parts.push(`<line class="fitted" x1="${round(sx(size))}" x2="${round(sx(size))}" y1="${box.y}" y2="${box.y + box.height}" stroke="${FITTED}" stroke-width="1.5" stroke-dasharray="5 4"/>`);
    const y = box.y + 8 + report.levels.length * 18 + 8;
    parts.push(`<line x1="${legendX}" x2="${legendX + 20}" y1="${y}" y2="${y}" stroke="${FITTED}" stroke-width="1.5" stroke-dasharray="5 4"/>`);
    parts.push(`<text x="${legendX + 26}" y="${y + 4}" fill="#212121">fitted to the data</text>`);
    parts.push(`<text x="${PLOT.left}" y="76" fill="#212121">${escape(`fitted: ${suggestion.line} · ${recallText(suggestion.recall, report.boxes)}`)}</text>`);
  }
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="${FONT_FAMILY}" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...parts,
    `</svg>`,
    "",
  ].join("\n");
}
