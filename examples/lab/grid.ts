/**
 * Image grids as PNG (pngjs): rows of same-sized RGB images side by side, e.g. hazy | output
 * | clear per test photo. Pixels are enlarged by an integer factor (nearest neighbour), so
 * what the report shows is exactly what the model saw and produced.
 */
import { PNG } from 'pngjs';

/** Planar [3, height, width] floats in [0, 1]. */
export interface Planar {
  data: Float32Array;
  width: number;
  height: number;
}

export function imageGrid(rows: Planar[][], opts: { scale?: number; gap?: number } = {}): Buffer {
  const scale = opts.scale ?? 1;
  const gap = opts.gap ?? 4;
  const cellW = Math.max(...rows.flat().map((i) => i.width)) * scale;
  const cellH = Math.max(...rows.flat().map((i) => i.height)) * scale;
  const cols = Math.max(...rows.map((r) => r.length));
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
