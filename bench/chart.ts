/**
 * PNG charts for the bench, rendered as the lab's report renders its charts (Vega-Lite ->
 * SVG -> PNG, examples/lab/render.ts). `writeLoopsChart` draws the loop-versus-kernel rows
 * of `npm run bench -- loops` on log scales into bench/results/<date-time>-loops.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoopCell } from './loops';
import { specToSvg, svgToPng, type Spec } from '../examples/lab/render';

/** Short axis labels of the six loop-versus-kernel rows. */
const SHORT: Record<number, string> = {
  1: 'MyConv2d (patch loop)',
  2: 'scalar loops',
  3: 'cpu im2col + GEMM',
  4: 'naive WGSL',
  5: 'WGSL im2col + matmul',
  6: 'WGSL implicit GEMM',
};

export function resultsDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), 'results');
}

const stamp = () => new Date().toISOString().replace(/[:.]/g, '-');

/** The loops chart: GFLOP/s per row and convolution, and estimated seconds per CIFAR-10 epoch, both log scale. */
export async function writeLoopsChart(cells: LoopCell[], epochs: Record<string, string | number>[], opts: { file?: string; subtitle?: string } = {}): Promise<string> {
  const label = (row: number) => `${row}. ${SHORT[row] ?? ''}`;
  const measured = cells.filter((c) => c.bothGflops !== undefined);
  if (measured.length === 0) throw new Error('no measured rows to chart');
  const order = [...new Map(cells.map((c) => [c.row, label(c.row)])).entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
  const rates = measured.flatMap((c) => [
    { method: label(c.row), conv: c.conv, pass: 'forward', gflops: c.forwardGflops, batch: c.batch },
    { method: label(c.row), conv: c.conv, pass: 'forward+backward', gflops: c.bothGflops, batch: c.batch },
  ]);
  const epochData = epochs.flatMap((e) =>
    ['N = 1', 'N = 3']
      .filter((m) => typeof e[`${m} s/epoch`] === 'number')
      .map((m) => ({ method: label(e.row as number), model: `${m} model`, seconds: e[`${m} s/epoch`] as number, text: e[m] as string })),
  );
  const axisX = { title: null, labelAngle: -25, labelLimit: 320, sort: order };
  const spec: Spec = {
    title: { text: 'webgrad: loops against kernels (3×3 convolutions of the lab’s simpleCnn)', fontSize: 16, ...(opts.subtitle ? { subtitle: opts.subtitle, subtitleFontSize: 12 } : {}) },
    config: { font: 'DejaVu Sans', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 } },
    vconcat: [
      {
        title: 'GFLOP/s, log scale (higher is faster)',
        data: { values: rates },
        facet: { column: { field: 'pass', type: 'nominal', title: null, header: { labelFontSize: 13 } } },
        spec: {
          width: 380,
          height: 260,
          mark: { type: 'bar' },
          encoding: {
            x: { field: 'method', type: 'nominal', axis: axisX, sort: order },
            xOffset: { field: 'conv', type: 'nominal', sort: cells.map((c) => c.conv) },
            y: { field: 'gflops', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'GFLOP/s' },
            color: { field: 'conv', type: 'nominal', title: 'convolution', sort: cells.map((c) => c.conv) },
          },
        },
      },
      {
        title: 'estimated seconds per CIFAR-10 epoch (forward+backward of the convolutions), log scale',
        data: { values: epochData },
        width: 800,
        height: 240,
        layer: [
          {
            mark: { type: 'bar' },
            encoding: {
              x: { field: 'method', type: 'nominal', axis: axisX, sort: order },
              xOffset: { field: 'model', type: 'nominal' },
              y: { field: 'seconds', type: 'quantitative', scale: { type: 'log' }, stack: null, title: 'seconds per epoch' },
              color: { field: 'model', type: 'nominal', title: 'model', scale: { range: ['#9467bd', '#8c564b'] } },
            },
          },
          {
            mark: { type: 'text', dy: -6, fontSize: 10 },
            encoding: {
              x: { field: 'method', type: 'nominal', sort: order },
              xOffset: { field: 'model', type: 'nominal' },
              y: { field: 'seconds', type: 'quantitative', scale: { type: 'log' }, stack: null },
              text: { field: 'text' },
            },
          },
        ],
      },
    ],
    resolve: { scale: { color: 'independent' } },
  };
  const png = await svgToPng(await specToSvg(spec));
  const out = opts.file ?? join(resultsDir(), `${stamp()}-loops.png`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, png);
  return out;
}
