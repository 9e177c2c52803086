/**
 * Image grids as PNG (pngjs): rows of same-sized RGB images side by side, e.g. hazy | output
 * | clear per test photo. Pixels are enlarged by an integer factor (nearest neighbour), so
 * what the report shows is exactly what the model saw and produced.
 */
import { PNG } from 'pngjs';
import { svgToPng } from '../../tools/vega-render';

/** Planar [3, height, width] floats in [0, 1]. */
export interface Planar {
  data: Float32Array;
  width: number;
  height: number;
}

function layout(rows: Planar[][], opts: { scale?: number; gap?: number }) {
  const scale = opts.scale ?? 1;
  const gap = opts.gap ?? 4;
  const cellW = Math.max(...rows.flat().map((i) => i.width)) * scale;
  const cellH = Math.max(...rows.flat().map((i) => i.height)) * scale;
  const cols = Math.max(...rows.map((r) => r.length));
  return { scale, gap, cellW, cellH, cols };
}

export function imageGrid(rows: Planar[][], opts: { scale?: number; gap?: number } = {}): Buffer {
  const { scale, gap, cellW, cellH, cols } = layout(rows, opts);
  const png = new PNG({ width: cols * cellW + (cols + 1) * gap, height: rows.length * cellH + (rows.length + 1) * gap });
  png.data.fill(255);
  rows.forEach((row, r) =>
    row.forEach((img, c) => {
      const x0 = gap + c * (cellW + gap);
      const y0 = gap + r * (cellH + gap);
      const plane = img.width * img.height;
      for (let y = 0; y < img.height * scale; y++) {
        for (let x = 0; x < img.width * scale; x++) {
          const src = Math.floor(y / scale) * img.width + Math.floor(x / scale);
          const dst = ((y0 + y) * png.width + x0 + x) * 4;
          for (let ch = 0; ch < 3; ch++) png.data[dst + ch] = Math.round(255 * Math.min(1, Math.max(0, img.data[ch * plane + src])));
          png.data[dst + 3] = 255;
        }
      }
    }),
  );
  return PNG.sync.write(png);
}

const xmlEscape = (t: string) => t.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/**
 * The grid with a title above each column, drawn into the PNG itself (the grid travels
 * without the report's captions: a PNG opened alone still says which column is which).
 * The pixels stay exact: the grid is placed unscaled at whole-pixel offsets.
 */
export async function titledImageGrid(rows: Planar[][], titles: string[], opts: { scale?: number; gap?: number } = {}): Promise<Buffer> {
  const { gap, cellW, cols } = layout(rows, opts);
  if (titles.length !== cols) throw new Error(`titledImageGrid: ${titles.length} titles for ${cols} columns`);
  const grid = imageGrid(rows, opts);
  const { width, height } = PNG.sync.read(grid);
  const band = 26;
  const font = Math.min(15, Math.max(10, Math.floor(cellW / 12)));
  const texts = titles.map(
    (t, c) => `<text x="${gap + c * (cellW + gap) + cellW / 2}" y="${band - 8}" text-anchor="middle" font-family="DejaVu Sans, sans-serif" font-size="${font}" font-weight="bold" fill="#222">${xmlEscape(t)}</text>`,
  );
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height + band}"><rect width="100%" height="100%" fill="white"/>${texts.join('')}<image x="0" y="${band}" width="${width}" height="${height}" image-rendering="optimizeSpeed" href="data:image/png;base64,${grid.toString('base64')}"/></svg>`;
  return svgToPng(svg, 1);
}
