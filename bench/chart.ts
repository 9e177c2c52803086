/**
 * PNG charts for the bench, rendered like the lab's report charts (Vega-Lite -> SVG -> PNG,
 * tools/vega-render.ts). `writeLoopsChart` draws the loop-versus-kernel rows
 * of `npm run bench -- loops` on log scales into bench/results/<date-time>-loops.png;
 * `writePeersChart` the webgrad/peer ratios of `npm run bench -- peers` into <date-time>-peers.png.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LoopCell } from './loops';
import { specToSvg, svgToPng, type Spec } from '../tools/vega-render';

/** Short axis labels of the six loop-versus-kernel rows. */
const SHORT: Record<number, string> = {
  1: 'patch loop (op per patch)',
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

/** One bar of the peers chart: webgrad's speed over a peer's on a workload (log scale; 1 = as fast). */
export interface PeerRatio {
  workload: string;
  peer: string;
  ratio: number;
}

/** The peers chart: webgrad/peer per workload and peer, log scale, with a rule at 1 (as fast). */
export async function writePeersChart(ratios: PeerRatio[], opts: { file?: string; subtitle?: string } = {}): Promise<string> {
  if (ratios.length === 0) throw new Error('no measured ratios to chart');
  const workloads = [...new Set(ratios.map((r) => r.workload))];
  const peers = [...new Set(ratios.map((r) => r.peer))];
  const spec: Spec = {
    title: { text: 'webgrad against its peers (webgrad / peer; right of 1: webgrad is faster)', fontSize: 16, ...(opts.subtitle ? { subtitle: opts.subtitle, subtitleFontSize: 12 } : {}) },
    config: { font: 'DejaVu Sans', view: { stroke: null }, axis: { labelFontSize: 11, titleFontSize: 12 }, legend: { labelFontSize: 11, titleFontSize: 12 } },
    data: { values: ratios },
    width: 640,
    height: workloads.length * peers.length * 9,
    layer: [
      {
        // Bars grow from 1 (as fast): rightwards where webgrad is faster, leftwards where slower.
        mark: { type: 'bar' },
        encoding: {
          y: { field: 'workload', type: 'nominal', sort: workloads, title: null, axis: { labelLimit: 520 } },
          yOffset: { field: 'peer', type: 'nominal', sort: peers },
          x: { field: 'ratio', type: 'quantitative', scale: { type: 'log' }, title: 'webgrad / peer, log scale' },
          x2: { datum: 1 },
          color: { field: 'peer', type: 'nominal', sort: peers, title: 'peer' },
        },
      },
      { mark: { type: 'rule', color: 'black' }, encoding: { x: { datum: 1 } } },
    ],
  };
  const png = await svgToPng(await specToSvg(spec));
  const out = opts.file ?? join(resultsDir(), `${stamp()}-peers.png`);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, png);
  return out;
}
