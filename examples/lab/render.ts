/**
 * The lab report's chart files: the generic Vega-Lite → SVG (kept for index.html) → PNG
 * rendering lives in tools/vega-render.ts, shared with the bench.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { specToSvg, svgToPng, type Spec } from '../../tools/vega-render';

export type { Spec };

/** Writes `<name>.svg` and `<name>.png` into dir; returns both file names. */
export async function renderChart(spec: Spec, dir: string, name: string): Promise<{ svg: string; png: string }> {
  const svg = await specToSvg(spec);
  writeFileSync(join(dir, `${name}.svg`), svg);
  writeFileSync(join(dir, `${name}.png`), await svgToPng(svg));
  return { svg: `${name}.svg`, png: `${name}.png` };
}
