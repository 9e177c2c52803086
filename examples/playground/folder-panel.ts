/**
 * Panel 4, LAB.md §4–§5: a folder the user picks. Class subfolders (the vehicle photos)
 * become panel 2's data, so any model of its picker trains on them; hazy/ and clear/ pairs
 * train the lab's dehazing network (DehazeNet: dilated 3×3 convolutions predicting the haze
 * residual) here, with train and test loss, the test PSNR beside the hazy input's own (the
 * baseline to beat), and test scenes shown hazy | network | clear. The files are decoded in
 * the page, by the datasets package's decoder and resize (the pixels `npm run lab` reads from
 * the same folder); nothing is uploaded.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { dehazeNet } from '../lab/models';
import { type ImageData8, epochOrder } from './core';
import { $, drawPlanar, fileToPlanar, lineChart } from './draw';
import { type FolderPlan, type PairsPlan, planFolder } from './folder';
import type { trainPanel } from './train-panel';

const DEHAZE = { channels: 8, dilations: [1, 2, 5, 1], lr: 1e-3, batchSize: 4, levelsPerScene: 2, preview: 3 };

/** Decodes files to planar RGB bytes at size×size, a few at a time. */
async function decodeAll(files: readonly Blob[], size: number, onProgress: (done: number) => void): Promise<Uint8Array> {
  const each = 3 * size * size;
  const out = new Uint8Array(files.length * each);
  for (let at = 0; at < files.length; at += 16) {
    const part = files.slice(at, at + 16);
    const decoded = await Promise.all(
      part.map((f) => fileToPlanar(f, 3, size, size).catch((err: unknown) => {
        throw new Error(`${(f as File).webkitRelativePath || (f as File).name}: cannot decode (${(err as Error).message})`);
      })),
    );
    decoded.forEach((bytes, i) => out.set(bytes, (at + i) * each));
    onProgress(at + part.length);
  }
  return out;
}

const toFloats = (bytes: Uint8Array) => Float32Array.from(bytes, (v) => v / 255);

interface Pairs {
  size: number;
  trainHazy: Uint8Array;
  trainClear: Uint8Array;
  testHazy: Uint8Array;
  testClear: Uint8Array;
  trainCount: number;
  testCount: number;
}

export function folderPanel(train: ReturnType<typeof trainPanel>) {
  const status = (text: string, bad = false) => {
    $('folder-status').textContent = text;
    $('folder-status').className = bad ? 'small bad' : 'small';
  };
  const field = (id: string) => {
    const v = Number($<HTMLInputElement>(id).value);
    if (!Number.isInteger(v) || v < 1) throw new Error(`${id.replace('folder-', '')}: a positive integer, got ${$<HTMLInputElement>(id).value}`);
    return v;
  };

  let pairs: Pairs | null = null;
  /** The last class folder's data, as panel 2 got it. */
  let classes: ImageData8 | null = null;
  let running = false;
  let stopRequested = false;

  /** Class folders: decoded and handed to panel 2. */
  const useClasses = async (plan: Extract<FolderPlan<File>, { kind: 'classes' }>, size: number): Promise<ImageData8> => {
    const files = [...plan.train, ...plan.test];
    const pixels = await decodeAll(files.map((f) => f.file), size, (n) => status(`decoding ${n} of ${files.length} images…`));
    const perClass = (list: { label: number }[]) => plan.classes.map((c, i) => `${c} ${list.filter((e) => e.label === i).length}`).join(', ');
    const data: ImageData8 = {
      meta: {
        name: `${plan.root} (your folder)`,
        source: `your folder ${plan.root}: train ${perClass(plan.train)}; test (the last 25 % of each class) ${perClass(plan.test)}`,
        fallback: null,
        classes: plan.classes,
        channels: 3,
        height: size,
        width: size,
        trainCount: plan.train.length,
        testCount: plan.test.length,
      },
      pixels,
      labels: Uint8Array.from(files, (f) => f.label),
    };
    await train.setData(data);
    status(`${plan.root}: ${plan.classes.length} classes, ${plan.train.length} train / ${plan.test.length} test images at ${size}×${size}, now panel 2's data${plan.skipped.length ? `; ${plan.skipped.length} files skipped (first: ${plan.skipped[0]})` : ''}`);
    return data;
  };

  /** Dehazing pairs: decoded and kept here for the dehazing network. */
  const usePairs = async (plan: PairsPlan<File>, size: number): Promise<Pairs> => {
    const all = [...plan.train, ...plan.test];
    const files = [...all.map((p) => p.hazy), ...all.map((p) => p.clear)];
    const pixels = await decodeAll(files, size, (n) => status(`decoding ${n} of ${files.length} images…`));
    const each = 3 * size * size;
    const n = all.length;
    const hazy = pixels.subarray(0, n * each);
    const clear = pixels.subarray(n * each);
    const t = plan.train.length;
    pairs = {
      size, trainCount: t, testCount: n - t,
      trainHazy: hazy.subarray(0, t * each), trainClear: clear.subarray(0, t * each),
      testHazy: hazy.subarray(t * each), testClear: clear.subarray(t * each),
    };
    $('dehaze-box').hidden = false;
    $('dehaze-preview-box').hidden = false;
    const scenes = (list: { scene: string }[]) => {
      const n = new Set(list.map((p) => p.scene)).size;
      return `${n} scene${n === 1 ? '' : 's'}`;
    };
    status(`${plan.root}: dehazing pairs, ${t} train (${scenes(plan.train)}) / ${n - t} test (${scenes(plan.test)}, the last 20 %) at ${size}×${size}, up to ${DEHAZE.levelsPerScene} haze levels per scene${plan.skipped.length ? `; ${plan.skipped.length} files skipped (first: ${plan.skipped[0]})` : ''}`);
    return pairs;
  };

  const pick = async (files: File[]) => {
    const size = field('folder-size');
    const perClass = field('folder-per-class');
    const plan = planFolder(files, { trainPerClass: perClass, testPerClass: Math.max(1, Math.ceil(perClass / 3)), levelsPerScene: DEHAZE.levelsPerScene });
    if (plan.kind === 'classes') return { kind: plan.kind, data: (classes = await useClasses(plan, size)) };
    return { kind: plan.kind, pairs: await usePairs(plan, size) };
  };

  /** The lab's DehazeNet trained on the pairs for `steps` steps (or until stopped); evaluated on the test scenes at the end. */
  const dehaze = async (steps = Infinity) => {
    if (!pairs) throw new Error('pick a folder with hazy/ and clear/ first');
    if (running) throw new Error('already training');
    const p = pairs;
    const device = train.device() ?? 'cpu';
    const shape = (n: number) => [n, 3, p.size, p.size];
    const each = 3 * p.size * p.size;
    wg.manualSeed(0);
    // On the default device, which panel 2's useDevice set.
    const model = dehazeNet({ channels: DEHAZE.channels, dilations: DEHAZE.dilations });
    const optimizer = new nn.Adam(model.parameters(), { lr: DEHAZE.lr });
    const losses: [number, number][] = [];
    const testLosses: [number, number][] = [];
    const psnrs: [number, number][] = [];
    const baseline: [number, number][] = [];
    const batch = (hazy: Uint8Array, clear: Uint8Array, idx: number[]) => {
      const pick8 = (src: Uint8Array) => {
        const out = new Uint8Array(idx.length * each);
        idx.forEach((i, k) => out.set(src.subarray(i * each, (i + 1) * each), k * each));
        return toFloats(out);
      };
      return { x: wg.tensor(pick8(hazy), shape(idx.length), { device }), y: wg.tensor(pick8(clear), shape(idx.length), { device }) };
    };
    const draw = () => {
      const smooth = losses.map(([s], i) => [s, losses.slice(Math.max(0, i - 9), i + 1).reduce((a, q) => a + q[1], 0) / Math.min(i + 1, 10)] as [number, number]);
      lineChart($<HTMLCanvasElement>('dehaze-loss'), 'squared error', [
        { label: 'train (mean of 10)', colour: '#2458c6', points: smooth },
        { label: 'test', colour: '#d2691e', points: testLosses },
      ]);
      lineChart($<HTMLCanvasElement>('dehaze-psnr'), 'test PSNR (dB)', [
        { label: 'network output', colour: '#d2691e', points: psnrs },
        { label: 'hazy input (baseline)', colour: '#888', points: baseline, dash: [4, 3] },
      ]);
    };
    const evaluate = async (step: number) => {
      const idx = Array.from({ length: p.testCount }, (_, i) => i);
      const { x, y } = batch(p.testHazy, p.testClear, idx);
      model.eval();
      const out = wg.noGrad(() => model.forward(x).clamp(0, 1));
      model.train();
      // PSNR per image, averaged (nn.psnr), of the output and of the hazy input against the clear image.
      const stats = wg.tidy(() => wg.stack([wg.mseLoss(out, y), nn.psnr(out, y), nn.psnr(x, y)]));
      const [loss, psnr, hazyPsnr] = await stats.data();
      const shown = await out.data();
      for (const t of [x, y, out, stats]) t.dispose();
      testLosses.push([step, loss]);
      psnrs.push([step, psnr]);
      baseline.push([step, hazyPsnr]);
      $('dehaze-test').textContent = `test scenes after ${step} steps: PSNR ${psnr.toFixed(2)} dB (hazy input ${hazyPsnr.toFixed(2)} dB), squared error ${loss.toFixed(4)}`;
      const preview = $('dehaze-preview');
      preview.replaceChildren();
      for (let i = 0; i < Math.min(DEHAZE.preview, p.testCount); i++) {
        const row = document.createElement('div');
        for (const bytes of [p.testHazy.subarray(i * each, (i + 1) * each), Uint8Array.from(shown.subarray(i * each, (i + 1) * each), (f) => Math.round(255 * f)), p.testClear.subarray(i * each, (i + 1) * each)]) {
          const c = document.createElement('canvas');
          c.width = c.height = 96;
          drawPlanar(c, bytes, 3, p.size, p.size);
          row.append(c);
        }
        preview.append(row);
      }
      draw();
      return { psnr, hazyPsnr, loss };
    };
    running = true;
    stopRequested = false;
    $<HTMLButtonElement>('dehaze-start').disabled = true;
    $<HTMLButtonElement>('dehaze-stop').disabled = false;
    let step = 0;
    try {
      await evaluate(0);
      let lastDraw = performance.now();
      for (let epoch = 0; !stopRequested && step < steps; epoch++) {
        // The test scenes after each full epoch: a point on the test lines.
        if (epoch > 0) await evaluate(step);
        const order = epochOrder(p.trainCount, 0, epoch);
        for (let at = 0; at < order.length && !stopRequested && step < steps; at += DEHAZE.batchSize) {
          const { x, y } = batch(p.trainHazy, p.trainClear, order.slice(at, at + DEHAZE.batchSize));
          const loss = wg.tidy(() => {
            optimizer.zeroGrad();
            const l = wg.mseLoss(model.forward(x), y);
            l.backward();
            optimizer.step();
            return l.detach();
          });
          losses.push([++step, (await loss.data())[0]]);
          for (const t of [x, y, loss]) t.dispose();
          if (performance.now() - lastDraw > 250) {
            draw();
            lastDraw = performance.now();
            await new Promise((r) => setTimeout(r, 0));
          }
        }
      }
      const last = testLosses[testLosses.length - 1][0] === step ? { loss: testLosses[testLosses.length - 1][1], psnr: psnrs[psnrs.length - 1][1], hazyPsnr: baseline[baseline.length - 1][1] } : await evaluate(step);
      return { steps: step, losses: losses.map((l) => l[1]), ...last };
    } finally {
      running = false;
      optimizer.dispose();
      model.dispose();
      $<HTMLButtonElement>('dehaze-start').disabled = false;
      $<HTMLButtonElement>('dehaze-stop').disabled = true;
    }
  };

  const fail = (err: unknown) => status((err as Error).message, true);
  $<HTMLInputElement>('folder-pick').addEventListener('change', (e) => {
    const files = Array.from((e.target as HTMLInputElement).files ?? []);
    status(`reading ${files.length} files…`);
    void pick(files).catch(fail);
  });
  $('dehaze-start').addEventListener('click', () => void dehaze().catch(fail));
  $('dehaze-stop').addEventListener('click', () => (stopRequested = true));
  return { pick, dehaze, stop: () => (stopRequested = true), classes: () => classes };
}
