/**
 * The report's chart kinds as Vega-Lite specs: training curves, bars, grouped comparisons,
 * a confusion matrix and a plain line chart. Pure functions (data in, spec out); render.ts
 * draws them.
 */
import type { EpochRecord } from '@webgrad/nn';
import type { Spec } from './render';

export interface CurveRun {
  label: string;
  epochs: EpochRecord[];
}

/** Loss (and accuracy, where there is one) per epoch, train solid and test dashed, one colour per model. */
export function curvesChart(runs: CurveRun[], title: string): Spec {
  const rows = runs.flatMap((r) =>
    r.epochs.flatMap((e) => {
      const out: { model: string; epoch: number; split: string; metric: string; value: number }[] = [];
      const push = (split: string, metric: string, v: number | null) => {
        if (v !== null && Number.isFinite(v)) out.push({ model: r.label, epoch: e.epoch, split, metric, value: v });
      };
      push('train', 'loss', e.trainLoss);
      push('test', 'loss', e.testLoss);
      push('train', 'accuracy (%)', e.trainAccuracy === null ? null : 100 * e.trainAccuracy);
      push('test', 'accuracy (%)', e.testAccuracy === null ? null : 100 * e.testAccuracy);
      return out;
    }),
  );
  const metrics = [...new Set(rows.map((r) => r.metric))];
  const maxEpoch = Math.max(1, ...rows.map((r) => r.epoch));
  return {
    title,
    data: { values: rows },
    facet: { column: { field: 'metric', type: 'nominal', title: null, sort: metrics } },
    resolve: { scale: { y: 'independent' } },
    spec: {
      width: 300,
      height: 200,
      encoding: {
        x: { field: 'epoch', type: 'quantitative', title: 'epoch', scale: { domain: [1, maxEpoch] }, axis: countAxis(1, maxEpoch) },
        y: { field: 'value', type: 'quantitative', title: null, scale: { zero: false } },
        color: { field: 'model', type: 'nominal', title: 'model', sort: runs.map((r) => r.label) },
        tooltip: [{ field: 'model' }, { field: 'split' }, { field: 'epoch' }, { field: 'value', format: '.4f' }],
      },
      // Points in their own layer, so the legend draws train and test as solid and dashed lines.
      layer: [
        { mark: { type: 'line', strokeWidth: 2 }, encoding: { strokeDash: { field: 'split', type: 'nominal', title: 'data', sort: ['train', 'test'] } } },
        { mark: { type: 'point', filled: true, size: 30 } },
      ],
    },
  };
}

/**
 * An axis of counts (epochs, steps) with whole-number ticks only. Vega's tickMinStep still
 * places 1.5 on a 1..3 axis and format 'd' then prints "1, 2, 2, 3"; short axes get their
 * ticks listed instead, and long ones (nice ticks are integers there) a thinned list.
 */
export function countAxis(min: number, max: number): Record<string, unknown> {
  const span = Math.max(0, Math.round(max) - Math.round(min));
  const step = span <= 12 ? 1 : [2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1000].find((s) => span / s <= 10) ?? Math.ceil(span / 10);
  const first = Math.ceil(min / step) * step;
  const values = [Math.round(min), ...Array.from({ length: Math.floor((max - first) / step) + 1 }, (_, i) => first + i * step).filter((v) => v > min && v <= max)];
  return { values, format: 'd' };
}

export interface BarRow {
  label: string;
  value: number;
  /** Printed on the bar (defaults to the value). */
  text?: string;
  /** Bars of one group share a colour. */
  group?: string;
}

/** Horizontal bars with their values written at the end (seconds per epoch, accuracy per model...). */
export function barChart(rows: BarRow[], opts: { title: string; axis: string }): Spec {
  const values = rows.map((r) => ({ ...r, text: r.text ?? formatNumber(r.value), group: r.group ?? r.label }));
  const order = rows.map((r) => r.label);
  return {
    title: opts.title,
    data: { values },
    width: 460,
    height: { step: 26 },
    encoding: {
      y: { field: 'label', type: 'nominal', title: null, sort: order, axis: { labelLimit: 420 } },
      x: { field: 'value', type: 'quantitative', title: opts.axis },
    },
    layer: [
      { mark: { type: 'bar' }, encoding: { color: { field: 'group', type: 'nominal', legend: null } } },
      { mark: { type: 'text', align: 'left', dx: 4, fontSize: 11 }, encoding: { text: { field: 'text' } } },
    ],
  };
}

export interface GroupedRow {
  /** One panel per facet (e.g. the hyper-parameter, or PSNR / SSIM). */
  facet: string;
  /** The x position inside a panel (e.g. the value tried). */
  x: string;
  /** Side-by-side bars at one x (e.g. train / test). */
  series: string;
  value: number;
  /** A 95 % interval drawn as an error bar (and written beside the value). */
  low?: number;
  high?: number;
}

/**
 * Panels of grouped bars sharing nothing but the colours: hyper-parameter sweeps, PSNR and
 * SSIM. `width` fixes each panel's width (else a step per bar), so that a few panels can
 * fill a chart as wide as its title.
 */
export function groupedBars(rows: GroupedRow[], opts: { title: string; axis: string; columns?: number; seriesTitle?: string; width?: number }): Spec {
  const series = [...new Set(rows.map((r) => r.series))];
  const intervals = rows.some((r) => r.low !== undefined && r.high !== undefined);
  const grouped = rows.some((r) => rows.some((o) => o.facet === r.facet && o.x === r.x && o.series !== r.series));
  // Without grouping the x labels already name each bar: no legend.
  const bars = { mark: 'bar', encoding: { color: { field: 'series', type: 'nominal', title: opts.seriesTitle ?? null, sort: series, ...(grouped ? {} : { legend: null }) } } };
  // With error bars the value is written inside the bar's foot, where no whisker can cover it.
  const label = intervals
    ? { mark: { type: 'text', baseline: 'bottom', dy: -3, fontSize: 9, color: 'white' }, encoding: { y: { datum: 0 }, text: { field: 'text' } } }
    : { mark: { type: 'text', dy: -5, fontSize: 9 }, encoding: { text: { field: 'text' } } };
  const whiskers = { mark: { type: 'errorbar', ticks: { size: 16 }, color: '#333' }, encoding: { y: { field: 'low', type: 'quantitative', title: opts.axis }, y2: { field: 'high' } } };
  return {
    title: opts.title,
    data: { values: rows.map((r) => ({ ...r, text: formatNumber(r.value) })) },
    facet: { field: 'facet', type: 'nominal', title: null, sort: [...new Set(rows.map((r) => r.facet))] },
    columns: opts.columns ?? 4,
    resolve: { scale: { x: 'independent', y: 'independent' } },
    spec: {
      width: opts.width ?? { step: 22 * Math.max(1, series.length) },
      height: 170,
      encoding: {
        x: { field: 'x', type: 'nominal', title: null, sort: null, axis: { labelAngle: 0, labelLimit: 160 } },
        // Side by side only where an x holds several series; one series per x fills its band.
        ...(grouped ? { xOffset: { field: 'series', type: 'nominal', sort: series } } : {}),
        y: { field: 'value', type: 'quantitative', title: opts.axis },
      },
      layer: intervals ? [bars, label, whiskers] : [bars, label],
    },
  };
}

/** counts[true][predicted] as a heat map with the counts written in the cells. */
export function confusionChart(matrix: number[][], classes: string[], title: string): Spec {
  const values = matrix.flatMap((row, t) => {
    const total = row.reduce((s, v) => s + v, 0) || 1;
    return row.map((count, p) => ({ truth: classes[t], predicted: classes[p], count, share: count / total }));
  });
  return {
    title,
    data: { values },
    width: { step: 64 },
    height: { step: 48 },
    encoding: {
      x: { field: 'predicted', type: 'nominal', sort: classes, title: 'predicted', axis: { labelAngle: 0 } },
      y: { field: 'truth', type: 'nominal', sort: classes, title: 'true class' },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'share', type: 'quantitative', title: 'share of row', scale: { scheme: 'blues', domain: [0, 1] } } } },
      {
        mark: { type: 'text', fontSize: 13 },
        encoding: { text: { field: 'count' }, color: { condition: { test: 'datum.share > 0.5', value: 'white' }, value: 'black' } },
      },
    ],
  };
}

export interface Point {
  x: number;
  y: number;
  series: string;
}

/** A plain line chart (loss per step, values along a time axis...). */
/** `counts`: the x values are counts (steps, samples), ticked at whole numbers only. */
export function lineChart(points: Point[], opts: { title: string; x: string; y: string; logY?: boolean; counts?: boolean }): Spec {
  return {
    title: opts.title,
    data: { values: points },
    width: 460,
    height: 220,
    mark: { type: 'line', point: points.length <= 60 },
    encoding: {
      x: { field: 'x', type: 'quantitative', title: opts.x, ...(opts.counts ? { axis: countAxis(Math.min(...points.map((p) => p.x)), Math.max(...points.map((p) => p.x))) } : {}) },
      y: { field: 'y', type: 'quantitative', title: opts.y, ...(opts.logY ? { scale: { type: 'log' } } : { scale: { zero: false } }) },
      color: { field: 'series', type: 'nominal', title: null, sort: [...new Set(points.map((p) => p.series))] },
    },
  };
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a >= 1000) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  if (a === 0) return '0';
  return v.toPrecision(3);
}

/** Small matrices side by side as grey-scale cells with their values (X, K and Y of a convolution). */
export function matricesChart(matrices: { name: string; values: number[][] }[], title: string, opts: { text?: boolean; cell?: number; range?: [string, string] } = {}): Spec {
  const values = matrices.flatMap((m, k) =>
    m.values.flatMap((row, i) => row.map((v, j) => ({ matrix: `${k + 1}. ${m.name}`, row: i, col: j, value: v, text: formatCell(v) }))),
  );
  return {
    title,
    data: { values },
    facet: { column: { field: 'matrix', type: 'nominal', title: null, header: { labelFontSize: 12 } } },
    resolve: { scale: { x: 'independent', y: 'independent', color: 'independent' } },
    spec: {
      width: { step: opts.cell ?? 26 },
      height: { step: opts.cell ?? 26 },
      encoding: {
        x: { field: 'col', type: 'ordinal', title: null, axis: null },
        y: { field: 'row', type: 'ordinal', title: null, axis: null },
      },
      layer: [
        { mark: { type: 'rect', stroke: '#ccc' }, encoding: { color: { field: 'value', type: 'quantitative', scale: opts.range ? { range: opts.range, domainMin: 0 } : { scheme: 'greys', reverse: true }, legend: null } } },
        ...(opts.text === false ? [] : [{ mark: { type: 'text', fontSize: 10, color: '#d33' }, encoding: { text: { field: 'text' } } }]),
      ],
    },
  };
}

function formatCell(v: number): string {
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}
