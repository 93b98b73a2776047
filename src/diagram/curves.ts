/**
 * A training run's curves as one SVG: loss parts per step, learning rate per step, and AP/AP50 per
 * evaluation, each a small line chart with its own axes and legend, stacked top to bottom.
 */
import type { MetricsRecord } from "../train/metrics-log.js";
import { FONT_FAMILY } from "./svg.js";

interface Series {
  readonly name: string;
  readonly colour: string;
  readonly points: readonly (readonly [number, number])[];
}

interface Chart {
  readonly title: string;
  readonly series: readonly Series[];
}

const WIDTH = 760;
const CHART_HEIGHT = 240;
const PLOT = { left: 64, right: 170, top: 34, bottom: 40 } as const;
const PALETTE = ["#212121", "#1e88e5", "#43a047", "#ef6c00", "#8e24aa", "#00897b", "#d81b60"];

const escape = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const round = (n: number) => Math.round(n * 10) / 10;

/** 1, 2 or 5 times a power of ten: ticks a reader can add up. */
function niceStep(span: number, count: number): number {
  const raw = span / count;
  const power = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * power).find((step) => step >= raw)!;
}

function ticks(min: number, max: number): number[] {
  const step = niceStep(max - min, 5);
  const result: number[] = [];
  for (let t = Math.ceil(min / step) * step; t <= max + step * 1e-9; t += step) result.push(Number(t.toPrecision(12)));
  return result;
}

const tickText = (value: number) => (Math.abs(value) >= 1e4 || (value !== 0 && Math.abs(value) < 1e-3) ? value.toExponential(0) : String(value));

function chartSvg(chart: Chart, top: number): string {
  const all = chart.series.flatMap((s) => s.points);
  const box = { x: PLOT.left, y: top + PLOT.top, width: WIDTH - PLOT.left - PLOT.right, height: CHART_HEIGHT - PLOT.top - PLOT.bottom };
  const parts = [`<text x="${PLOT.left}" y="${top + 20}" font-size="14" font-weight="bold" fill="#212121">${escape(chart.title)}</text>`];
  parts.push(`<rect x="${box.x}" y="${box.y}" width="${box.width}" height="${box.height}" fill="#fafafa" stroke="#b0bec5"/>`);
  if (all.length === 0) {
    parts.push(`<text x="${box.x + box.width / 2}" y="${box.y + box.height / 2}" text-anchor="middle" fill="#78909c">no records yet</text>`);
    return parts.join("");
  }
  const xs = all.map((p) => p[0]);
  const ys = all.map((p) => p[1]);
  let [xMin, xMax] = [Math.min(...xs), Math.max(...xs)];
  let [yMin, yMax] = [Math.min(0, ...ys), Math.max(...ys)];
  if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1];
  if (yMax === yMin) yMax = yMin + 1;
  const xTicks = ticks(xMin, xMax);
  const yTicks = ticks(yMin, yMax);
  yMax = Math.max(yMax, yTicks[yTicks.length - 1]!);
  const sx = (x: number) => box.x + ((x - xMin) / (xMax - xMin)) * box.width;
  const sy = (y: number) => box.y + box.height - ((y - yMin) / (yMax - yMin)) * box.height;

  for (const t of yTicks) {
    parts.push(`<line x1="${box.x}" x2="${box.x + box.width}" y1="${round(sy(t))}" y2="${round(sy(t))}" stroke="#eceff1"/>`);
    parts.push(`<text x="${box.x - 6}" y="${round(sy(t) + 4)}" text-anchor="end" fill="#455a64">${tickText(t)}</text>`);
  }
  for (const t of xTicks) parts.push(`<text x="${round(sx(t))}" y="${box.y + box.height + 16}" text-anchor="middle" fill="#455a64">${tickText(t)}</text>`);
  parts.push(`<text x="${box.x + box.width / 2}" y="${box.y + box.height + 32}" text-anchor="middle" fill="#455a64">step</text>`);

  chart.series.forEach((series, i) => {
    if (series.points.length === 0) return;
    const path = series.points.map(([x, y], j) => `${j === 0 ? "M" : "L"}${round(sx(x))} ${round(sy(y))}`).join(" ");
    parts.push(`<path class="series" data-name="${escape(series.name)}" d="${path}" fill="none" stroke="${series.colour}" stroke-width="1.6"/>`);
    // Evaluations are few: mark each one so a single point still shows.
    if (series.points.length <= 12)
      for (const [x, y] of series.points) parts.push(`<circle cx="${round(sx(x))}" cy="${round(sy(y))}" r="2.5" fill="${series.colour}"/>`);
    const legendY = box.y + 8 + i * 18;
    parts.push(`<line x1="${WIDTH - PLOT.right + 14}" x2="${WIDTH - PLOT.right + 34}" y1="${legendY}" y2="${legendY}" stroke="${series.colour}" stroke-width="2.5"/>`);
    parts.push(`<text x="${WIDTH - PLOT.right + 40}" y="${legendY + 4}" fill="#212121">${escape(series.name)}</text>`);
  });
  return parts.join("");
}

function charts(records: readonly MetricsRecord[]): Chart[] {
  const steps = records.filter((r) => r.type === "step");
  const evals = records.filter((r) => r.type === "eval");
  const lossNames = ["loss", ...new Set(steps.flatMap((s) => Object.keys(s.losses)))];
  const lossValue = (record: (typeof steps)[number], name: string) => (name === "loss" ? record.loss : record.losses[name]);
  const lossSeries = lossNames.map((name, i) => ({
    name,
    colour: PALETTE[i % PALETTE.length]!,
    points: steps.flatMap((s) => {
      const value = lossValue(s, name);
      return value === undefined ? [] : [[s.step, value] as const];
    }),
  }));
  const metric = (name: string, colour: string): Series => ({
    name,
    colour,
    points: evals.flatMap((e) => (typeof e[name] === "number" ? [[e.step, e[name]] as const] : [])),
  });
  return [
    { title: "losses per step", series: lossSeries },
    { title: "learning rate per step", series: [{ name: "lr", colour: PALETTE[1]!, points: steps.map((s) => [s.step, s.lr] as const) }] },
    { title: "COCO AP per evaluation", series: [metric("AP", PALETTE[0]!), metric("AP50", PALETTE[3]!)] },
  ];
}

export function curvesSvg(records: readonly MetricsRecord[], title: string): string {
  const top = 36;
  const list = charts(records);
  const height = top + list.length * CHART_HEIGHT + 10;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="${FONT_FAMILY}" font-size="11">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${PLOT.left}" y="24" font-size="16" font-weight="bold" fill="#212121">${escape(title)}</text>`,
    ...list.map((chart, i) => chartSvg(chart, top + i * CHART_HEIGHT)),
    `</svg>`,
    "",
  ].join("\n");
}
