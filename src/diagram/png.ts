/** PNG from our SVG, rasterised by sharp (librsvg), at 1.25× the SVG's size so text stays crisp. */
import sharp from "sharp";

export const PNG_DENSITY = 120;

export function svgToPng(svg: string): Promise<Buffer> {
  return sharp(Buffer.from(svg), { density: PNG_DENSITY }).png().toBuffer();
}
