/**
 * Experiment 9 — photo dehazing (LAB.md §5): a small fully convolutional network (DehazeNet:
 * dilated 3×3 convolutions predicting the haze residual) learns hazy → clear on SOTS-indoor
 * pairs, split by scene. It reports PSNR and SSIM of its output against the clear image on
 * the test scenes, beside the hazy input's own PSNR/SSIM (the baseline to beat), and image
 * grids hazy | output | clear.
 *
 *   npx tsx examples/09-dehaze.ts [--quick | --full] [--help]
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import type { Experiment } from './lab/experiment';
import { dehazeNet } from './lab/models';
import { isMain, runAlone } from './lab/main';
import { bySize } from './lab/presets';
import type * as ds from '@webgrad/datasets';
import { loadDehaze } from './lab/sets';
import { batches, planarFloats } from './lab/images';
import { trainRun } from './lab/train';
import { curvesChart, groupedBars } from './lab/charts';
import { titledImageGrid } from './lab/grid';
import { type MeanInterval, meanInterval, side } from './lab/stats';
import { duration, int, num } from './lab/format';

const SIZES = {
  quick: { width: 32, height: 24, levelsPerScene: 1, trainScenes: 8, testScenes: 4, epochs: 2, channels: 8, batchSize: 4 },
  default: { width: 64, height: 48, levelsPerScene: 3, trainScenes: Infinity, testScenes: Infinity, epochs: 4, channels: 12, batchSize: 8 },
  full: { width: 310, height: 230, levelsPerScene: Infinity, trainScenes: Infinity, testScenes: Infinity, epochs: 50, channels: 24, batchSize: 8 },
};
const LR = 1e-3;
const DILATIONS = [1, 2, 5, 1];
const GRID_PHOTOS = 4;

interface Quality {
  psnr: number;
  ssim: number;
}

/** Per test image: PSNR and SSIM of the model's output and of the hazy input, against the clear image. */
interface PerImage {
  output: Quality[];
  hazy: Quality[];
}

const mean = (qs: Quality[]): Quality => ({ psnr: qs.reduce((s, q) => s + q.psnr, 0) / Math.max(1, qs.length), ssim: qs.reduce((s, q) => s + q.ssim, 0) / Math.max(1, qs.length) });

/** PSNR and SSIM per image of a split, for the model's output (clamped to [0, 1]) and for the hazy input itself. */
async function quality(model: nn.Module, split: ds.PairSet): Promise<{ output: Quality; hazy: Quality; perImage: PerImage; outputs: Float32Array }> {
  const perImage: PerImage = { output: [], hazy: [] };
  const outputs = new Float32Array(split.count * split.channels * split.height * split.width);
  const window = Math.min(11, split.height, split.width);
  let offset = 0;
  model.eval();
  for await (const { x, y } of batches({ train: split, test: split }, 'test', 8)) {
    const n = x.shape[0];
    // One image at a time: the gain over the hazy input is a paired difference per image.
    const [out, stats] = wg.tidy(() =>
      wg.noGrad(() => {
        const o = model.forward(x).clamp(0, 1);
        const one = (t: wg.Tensor, i: number) => t.narrow(0, i, 1);
        const rows = Array.from({ length: n }, (_, i) => wg.stack([nn.psnr(one(o, i), one(y, i)), nn.ssim(one(o, i), one(y, i), { windowSize: window }), nn.psnr(one(x, i), one(y, i)), nn.ssim(one(x, i), one(y, i), { windowSize: window })]));
        return [o, wg.stack(rows)];
      }),
    );
    const v = await stats.data();
    outputs.set(await out.data(), offset);
    offset += out.size;
    for (let i = 0; i < n; i++) {
      perImage.output.push({ psnr: v[4 * i], ssim: v[4 * i + 1] });
      perImage.hazy.push({ psnr: v[4 * i + 2], ssim: v[4 * i + 3] });
    }
    for (const t of [out, stats, x, y]) t.dispose();
  }
  model.train();
  return { output: mean(perImage.output), hazy: mean(perImage.hazy), perImage, outputs };
}

/** The output's gain over the hazy input, per image, with its 95 % t interval. */
function gains(p: PerImage): { psnr: MeanInterval; ssim: MeanInterval } {
  return { psnr: meanInterval(p.output.map((o, i) => o.psnr - p.hazy[i].psnr)), ssim: meanInterval(p.output.map((o, i) => o.ssim - p.hazy[i].ssim)) };
}

export const dehaze: Experiment = {
  id: '09-dehaze',
  number: 9,
  title: 'Photo dehazing: PSNR and SSIM against the hazy baseline',
  short: 'dehazing',
  summary: 'a dilated fully convolutional network hazy → clear, split by scene, with image grids',
  async run(ctx) {
    const s = bySize(ctx.preset, SIZES);
    const set = await loadDehaze(ctx, { ...s, testPercent: 20 });
    const { width: w, height: h } = set;
    ctx.setting('data', set.description);
    ctx.setting('train / test pairs', `${int(set.train.count)} / ${int(set.test.count)} (${set.train.scenes.length} / ${set.test.scenes.length} scenes)`);
    ctx.setting('epochs', s.epochs);
    ctx.setting('batch size', s.batchSize);
    ctx.setting('learning rate', LR);
    ctx.setting('optimizer', 'Adam (β 0.9, 0.999)');
    ctx.setting('loss', 'mean squared error between the output and the clear image');
    const model = dehazeNet({ channels: s.channels, dilations: DILATIONS });
    ctx.setting('model', `DehazeNet: 3×3 conv → ${DILATIONS.map((d) => `3×3 conv d${d}`).join(' → ')} (ReLU, ${s.channels} channels, reflect padding) → 3×3 conv to RGB, added to the input (predicts the haze residual); ${int(model.numParameters())} parameters`);
    ctx.setting('metrics', 'PSNR (dB, peak 1) and SSIM (11×11 Gaussian window, σ 1.5), per image, averaged over the test pairs; the output is clamped to [0, 1]');

    const run = await trainRun(ctx, {
      key: 'dehazenet',
      label: 'DehazeNet',
      model,
      optimizer: new nn.Adam(model.parameters(), { lr: LR }),
      train: batches(set, 'train', s.batchSize, { seed: ctx.seed }),
      test: batches(set, 'test', s.batchSize),
      loss: (o, t) => wg.mseLoss(o, t),
      epochs: s.epochs,
      batchSize: s.batchSize,
      trainCount: set.train.count,
      testCount: set.test.count,
    });
    const q = await quality(model, set.test);
    const gain = gains(q.perImage);
    run.extra = { psnr: q.output.psnr, ssim: q.output.ssim, hazyPsnr: q.hazy.psnr, hazySsim: q.hazy.ssim };
    ctx.metric('quality', { output: q.output, hazyInput: q.hazy, testPairs: set.test.count, gain });

    await ctx.chart('curves', 'Loss per epoch', curvesChart([{ label: run.label, epochs: run.epochs }], `DehazeNet: MSE per epoch (${w}×${h})`));
    const spread = (qs: Quality[], key: keyof Quality) => meanInterval(qs.map((v) => v[key]));
    const bar = (facet: string, key: keyof Quality) =>
      (['hazy input', 'model output'] as const).map((series) => {
        const m = spread(series === 'hazy input' ? q.perImage.hazy : q.perImage.output, key);
        return { facet, x: series, series, value: m.mean, low: m.low, high: m.high };
      });
    await ctx.chart('quality', 'PSNR and SSIM', groupedBars([...bar('PSNR (dB)', 'psnr'), ...bar('SSIM', 'ssim')], {
      title: 'Against the clear image: the hazy input (baseline) and the model output',
      axis: 'mean over the test pairs',
      columns: 2,
      width: 300,
    }), `Means over the ${set.test.count} test pairs; whiskers: 95 % t intervals of the mean over images.`);

    // One photo per test scene (the first ones), so the grid shows different rooms.
    const t = set.test;
    const picks: number[] = [];
    for (let i = 0; i < t.count && picks.length < GRID_PHOTOS; i++) if (!picks.some((p) => t.targetOf[p] === t.targetOf[i])) picks.push(i);
    for (let i = 0; picks.length < Math.min(GRID_PHOTOS, t.count); i++) if (!picks.includes(i)) picks.push(i);
    const per = 3 * w * h;
    const planar = (data: Float32Array) => ({ data, width: w, height: h });
    const scale = Math.max(1, Math.round(240 / w));
    const name = (i: number) => (t.files?.[i] ?? `pair ${i}`).split('/').pop();
    ctx.image('grid', 'Hazy | output | clear', await titledImageGrid(picks.map((i) => [
      planar(planarFloats(t.inputs, i, 3, h, w)),
      planar(q.outputs.subarray(i * per, (i + 1) * per)),
      planar(planarFloats(t.targets, t.targetOf[i], 3, h, w)),
    ]), ['hazy input', 'model output', 'clear ground truth'], { scale }),
      `Test photos ${picks.map(name).join(', ')}; columns: hazy input | model output | clear ground truth, at the ${w}×${h} the model works at, enlarged ${scale}×.`);

    const e = run.epochs[run.epochs.length - 1];
    ctx.headline({ model: 'hazy input (baseline)', data: `SOTS test scenes (${set.test.count} pairs)`, epochs: 0, seconds: 0, trainLoss: null, testLoss: null, trainAccuracy: null, testAccuracy: null, psnr: q.hazy.psnr, ssim: q.hazy.ssim });
    ctx.headline({ model: run.label, data: `SOTS ${set.train.count} / ${set.test.count} pairs`, epochs: run.epochs.length, seconds: run.wallSeconds, trainLoss: e.trainLoss, testLoss: e.testLoss, trainAccuracy: null, testAccuracy: null, psnr: q.output.psnr, ssim: q.output.ssim });
    const db = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(2)} dB`;
    const ss = (v: number) => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;
    const verdict = (m: MeanInterval, fmt: (v: number) => string) =>
      `${fmt(m.mean)} (95 % CI ${fmt(m.low)} to ${fmt(m.high)}), ${{ above: 'better than the hazy input beyond the noise', below: 'worse than the hazy input beyond the noise', across: 'which this run cannot tell from no change' }[side(m, 0)]}`;
    ctx.analysis(
      `On the ${set.test.count} test pairs (scenes never seen in training) the model's output scores PSNR ${num(q.output.psnr, 2)} dB and SSIM ${num(q.output.ssim, 3)}, against ${num(q.hazy.psnr, 2)} dB and ${num(q.hazy.ssim, 3)} for the hazy input itself, after ${run.epochs.length} epochs (${duration(run.wallSeconds)}). ` +
        `Per image, the gain over the hazy input is PSNR ${verdict(gain.psnr, db)}, and SSIM ${verdict(gain.ssim, ss)}` +
        `${set.test.count > set.test.scenes.length ? ` (the ${set.test.count} hazy images come from ${set.test.scenes.length} scenes and are not fully independent, so the intervals are somewhat optimistic)` : ''}.`,
    );
    ctx.analysis(
      e.testLoss !== null && e.testLoss > e.trainLoss * 1.5
        ? `The test MSE (${num(e.testLoss)}) is well above the training MSE (${num(e.trainLoss)}): with ${set.train.scenes.length} training scenes the network starts to fit its rooms rather than haze.`
        : `The test MSE (${num(e.testLoss)}) stays close to the training MSE (${num(e.trainLoss)}): no over-fitting to the ${set.train.scenes.length} training scenes yet; more epochs and resolution are where this model would gain.`,
    );
  },
};

if (isMain(import.meta.url)) await runAlone(dehaze);
