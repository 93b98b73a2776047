/**
 * PNG from our SVG, rasterised by sharp (librsvg), at 1.25× the SVG's size so text stays crisp —
 * or smaller when that would pass what the rasteriser can draw: cairo's surfaces stop at 32767 px
 * a side, and sharp refuses more than 268 million pixels. A picture scaled down is worth more
 * than an error; the SVG keeps every detail.
 */
import sharp from "sharp";

export const PNG_DENSITY = 120;
export const MAX_PNG_SIDE = 32767;
const MAX_PNG_PIXELS = 268_402_689;

/** The SVG's own size, from its root element's width and height. */
function svgSize(svg: string): { width: number; height: number } {
  const root = svg.match(/<svg\b[^>]*>/)?.[0] ?? "";
  const number = (name: string) => Number(root.match(new RegExp(`\\b${name}="([\\d.]+)"`))?.[1] ?? 0);
  return { width: number("width"), height: number("height") };
}

/** How many PNG pixels per SVG unit: 120 dpi's 1.25×, or less to stay within the limits. */
export function pngScale(width: number, height: number): number {
  const wanted = PNG_DENSITY / 72;
  const bySide = MAX_PNG_SIDE / Math.max(width, height, 1);
  const byArea = Math.sqrt(MAX_PNG_PIXELS / Math.max(width * height, 1));
  return Math.min(wanted, bySide * 0.999, byArea * 0.999);
}

export async function rasterise(svg: string): Promise<{ png: Buffer; scale: number }> {
  const { width, height } = svgSize(svg);
  const scale = pngScale(width, height);
  const png = await sharp(Buffer.from(svg), { density: 72 * scale, limitInputPixels: false }).png().toBuffer();
  return { png, scale };
}

export async function svgToPng(svg: string): Promise<Buffer> {
  return (await rasterise(svg)).png;
}
