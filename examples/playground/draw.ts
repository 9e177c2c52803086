/** Canvas drawing for the playground: maps, images, line charts. */
import * as ds from '@webgrad/datasets';

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`playground: no element #${id}`);
  return el as T;
};

/** Paints RGBA pixels h×w onto the whole canvas, blocky (nearest neighbour). */
function paint(canvas: HTMLCanvasElement, rgba: Uint8ClampedArray<ArrayBuffer>, h: number, w: number): void {
  const off = document.createElement('canvas');
  off.width = w;
  off.height = h;
  off.getContext('2d')!.putImageData(new ImageData(rgba, w, h), 0, 0);
  const ctx = canvas.getContext('2d')!;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  const scale = Math.min(canvas.width / w, canvas.height / h);
  ctx.drawImage(off, 0, 0, w * scale, h * scale);
}

export type MapMode = 'grey' | 'diverging' | 'heat';

/** The colours of a map at t ∈ [0, 1] along its scale (diverging: 0 = −max, ½ = 0, 1 = +max; heat: 0 = never reached). */
function colourAt(mode: MapMode, t: number): [number, number, number] {
  if (mode === 'grey') return [255 * t, 255 * t, 255 * t];
  if (mode === 'heat') return t <= 0 ? [20, 22, 30] : [255 * Math.min(1, 0.3 + t), 200 * t + 40, 60 * (1 - t)];
  const u = 2 * t - 1;
  return u >= 0 ? [255, 255 * (1 - u), 255 * (1 - u)] : [255 * (1 + u), 255 * (1 + u), 255];
}

/** The values a map's colours span: [min, max] for grey, ±max |v| for diverging, [0, max] for heat. */
export interface MapRange {
  lo: number;
  hi: number;
}

/** A single-channel map: grey from min to max, diverging (blue −, white 0, red +) scaled by max |v|, or heat from 0 (dark: never reached) to max. */
export function drawMap(canvas: HTMLCanvasElement, v: ArrayLike<number>, h: number, w: number, mode: MapMode): MapRange {
  const rgba = new Uint8ClampedArray(h * w * 4);
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < h * w; i++) {
    lo = Math.min(lo, v[i]);
    hi = Math.max(hi, v[i]);
  }
  const absMax = Math.max(Math.abs(lo), Math.abs(hi)) || 1;
  const range: MapRange = mode === 'grey' ? { lo, hi } : mode === 'diverging' ? { lo: -absMax, hi: absMax } : { lo: 0, hi: Math.max(hi, 0) };
  for (let i = 0; i < h * w; i++) {
    const t = range.hi > range.lo ? (v[i] - range.lo) / (range.hi - range.lo) : mode === 'heat' ? 0 : 0.5;
    rgba.set([...colourAt(mode, t), 255], i * 4);
  }
  paint(canvas, rgba, h, w);
  return range;
}

const tick = (v: number) => (Number.isInteger(v) ? String(v) : Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)).replace('-', '−');

/**
 * A colour bar under a map: the gradient, and the values at its ends and middle. Heat maps
 * mark 0 as "never reached". `el` is emptied and filled; its text is the ticks.
 */
export function colourScale(el: HTMLElement, mode: MapMode, range: MapRange, unit = ''): void {
  const bar = document.createElement('canvas');
  bar.width = 160;
  bar.height = 10;
  const rgba = new Uint8ClampedArray(bar.width * bar.height * 4);
  for (let x = 0; x < bar.width; x++) {
    const rgb = colourAt(mode, x / (bar.width - 1));
    for (let y = 0; y < bar.height; y++) rgba.set([...rgb, 255], (y * bar.width + x) * 4);
  }
  paint(bar, rgba, bar.height, bar.width);
  const labels = document.createElement('div');
  labels.className = 'scale-ticks';
  const ends = mode === 'heat' ? [`0 (never)`, tick(range.hi / 2), tick(range.hi)] : [tick(range.lo), tick((range.lo + range.hi) / 2), tick(range.hi)];
  for (const t of ends) {
    const span = document.createElement('span');
    span.textContent = t;
    labels.append(span);
  }
  el.replaceChildren(bar, labels);
  el.title = `colour scale${unit ? ` (${unit})` : ''}: ${ends.join(' … ')}`;
  el.dataset.range = `${range.lo},${range.hi}`;
}

/** Planar bytes [c, h, w] (c = 1 or 3) as an image. */
export function drawPlanar(canvas: HTMLCanvasElement, bytes: Uint8Array, c: number, h: number, w: number): void {
  const rgba = new Uint8ClampedArray(h * w * 4);
  for (let i = 0; i < h * w; i++) {
    for (let k = 0; k < 3; k++) rgba[i * 4 + k] = bytes[(c === 3 ? k : 0) * h * w + i];
    rgba[i * 4 + 3] = 255;
  }
  paint(canvas, rgba, h, w);
}

/**
 * An image file (or any Blob) resized to h×w, as planar bytes [c, h, w] (c = 1 takes the
 * luminance). JPEG and PNG go through the datasets package's decoder and resize, so a folder
 * picked here gives the pixels `npm run lab` reads from the same files (PIL's); other formats
 * through the browser's decoder.
 */
export async function fileToPlanar(file: Blob, c: number, h: number, w: number): Promise<Uint8Array> {
  return ds.resizeToPlanar(await ds.decodeImageSource(file, c === 1 ? 'grey' : 'rgb'), h, w);
}

export interface Series {
  label: string;
  colour: string;
  /** [x, y] points. */
  points: [number, number][];
  /** Line dash, e.g. [4, 3] (default solid). */
  dash?: number[];
}

/** A line chart with axes, a title and a legend; y from the data unless fixed. */
export function lineChart(canvas: HTMLCanvasElement, title: string, series: Series[], y?: { min: number; max: number }): void {
  const ctx = canvas.getContext('2d')!;
  const W = canvas.width;
  const H = canvas.height;
  const pad = { l: 40, r: 8, t: 30, b: 18 };
  ctx.clearRect(0, 0, W, H);
  ctx.fillStyle = '#fff';
  ctx.fillRect(0, 0, W, H);
  ctx.font = '11px system-ui, sans-serif';
  ctx.fillStyle = '#222';
  ctx.fillText(title, pad.l, 12);
  // What is drawn, in words: for screen readers and tests.
  canvas.setAttribute('aria-label', `${title}: ${series.map((s) => `${s.label} (${s.points.length} points)`).join(', ')}`);
  const all = series.flatMap((s) => s.points);
  if (!all.length) return;
  const xMax = Math.max(1, ...all.map((p) => p[0]));
  let yMin = y?.min ?? Math.min(...all.map((p) => p[1]));
  let yMax = y?.max ?? Math.max(...all.map((p) => p[1]));
  if (yMax - yMin < 1e-6) [yMin, yMax] = [yMin - 0.5, yMax + 0.5];
  const X = (x: number) => pad.l + ((W - pad.l - pad.r) * x) / xMax;
  const Y = (v: number) => H - pad.b - ((H - pad.t - pad.b) * (v - yMin)) / (yMax - yMin);
  ctx.strokeStyle = '#bbb';
  ctx.beginPath();
  ctx.moveTo(pad.l, pad.t);
  ctx.lineTo(pad.l, H - pad.b);
  ctx.lineTo(W - pad.r, H - pad.b);
  ctx.stroke();
  ctx.fillStyle = '#555';
  for (const v of [yMin, (yMin + yMax) / 2, yMax]) ctx.fillText(v.toPrecision(3), 2, Y(v) + 4);
  ctx.fillText(String(Math.round(xMax)), W - pad.r - 24, H - 4);
  let legendX = pad.l + ctx.measureText(title).width + 12;
  let legendY = 12;
  for (const s of series) {
    ctx.strokeStyle = s.colour;
    ctx.lineWidth = 1.5;
    ctx.setLineDash(s.dash ?? []);
    ctx.beginPath();
    s.points.forEach(([x, v], i) => (i ? ctx.lineTo(X(x), Y(v)) : ctx.moveTo(X(x), Y(v))));
    ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = s.colour;
    // The legend wraps to a second line rather than running off the canvas.
    const width = ctx.measureText(s.label).width;
    if (legendX + width > W - pad.r) {
      legendX = pad.l + 4;
      legendY += 12;
    }
    ctx.fillText(s.label, legendX, legendY);
    legendX += width + 10;
  }
  ctx.lineWidth = 1;
}
