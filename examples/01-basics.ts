/**
 * Experiment 1 — convolution basics (LAB.md §1), no data needed: corr2d by hand, edge
 * detection, learning a kernel by back-propagation, padding and stride against the output
 * formula, multiple channels, three kinds of pooling, and 1-D and 3-D convolutions.
 *
 *   npx tsx examples/01-basics.ts [--device cpu] [--help]
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import type { Experiment, ExperimentContext } from './lab/experiment';
import { lineChart, matricesChart } from './lab/charts';
import { isMain, runAlone } from './lab/main';
import { textTable } from './lab/format';
import { MyCorr2d, corr2d } from './lab/models';

type Matrix = number[][];

function grid(rows: Matrix): string {
  const cells = rows.map((r) => r.map((v) => String(Object.is(v, -0) ? 0 : v)));
  const width = Math.max(3, ...cells.flat().map((c) => c.length)) + 1;
  return cells.map((r) => r.map((c) => c.padStart(width)).join('')).join('\n');
}
const rounded = (rows: Matrix, digits = 3) => rows.map((r) => r.map((v) => Number(v.toFixed(digits))));
async function matrix(t: wg.Tensor): Promise<Matrix> {
  return (await t.array()) as Matrix;
}
const same = (a: readonly number[], b: readonly number[]) => a.length === b.length && a.every((v, i) => v === b[i]);

async function crossCorrelation(ctx: ExperimentContext): Promise<void> {
  const X = wg.tensor([[0, 1, 2], [3, 4, 5], [6, 7, 8]]);
  const K = wg.tensor([[0, 1], [2, 3]]);
  const Y = corr2d(X, K);
  const y = await matrix(Y);
  ctx.block('1.1 corr2d: a 3×3 input and a 2×2 kernel give a 2×2 output', `X =\n${grid(await matrix(X))}\nK =\n${grid(await matrix(K))}\ncorr2d(X, K) =\n${grid(y)}   (expected 19 25 / 37 43)`);
  ctx.metric('corr2d', y);

  const layer = new MyCorr2d([2, 2]);
  const w = await matrix(layer.weight);
  ctx.block('1.2 a convolution layer around corr2d: random kernel and bias', `weight =\n${grid(rounded(w))}\nbias = ${(await layer.bias.item()).toFixed(3)}\nforward(X) has shape [${layer.forward(X).shape}]`);
}

/** The 6×8 image of LAB.md §1.3: white (1) with the middle four columns black (0). */
function edgeImage(shift = 0): wg.Tensor {
  const rows = Array.from({ length: 6 }, () => Array.from({ length: 8 }, (_, j) => (j >= 2 + shift && j < 6 + shift ? 0 : 1)));
  return wg.tensor(rows);
}

async function edges(ctx: ExperimentContext): Promise<{ X: wg.Tensor; Y: wg.Tensor }> {
  const X = edgeImage();
  const K = wg.tensor([[1, -1]]);
  const Y = corr2d(X, K);
  const [x, k, y] = await Promise.all([matrix(X), matrix(K), matrix(Y)]);
  const yt = await matrix(corr2d(X.transpose(), K));
  ctx.block(
    '1.3 edge detection with K = [1, −1]',
    `X (6×8) =\n${grid(x)}\nK = ${JSON.stringify(k[0])}\nY = corr2d(X, K) (6×7): +1 where white turns black, −1 where black turns white\n${grid(y)}\n` +
      `corr2d(Xᵀ, K) has ${yt.flat().filter((v) => v !== 0).length} non-zero values: this kernel only sees vertical edges`,
  );
  await ctx.chart('edges', 'Edge detection: X, K and Y = corr2d(X, K)', matricesChart([{ name: 'X (6×8)', values: x }, { name: 'K (1×2)', values: k }, { name: 'Y (6×7)', values: y }], 'Edge detection: X, K and Y = corr2d(X, K)'));
  return { X, Y };
}

/** LAB.md §1.4: learn K (1×2) and the bias from X and Y alone, starting from random values. */
async function learnKernel(ctx: ExperimentContext, X: wg.Tensor, Y: wg.Tensor, steps: number, lr: number): Promise<void> {
  const t0 = performance.now();
  const layer = new MyCorr2d([1, 2]);
  const start = (await layer.weight.data()).slice();
  const startBias = await layer.bias.item();
  const optimizer = new nn.SGD(layer.parameters(), { lr });
  const losses: number[] = [];
  for (let step = 0; step < steps; step++) {
    const loss = wg.tidy(() => {
      optimizer.zeroGrad();
      const l = layer.forward(X).sub(Y).square().sum();
      l.backward();
      optimizer.step();
      return l.detach();
    });
    losses.push(await loss.item());
    loss.dispose();
  }
  const kernel = Array.from(await layer.weight.data());
  const bias = await layer.bias.item();
  const seconds = (performance.now() - t0) / 1000;
  const shown = losses.map((l, i) => `step ${String(i + 1).padStart(2)}: loss ${l.toFixed(5)}`).filter((_, i) => i < 10 || (i + 1) % 5 === 0 || i === steps - 1);
  ctx.block(
    '1.4 learning the kernel by back-propagation',
    `start: K = [${Array.from(start, (v) => v.toFixed(3)).join(', ')}], b = ${startBias.toFixed(3)}; loss = Σ (corr2d(X, K) + b − Y)², SGD lr ${lr}\n${shown.join('\n')}\n` +
      `learned: K = [${kernel.map((v) => v.toFixed(4)).join(', ')}], b = ${bias.toFixed(4)} (target [1, −1], 0)`,
  );
  await ctx.chart('learn-kernel-loss', 'Learning K by back-propagation: loss per step', lineChart(losses.map((y, i) => ({ x: i + 1, y: Math.max(y, 1e-12), series: 'squared error' })), { title: 'Learning K = [1, −1] from X and Y: loss per step (log scale)', x: 'step', y: 'loss', logY: true, counts: true }));
  ctx.metric('learnedKernel', { kernel, bias, finalLoss: losses[losses.length - 1], steps, lr });
  ctx.setting('kernel learning', `${steps} steps of SGD, lr ${lr}, loss: sum of squared errors, from a random start (PyTorch's default init)`);
  ctx.headline({ model: 'corr2d kernel learning (1×2 + bias)', data: 'synthetic 6×8 image', epochs: steps, seconds, trainLoss: losses[losses.length - 1], testLoss: null, trainAccuracy: null, testAccuracy: null });
  const err = Math.max(Math.abs(kernel[0] - 1), Math.abs(kernel[1] + 1), Math.abs(bias));
  ctx.analysis(
    `Back-propagation recovered the edge kernel: from a random start the learned kernel is [${kernel.map((v) => v.toFixed(3)).join(', ')}] with bias ${bias.toFixed(3)}, ` +
      `at most ${err.toFixed(3)} from [1, −1] and 0, and the loss fell from ${losses[0].toFixed(3)} to ${losses[losses.length - 1].toExponential(2)} in ${steps} steps.`,
  );
}

interface ShapeCase {
  input: [number, number];
  kernel: [number, number];
  padding: [number, number];
  stride: [number, number];
  dilation: [number, number];
}

async function paddingAndStride(ctx: ExperimentContext): Promise<void> {
  const cases: ShapeCase[] = [
    { input: [8, 8], kernel: [3, 3], padding: [1, 1], stride: [1, 1], dilation: [1, 1] },
    { input: [8, 8], kernel: [5, 3], padding: [2, 1], stride: [1, 1], dilation: [1, 1] },
    { input: [8, 8], kernel: [3, 3], padding: [1, 1], stride: [2, 2], dilation: [1, 1] },
    { input: [8, 8], kernel: [3, 5], padding: [0, 1], stride: [3, 4], dilation: [1, 1] },
    { input: [32, 32], kernel: [3, 3], padding: [0, 0], stride: [1, 1], dilation: [2, 2] },
    { input: [26, 26], kernel: [3, 3], padding: [0, 0], stride: [1, 1], dilation: [5, 5] },
    { input: [7, 9], kernel: [2, 4], padding: [3, 2], stride: [2, 3], dilation: [3, 2] },
  ];
  const rows: (string | number)[][] = [];
  let agree = 0;
  for (const c of cases) {
    const formula = [0, 1].map((i) => nn.convOutputSize(c.input[i], c.kernel[i], c.padding[i], c.stride[i], c.dilation[i]));
    const out = wg.tidy(() => wg.conv2d(wg.zeros([1, 1, ...c.input]), wg.zeros([1, 1, ...c.kernel]), null, { padding: c.padding, stride: c.stride, dilation: c.dilation }));
    const got = out.shape.slice(2);
    out.dispose();
    const ok = same(got, formula);
    if (ok) agree++;
    const pair = (p: number[]) => p.join('×');
    rows.push([pair(c.input), pair(c.kernel), pair(c.dilation), pair(c.padding), pair(c.stride), pair(formula), pair(got), ok ? 'yes' : 'NO']);
  }
  const columns = ['input', 'kernel', 'dilation', 'padding', 'stride', '⌊(I − k + 2P)/S⌋ + 1', 'conv2d output', 'agree'];
  ctx.table({ title: '1.5 padding and stride: conv2d output sizes against O = ⌊(I − k + 2P) / S⌋ + 1, k = (n − 1)·d + 1', columns, rows });
  ctx.log(textTable(columns, rows));
  ctx.metric('shapeChecks', { agree, total: cases.length });
  ctx.analysis(`Output sizes: conv2d agreed with O = ⌊(I − k + 2P) / S⌋ + 1 (dilated extent k = (n − 1)·d + 1) in ${agree} of ${cases.length} cases, including the dilated chain 32 → 28 (d = 2) and 26 → 16 (d = 5).`);
  if (agree !== cases.length) throw new Error(`padding/stride: conv2d disagrees with the formula in ${cases.length - agree} cases`);
}

async function channels(ctx: ExperimentContext): Promise<void> {
  const X = wg.tensor([[[0, 1, 2], [3, 4, 5], [6, 7, 8]], [[1, 2, 3], [4, 5, 6], [7, 8, 9]]]);
  const K = wg.tensor([[[0, 1], [2, 3]], [[1, 2], [3, 4]]]);
  // By hand: correlate each input channel with its kernel, then sum the channels.
  const byHand = wg.tidy(() => corr2d(X.narrow(0, 0, 1).squeeze(0), K.narrow(0, 0, 1).squeeze(0)).add(corr2d(X.narrow(0, 1, 1).squeeze(0), K.narrow(0, 1, 1).squeeze(0))));
  const library = wg.conv2d(X.unsqueeze(0), K.unsqueeze(0)).squeeze(0);
  const K3 = wg.stack([K, K.add(1), K.add(2)]);
  const multiOut = wg.conv2d(X.unsqueeze(0), K3).squeeze(0);
  // A 1×1 convolution is a matrix product over the channels at every pixel.
  const K11 = wg.randn([3, 2, 1, 1]);
  const conv11 = wg.conv2d(X.unsqueeze(0), K11).reshape([3, 9]);
  const mm = wg.matmul(K11.reshape([3, 2]), X.reshape([2, 9]));
  const diff = await wg.tidy(() => conv11.sub(mm).abs().max()).item();
  const out3 = (await multiOut.array()) as Matrix[];
  ctx.block(
    '1.6 multiple input and output channels',
    `X: [${X.shape}] (2 channels), K: [${K.shape}]\nper channel, summed (corr2d by hand):\n${grid(await matrix(byHand))}\nconv2d(X, K):\n${grid((await multiOut.array() as Matrix[])[0])}\n` +
      `three output channels, K stacked with K + 1 and K + 2: kernel [${K3.shape}] → output [${multiOut.shape}]\n${out3.map((m, i) => `channel ${i}:\n${grid(m)}`).join('\n')}\n` +
      `1×1 convolution with a [3, 2, 1, 1] kernel equals the matrix product over channels: max |difference| = ${diff.toExponential(1)}\n` +
      `(library conv2d, output channel 0: ${JSON.stringify(await library.array())})`,
  );
}

async function pooling(ctx: ExperimentContext): Promise<void> {
  const X = wg.arange(9).float().reshape([1, 1, 3, 3]);
  const max = wg.maxPool2d(X, 2, { stride: 1 });
  const avg = wg.avgPool2d(X, 2, { stride: 1 });
  // A user-defined pooling: the root mean square of each window ("L2 pooling").
  const rms = wg.pool2d(X, 2, (w) => w.square().mean(2).sqrt(), { stride: 1 });
  const X4 = wg.arange(16).float().reshape([1, 1, 4, 4]);
  const padded = wg.maxPool2d(X4, 3, { padding: 1, stride: 2 });
  const sq = async (t: wg.Tensor) => grid(rounded(((await t.array()) as Matrix[][])[0][0], 2));
  // Position: the edge map of the image shifted one pixel right, before and after 2×2 max pooling.
  const edge = (shift: number) => corr2d(edgeImage(shift), wg.tensor([[1, -1]])).abs().reshape([1, 1, 6, 7]);
  const [a, b] = [edge(0), edge(1)];
  const pa = wg.maxPool2d(a, 2, { stride: 1 });
  const pb = wg.maxPool2d(b, 2, { stride: 1 });
  const overlap = async (p: wg.Tensor, q: wg.Tensor) => {
    const [u, v] = await Promise.all([p.data(), q.data()]);
    let both = 0;
    let any = 0;
    for (let i = 0; i < u.length; i++) {
      if (u[i] > 0 || v[i] > 0) any++;
      if (u[i] > 0 && v[i] > 0) both++;
    }
    return `${both} of ${any}`;
  };
  const raw = await overlap(a, b);
  const pooled = await overlap(pa, pb);
  ctx.block(
    '1.7 pooling: max, average and a user-defined (root-mean-square) pooling',
    `X =\n${await sq(X)}\nmax pool 2×2, stride 1:\n${await sq(max)}\naverage pool 2×2, stride 1:\n${await sq(avg)}\nRMS pool 2×2, stride 1 (pool2d with a custom reduction):\n${await sq(rms)}\n` +
      `4×4 input, max pool 3×3 with padding 1 and stride 2 → [${padded.shape.slice(2)}]:\n${await sq(padded)}\n` +
      `position: edge maps of the image and of the image shifted one pixel share ${raw} edge positions; after 2×2 max pooling they share ${pooled}`,
  );
  ctx.analysis(`Pooling makes the layer less sensitive to position: the edge maps of an image and of the same image shifted one pixel share ${raw} marked positions, and ${pooled} after a 2×2 max pooling.`);
}

async function convolutions1d3d(ctx: ExperimentContext): Promise<void> {
  // 1-D: a noisy periodic signal with a step; a moving average smooths it, a difference kernel finds the step.
  const L = 96;
  wg.manualSeed(ctx.seed + 1);
  const noise = await wg.randn([L], { std: 0.15 }).data();
  const signal = Array.from({ length: L }, (_, t) => Math.sin((2 * Math.PI * t) / 32) + (t >= 60 ? 1.5 : 0) + noise[t]);
  const x = wg.tensor(signal, [1, 1, L]);
  const smooth = wg.conv1d(x, wg.full([1, 1, 7], 1 / 7), null, { padding: 3 });
  const diff = wg.conv1d(smooth, wg.tensor([-0.5, 0, 0.5], [1, 1, 3]), null, { padding: 1 });
  const [s, d] = await Promise.all([smooth.data(), diff.data()]);
  let step = 0;
  for (let t = 8; t < L - 8; t++) if (d[t] > d[step] || step === 0) step = t;
  const conv1 = new nn.Conv1d(1, 4, 5, { padding: 2 });
  ctx.block(
    '1.8a conv1d on a time series',
    `signal: ${L} samples of sin(2πt/32) + 1.5·[t ≥ 60] + noise, shape [${x.shape}]\nmoving average (kernel 7 × 1/7, padding 3) → [${smooth.shape}]; difference kernel [−½, 0, ½] → [${diff.shape}]\n` +
      `the difference of the smoothed signal peaks at t = ${step} (the step is at t = 60)\nnn.Conv1d(1, 4, 5, padding 2) on it → [${conv1.forward(x).shape}]`,
  );
  const points = [
    ...signal.map((y, t) => ({ x: t, y, series: 'signal' })),
    ...Array.from(s, (y, t) => ({ x: t, y, series: 'moving average (k = 7)' })),
    ...Array.from(d, (y, t) => ({ x: t, y: 4 * y, series: '4 × difference of the average (k = 3)' })),
  ];
  await ctx.chart('conv1d', 'conv1d on a time series', lineChart(points, { title: 'conv1d on a time series: smoothing and step detection', x: 't', y: 'value', counts: true }));

  // 3-D: a 2×2 square moving one pixel right per frame; a [−1, +1] kernel along time shows the motion.
  const T = 5;
  const H = 6;
  const W = 8;
  const vol = new Float32Array(T * H * W);
  for (let t = 0; t < T; t++) for (const [i, j] of [[2, 1 + t], [2, 2 + t], [3, 1 + t], [3, 2 + t]]) vol[(t * H + i) * W + j] = 1;
  const v = wg.tensor(vol, [1, 1, T, H, W]);
  const motion = wg.conv3d(v, wg.tensor([-1, 1], [1, 1, 2, 1, 1]));
  const m = await motion.data();
  const lines: string[] = [];
  for (let t = 0; t < T - 1; t++) {
    const appear: string[] = [];
    const vanish: string[] = [];
    for (let i = 0; i < H; i++) {
      for (let j = 0; j < W; j++) {
        const val = m[(t * H + i) * W + j];
        if (val > 0) appear.push(`(${i},${j})`);
        if (val < 0) vanish.push(`(${i},${j})`);
      }
    }
    lines.push(`frames ${t}→${t + 1}: +1 at ${appear.join(' ')}, −1 at ${vanish.join(' ')}`);
  }
  const conv3 = new nn.Conv3d(1, 4, 3, { padding: 1 });
  ctx.block(
    '1.8b conv3d on a space-time volume',
    `volume [N, C, T, H, W] = [${v.shape}]: a 2×2 square moving one pixel right per frame\ntemporal kernel [−1, +1] of shape [1, 1, 2, 1, 1] → [${motion.shape}]\n${lines.join('\n')}\n` +
      `nn.Conv3d(1, 4, 3, padding 1) → [${conv3.forward(v).shape}]`,
  );
  ctx.analysis(`The same convolution works along one, two and three axes: conv1d's difference of a moving average located the step of the time series at t = ${step} (true step at 60), and conv3d's temporal kernel [−1, +1] marks where the moving square appears (+1) and leaves (−1) between frames.`);
}

export const basics: Experiment = {
  id: '01-basics',
  number: 1,
  title: 'Convolution basics',
  short: 'basics',
  summary: 'corr2d, edge detection, learning a kernel, padding/stride, channels, pooling, conv1d/conv3d (no data)',
  async run(ctx) {
    // Cheap enough to be the same in every preset. The loss is a sum over 42 outputs, so the
    // bias's gradient is 42 terms: lr 0.02 already diverges, 0.01 converges.
    const steps = 40;
    const lr = 0.01;
    ctx.setting('data', 'synthetic tensors (no data set)');
    wg.manualSeed(ctx.seed);
    await crossCorrelation(ctx);
    const { X, Y } = await edges(ctx);
    await learnKernel(ctx, X, Y, steps, lr);
    await paddingAndStride(ctx);
    await channels(ctx);
    await pooling(ctx);
    await convolutions1d3d(ctx);
  },
};

if (isMain(import.meta.url)) await runAlone(basics);
