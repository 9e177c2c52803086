/**
 * Panel 1, LAB.md §1: cross-correlation of an image with an editable kernel (stride,
 * padding, dilation), and the kernel learnt back from the output by gradient descent.
 * Runs on the cpu device: small images, instant answers, whatever the training panel does.
 * A learnt kernel belongs to one output: any change of image, kernel, stride, padding or
 * dilation clears it (and stops a learning run under way), and the image selector names
 * the image shown, "your image" included.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { $, colourScale, drawMap, fileToPlanar, lineChart } from './draw';

const PRESETS: Record<string, number[][]> = {
  edge: [[1, -1]],
  blur: [[1 / 9, 1 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9], [1 / 9, 1 / 9, 1 / 9]],
  sharpen: [[0, -1, 0], [-1, 5, -1], [0, -1, 0]],
  sobel: [[1, 0, -1], [2, 0, -2], [1, 0, -1]],
  sobely: [[1, 2, 1], [0, 0, 0], [-1, -2, -1]],
};

interface Image1 {
  values: Float32Array;
  h: number;
  w: number;
}

/** LAB.md §1.3: 6×8, the middle four columns black (0), the rest white (1). */
function edgeImage(): Image1 {
  const values = new Float32Array(48);
  for (let y = 0; y < 6; y++) for (let x = 0; x < 8; x++) values[y * 8 + x] = x >= 2 && x < 6 ? 0 : 1;
  return { values, h: 6, w: 8 };
}

/** A 64×64 grey scene with straight, slanted and curved edges and a gradient. */
function shapesImage(): Image1 {
  const h = 64;
  const w = 64;
  const values = new Float32Array(h * w);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let v = 0.15 + (0.25 * x) / w;
      if (x > 8 && x < 28 && y > 30 && y < 56) v = 0.9;
      if (y <= 30 && y > 12 && Math.abs(x - 18) < y - 12) v = 0.7;
      if ((x - 46) ** 2 + (y - 22) ** 2 < 120) v = 1;
      if (x > 36 && x < 60 && y > 44 && y < 50) v = 0.05;
      values[y * w + x] = v;
    }
  }
  return { values, h, w };
}

function parseKernel(text: string): number[][] {
  const rows = text
    .trim()
    .split(/\n+/)
    .map((line) => line.trim().split(/[\s,]+/).filter(Boolean).map(Number));
  if (!rows.length || !rows[0].length) throw new Error('the kernel is empty');
  if (rows.some((r) => r.length !== rows[0].length)) throw new Error('every kernel row needs the same number of values');
  if (rows.flat().some((v) => !Number.isFinite(v))) throw new Error('the kernel holds something that is not a number');
  return rows;
}

const fmt = (v: number) => (Math.abs(v) < 5e-5 ? '0' : v.toFixed(3));
const kernelText = (k: number[][]) => k.map((r) => r.map((v) => (Number.isInteger(v) ? String(v) : v.toFixed(4))).join(' ')).join('\n');

export interface Learnt {
  kernel: number[][];
  learned: number[][];
  loss: number;
  /** The squared error relative to the output's mean square fell under CONVERGED. */
  converged: boolean;
  /** What to change when it did not, as shown under the chart. */
  hint: string | null;
}

/** Relative squared error under which the kernel counts as learnt. */
export const CONVERGED = 1e-4;

/**
 * Why a fit that has not converged stopped short: still falling (its best error over the
 * second half of the run under half its best over the first half: more steps, or a larger
 * rate), or stalled (a smaller rate: Adam's steps jump over the minimum). Halves, not the
 * last few steps, so that Adam's early oscillations do not read as a stall.
 */
export function convergenceHint(curve: readonly number[], scale: number, steps: number, lr: number): string | null {
  const last = curve[curve.length - 1];
  const rel = last / Math.max(scale, 1e-12);
  if (rel < CONVERGED) return null;
  const half = Math.max(1, Math.floor(curve.length / 2));
  const falling = Math.min(...curve.slice(half)) < 0.5 * Math.min(...curve.slice(0, half));
  const where = `not converged: squared error ${rel.toExponential(1)} of the output's mean square after ${steps} steps (learnt below ${CONVERGED})`;
  return falling
    ? `${where}, still falling: try more steps (${steps * 2}) or a larger learning rate (${+(lr * 2).toPrecision(3)})`
    : `${where}, no longer falling: try a smaller learning rate (${+(lr / 5).toPrecision(3)}) and more steps`;
}

export function convPanel(): { learn(steps?: number, lr?: number): Promise<Learnt> } {
  let image = edgeImage();
  let output: { tensor: wg.Tensor; kernel: number[][]; opts: { stride: number; padding: number; dilation: number } } | null = null;
  /** Bumped by each render: a learning run started on an older output stops and shows nothing. */
  let version = 0;

  const clearLearned = () => {
    $('conv-learned').textContent = '';
    $('conv-hint').hidden = true;
    const chart = $<HTMLCanvasElement>('conv-learn-chart');
    chart.getContext('2d')!.clearRect(0, 0, chart.width, chart.height);
  };

  const field = (id: string) => Number($<HTMLInputElement>(id).value);
  const render = () => {
    version++;
    clearLearned();
    colourScale($('conv-input-scale'), 'grey', drawMap($<HTMLCanvasElement>('conv-input'), image.values, image.h, image.w, 'grey'), 'intensity');
    $('conv-input-size').textContent = `input ${image.h}×${image.w}`;
    output?.tensor.dispose();
    output = null;
    try {
      const kernel = parseKernel($<HTMLTextAreaElement>('conv-kernel').value);
      const [kh, kw] = [kernel.length, kernel[0].length];
      const opts = { stride: field('conv-stride'), padding: field('conv-padding'), dilation: field('conv-dilation') };
      const x = wg.tensor(image.values, [1, 1, image.h, image.w], { device: 'cpu' });
      const k = wg.tensor(kernel.flat(), [1, 1, kh, kw], { device: 'cpu' });
      const y = wg.conv2d(x, k, null, opts);
      x.dispose();
      k.dispose();
      const [, , oh, ow] = y.shape;
      colourScale($('conv-output-scale'), 'diverging', drawMap($<HTMLCanvasElement>('conv-output'), y.dataSync(), oh, ow, 'diverging'), 'response');
      $('conv-output-size').textContent = `output ${oh}×${ow}`;
      const ext = (n: number) => (n - 1) * opts.dilation + 1;
      $('conv-formula').textContent =
        `O = ⌊(I − k + 2P) / S⌋ + 1, k = (n − 1)·d + 1\n` +
        `H: ⌊(${image.h} − ${ext(kh)} + 2·${opts.padding}) / ${opts.stride}⌋ + 1 = ${oh}\n` +
        `W: ⌊(${image.w} − ${ext(kw)} + 2·${opts.padding}) / ${opts.stride}⌋ + 1 = ${ow}`;
      output = { tensor: y, kernel, opts };
    } catch (err) {
      $('conv-output-size').textContent = (err as Error).message;
      $('conv-formula').textContent = '';
      const ctx = $<HTMLCanvasElement>('conv-output').getContext('2d')!;
      ctx.clearRect(0, 0, 192, 192);
      $('conv-output-scale').replaceChildren();
    }
  };

  /** LAB.md §1.4: a kernel and bias from a random start, fitted to the output by Adam on the squared error. */
  const learn = async (steps = field('conv-steps'), lr = field('conv-lr')): Promise<Learnt> => {
    if (!Number.isInteger(steps) || steps < 1) throw new Error(`steps: a positive integer, got ${steps}`);
    if (!(lr > 0)) throw new Error(`learning rate: a positive number, got ${lr}`);
    if (!output) throw new Error('no output to learn from: fix the kernel first');
    const { kernel, opts } = output;
    const started = version;
    const [kh, kw] = [kernel.length, kernel[0].length];
    const x = wg.tensor(image.values, [1, 1, image.h, image.w], { device: 'cpu' });
    // A copy: a render while learning disposes the displayed output.
    const target = output.tensor.clone();
    // The same random start each time, so that a run and its hint can be reproduced.
    wg.manualSeed(1);
    const w = wg.randn([1, 1, kh, kw], { device: 'cpu', requiresGrad: true });
    const b = wg.zeros([1], { device: 'cpu', requiresGrad: true });
    const optimizer = new nn.Adam([w, b], { lr });
    const curve: [number, number][] = [];
    const losses: number[] = [];
    const meanSquare = wg.tidy(() => target.square().mean());
    const scale = meanSquare.dataSync()[0];
    meanSquare.dispose();
    const button = $<HTMLButtonElement>('conv-learn');
    button.disabled = true;
    let loss = NaN;
    try {
      for (let step = 1; step <= steps; step++) {
        if (version !== started) throw new Error('the image or kernel changed: learning stopped');
        const l = wg.tidy(() => {
          optimizer.zeroGrad();
          const l = wg.mseLoss(wg.conv2d(x, w, b, opts), target);
          l.backward();
          optimizer.step();
          return l;
        });
        loss = l.dataSync()[0];
        l.dispose();
        losses.push(loss);
        curve.push([step, Math.log10(Math.max(loss, 1e-12))]);
        if (step % 25 === 0 || step === steps) {
          lineChart($<HTMLCanvasElement>('conv-learn-chart'), 'log10 squared error', [{ label: `step ${step}`, colour: '#2458c6', points: curve }]);
          const learned = [...w.dataSync()];
          $('conv-learned').textContent =
            `true kernel:\n${kernel.map((r) => r.map(fmt).join('  ')).join('\n')}\n` +
            `learned (bias ${fmt(b.dataSync()[0])}):\n${Array.from({ length: kh }, (_, i) => learned.slice(i * kw, (i + 1) * kw).map(fmt).join('  ')).join('\n')}`;
          await new Promise((r) => setTimeout(r, 0));
        }
      }
      const flat = [...w.dataSync()];
      const hint = convergenceHint(losses, scale, steps, lr);
      $('conv-hint').hidden = !hint;
      $('conv-hint').textContent = hint ?? '';
      return { kernel, learned: Array.from({ length: kh }, (_, i) => flat.slice(i * kw, (i + 1) * kw)), loss, converged: !hint, hint };
    } finally {
      button.disabled = false;
      optimizer.dispose();
      for (const t of [x, w, b, target]) t.dispose();
    }
  };

  const sample = $<HTMLSelectElement>('conv-sample');
  const yourOption = Array.from(sample.options).find((o) => o.value === 'file')!;
  let yourImage: Image1 | null = null;
  sample.addEventListener('change', () => {
    if (sample.value === 'file' && yourImage) image = yourImage;
    else image = sample.value === 'edge' ? edgeImage() : shapesImage();
    render();
  });
  $<HTMLInputElement>('conv-file').addEventListener('change', async (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (!file) return;
    const bitmap = await createImageBitmap(file);
    const scale = Math.min(1, 96 / Math.max(bitmap.width, bitmap.height));
    const [h, w] = [Math.max(1, Math.round(bitmap.height * scale)), Math.max(1, Math.round(bitmap.width * scale))];
    const bytes = await fileToPlanar(file, 1, h, w);
    image = yourImage = { values: Float32Array.from(bytes, (v) => v / 255), h, w };
    yourOption.hidden = false;
    yourOption.textContent = `your image: ${(file as File).name ?? 'file'}`;
    sample.value = 'file';
    render();
  });
  document.querySelectorAll<HTMLButtonElement>('#conv-panel [data-preset]').forEach((b) => {
    b.addEventListener('click', () => {
      $<HTMLTextAreaElement>('conv-kernel').value = kernelText(PRESETS[b.dataset.preset!]);
      if (b.dataset.preset !== 'edge' && image.h < 10) {
        image = shapesImage();
        sample.value = 'shapes';
      }
      render();
    });
  });
  for (const id of ['conv-kernel', 'conv-stride', 'conv-padding', 'conv-dilation']) $(id).addEventListener('input', render);
  $('conv-learn').addEventListener('click', () => void learn().catch((err: unknown) => ($('conv-learned').textContent = (err as Error).message)));
  render();
  return { learn };
}
