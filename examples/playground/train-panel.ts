/**
 * Panel 2, LAB.md §2: the lab's CNN trained live on the served images, on the device the
 * library's 'auto' picks (cpu on a software adapter such as SwiftShader), or WebGPU or cpu
 * by choice: loss and accuracy charts, images/s, a confusion matrix and predictions on the
 * test set after each epoch, predictions on a dropped-in image, stop/resume, weights as
 * safetensors. Nothing shown is older than the model: "your image" is predicted again
 * whenever the model changes (new model, each chart redraw while training, the end of a run).
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { type ImageData8, type TrainConfig, batchOf, buildModel, epochOrder, normalise, predict, trainStep } from './core';
import { $, drawPlanar, fileToPlanar, lineChart } from './draw';

export interface RunReport {
  device: string;
  adapter: string;
  steps: number;
  losses: number[];
  /** Seconds of each step (the first includes compiling the kernels). */
  stepSeconds: number[];
  firstLoss: number;
  stepsPerSecond: number;
  imagesPerSecond: number;
}

type Device = 'webgpu' | 'cpu';
type DeviceRequest = wg.DeviceRequest;

interface Session {
  /** What the selector asked for, and what the library chose for it. */
  request: DeviceRequest;
  device: Device;
  adapter: string;
  cfg: TrainConfig;
  model: nn.Module;
  optimizer: nn.Optimizer;
  step: number;
  epoch: number;
  order: number[];
  at: number;
  losses: [number, number][];
  accuracies: [number, number][];
  testAccuracies: [number, number][];
}

const PREVIEW = 8;

export function trainPanel(data: ImageData8) {
  const { meta } = data;
  const testIndices = Array.from({ length: meta.testCount }, (_, i) => meta.trainCount + i);
  let session: Session | null = null;
  let running = false;
  let stopRequested = false;
  /** The image dropped in, as planar bytes, kept so that each new model predicts it again. */
  let yours: Uint8Array | null = null;

  const input = (id: string) => $<HTMLInputElement>(id).value;
  const config = (): TrainConfig => {
    const channels = input('train-channels').split(/[\s,]+/).filter(Boolean).map(Number);
    if (!channels.length || channels.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`channels: positive integers, one per block, got "${input('train-channels')}"`);
    const batchSize = Number(input('train-batch'));
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > meta.trainCount) throw new Error(`batch: 1 to ${meta.trainCount}, got ${input('train-batch')}`);
    const lr = Number(input('train-lr'));
    if (!(lr > 0)) throw new Error(`learning rate must be positive, got ${input('train-lr')}`);
    return { channels, batchSize, lr, seed: Number(input('train-seed')) || 0 };
  };

  const setButtons = () => {
    $<HTMLButtonElement>('train-start').disabled = running;
    $<HTMLButtonElement>('train-stop').disabled = !running;
    $<HTMLButtonElement>('train-reset').disabled = running;
    $<HTMLSelectElement>('train-device').disabled = running;
    $<HTMLButtonElement>('train-download').disabled = running || !session;
    $('train-start').textContent = session && session.step > 0 ? 'resume' : 'start';
  };

  const drawCharts = () => {
    if (!session) return;
    const s = session;
    const smooth = (pts: [number, number][], n = 10): [number, number][] => pts.map(([x], i) => [x, pts.slice(Math.max(0, i - n + 1), i + 1).reduce((a, p) => a + p[1], 0) / Math.min(i + 1, n)]);
    lineChart($<HTMLCanvasElement>('train-loss'), 'loss', [
      { label: 'train (batch)', colour: '#9db4e8', points: s.losses },
      { label: 'train (mean of 10)', colour: '#2458c6', points: smooth(s.losses) },
    ]);
    lineChart($<HTMLCanvasElement>('train-acc'), 'accuracy', [
      { label: 'train (mean of 10)', colour: '#2458c6', points: smooth(s.accuracies) },
      { label: 'test', colour: '#d2691e', points: s.testAccuracies },
    ], { min: 0, max: 1 });
    $('train-step').textContent = String(s.step);
    $('train-epoch').textContent = String(s.epoch);
  };

  /** A fresh model on the chosen device, from the seed. */
  const reset = async (): Promise<Session> => {
    if (running) throw new Error('stop training before resetting');
    const cfg = config();
    const select = $<HTMLSelectElement>('train-device');
    const request = select.value as DeviceRequest;
    if (session) {
      session.optimizer.dispose();
      session.model.dispose();
      session = null;
    }
    const info = await wg.useDevice(request);
    const device = info.device;
    // The selector says what runs: 'auto' names the device it chose.
    const auto = Array.from(select.options).find((o) => o.value === 'auto');
    if (auto) auto.textContent = request === 'auto' ? `auto (${device})` : 'auto';
    $('train-adapter').className = 'small';
    $('train-adapter').textContent =
      `${device === 'webgpu' ? `WebGPU adapter: ${info.description}` : `cpu: ${info.description}`}` + (info.fallbackReason ? `; auto chose cpu: ${info.fallbackReason}` : '');
    const model = buildModel(meta, cfg);
    session = {
      request, device, adapter: info.description, cfg, model,
      optimizer: new nn.Adam(model.parameters(), { lr: cfg.lr }),
      step: 0, epoch: 0, order: epochOrder(meta.trainCount, cfg.seed, 0), at: 0,
      losses: [], accuracies: [], testAccuracies: [],
    };
    drawCharts();
    setButtons();
    await predictYours();
    return session;
  };

  const evaluate = async (s: Session) => {
    const logits = await predict(s.model, data, testIndices, s.device);
    const k = meta.classes.length;
    const cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    let correct = 0;
    const predicted = testIndices.map((idx, n) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (logits[n * k + c] > logits[n * k + best]) best = c;
      cm[data.labels[idx]][best]++;
      if (best === data.labels[idx]) correct++;
      return best;
    });
    const acc = correct / Math.max(1, testIndices.length);
    s.testAccuracies.push([s.step, acc]);
    $('train-test').textContent = `test accuracy ${(100 * acc).toFixed(1)} % on ${testIndices.length} images after ${s.step} steps (${s.epoch} full epochs)`;
    const max = Math.max(1, ...cm.flat());
    const rows = cm.map((row, t) => `<tr><th title="${meta.classes[t]}">${meta.classes[t].slice(0, 5)}</th>${row.map((v, p) => `<td style="background:rgba(${t === p ? '36,88,198' : '210,105,30'},${(v / max).toFixed(2)})">${v || ''}</td>`).join('')}</tr>`);
    $('train-cm').innerHTML = `<table class="cm"><tr><th></th>${meta.classes.map((c) => `<th title="${c}">${c.slice(0, 3)}</th>`).join('')}</tr>${rows.join('')}</table>`;
    const preds = $('train-preds');
    preds.innerHTML = '';
    const size = meta.channels * meta.height * meta.width;
    const stride = Math.max(1, Math.floor(testIndices.length / PREVIEW));
    for (let n = 0; n < Math.min(PREVIEW, testIndices.length); n++) {
      const i = n * stride;
      const idx = testIndices[i];
      const fig = document.createElement('figure');
      const canvas = document.createElement('canvas');
      canvas.width = canvas.height = 64;
      drawPlanar(canvas, data.pixels.subarray(idx * size, (idx + 1) * size), meta.channels, meta.height, meta.width);
      const cap = document.createElement('figcaption');
      const ok = predicted[i] === data.labels[idx];
      cap.className = ok ? 'ok' : 'bad';
      cap.textContent = `${meta.classes[predicted[i]]}${ok ? '' : ` (${meta.classes[data.labels[idx]]})`}`;
      fig.append(canvas, cap);
      preds.append(fig);
    }
  };

  /** Trains until stopped, or for `maxSteps` steps; evaluates at each epoch's end. */
  const run = async (maxSteps = Infinity): Promise<RunReport> => {
    const s = session ?? (await reset());
    running = true;
    stopRequested = false;
    setButtons();
    const losses: number[] = [];
    const stepSeconds: number[] = [];
    let trainSeconds = 0;
    let lastDraw = 0;
    try {
      while (!stopRequested && losses.length < maxSteps) {
        if (s.at + s.cfg.batchSize > meta.trainCount) {
          s.epoch++;
          await evaluate(s);
          s.order = epochOrder(meta.trainCount, s.cfg.seed, s.epoch);
          s.at = 0;
        }
        const { x, y } = batchOf(data, s.order.slice(s.at, s.at + s.cfg.batchSize), s.device);
        s.at += s.cfg.batchSize;
        const t0 = performance.now();
        const { loss, correct } = await trainStep(s.model, s.optimizer, x, y);
        stepSeconds.push((performance.now() - t0) / 1000);
        trainSeconds += stepSeconds[stepSeconds.length - 1];
        x.dispose();
        y.dispose();
        s.step++;
        losses.push(loss);
        s.losses.push([s.step, loss]);
        s.accuracies.push([s.step, correct / s.cfg.batchSize]);
        const rate = (losses.length * s.cfg.batchSize) / trainSeconds;
        $('train-rate').textContent = rate.toFixed(0);
        if (performance.now() - lastDraw > 250) {
          drawCharts();
          await predictYours();
          lastDraw = performance.now();
          // Lets the page paint and the stop button be pressed.
          await new Promise((r) => setTimeout(r, 0));
        }
      }
    } finally {
      running = false;
      drawCharts();
      setButtons();
    }
    await predictYours();
    return {
      device: s.device,
      adapter: s.adapter,
      steps: losses.length,
      losses,
      stepSeconds,
      firstLoss: s.losses[0]?.[1] ?? NaN,
      stepsPerSecond: losses.length / trainSeconds,
      imagesPerSecond: (losses.length * s.cfg.batchSize) / trainSeconds,
    };
  };

  /** The current model's top 3 classes for the dropped-in image, with the step they are from. */
  const predictYours = async () => {
    if (!yours || !session) return;
    const s = session;
    const x = wg.tensor(normalise(yours), [1, meta.channels, meta.height, meta.width], { device: s.device });
    s.model.eval();
    const probs = wg.noGrad(() => wg.softmax(s.model.forward(x), 1));
    s.model.train();
    const p = await probs.data();
    x.dispose();
    probs.dispose();
    const top = [...p].map((v, c) => [v, c] as const).sort((a, b) => b[0] - a[0]).slice(0, 3);
    $('train-drop-pred').textContent = `model at step ${s.step}:\n${top.map(([v, c]) => `${meta.classes[c]} ${(100 * v).toFixed(1)} %`).join('\n')}`;
  };

  const predictFile = async (file: Blob) => {
    yours = await fileToPlanar(file, meta.channels, meta.height, meta.width);
    drawPlanar($<HTMLCanvasElement>('train-drop-view'), yours, meta.channels, meta.height, meta.width);
    if (!session) throw new Error('no model yet: press reset');
    await predictYours();
  };

  const fail = (err: unknown): void => {
    $('train-adapter').textContent = (err as Error).message;
    $('train-adapter').className = 'small bad';
  };
  $('train-start').addEventListener('click', () => void run().catch(fail));
  $('train-stop').addEventListener('click', () => (stopRequested = true));
  $('train-reset').addEventListener('click', () => void reset().catch(fail));
  $('train-device').addEventListener('change', () => void reset().catch(fail));
  $('train-download').addEventListener('click', () => {
    if (session) void nn.downloadSafetensors(`playground-cnn-step${session.step}.safetensors`, session.model.stateDict(), { classes: JSON.stringify(meta.classes) }).catch(fail);
  });
  const drop = $('train-drop');
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const file = e.dataTransfer?.files[0];
    if (file) void predictFile(file).catch((err: unknown) => ($('train-drop-pred').textContent = (err as Error).message));
  });
  $<HTMLInputElement>('train-file').addEventListener('change', (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) void predictFile(file).catch((err: unknown) => ($('train-drop-pred').textContent = (err as Error).message));
  });

  const batchField = $<HTMLInputElement>('train-batch');
  if (Number(batchField.value) > meta.trainCount) batchField.value = String(meta.trainCount);
  $('train-data').textContent = `${meta.name}: ${meta.trainCount} train / ${meta.testCount} test images, ${meta.channels}×${meta.height}×${meta.width}, ${meta.classes.length} classes, from ${meta.source}`;
  if (meta.fallback) {
    $('train-fallback').hidden = false;
    $('train-fallback').textContent = meta.fallback;
  }

  /** For the test and the console: a fresh model on `device` (settings as in the form, or given), then `steps` steps and an evaluation. */
  const runFresh = async (device: DeviceRequest, steps: number, settings: { channels?: string; batch?: number; lr?: number; seed?: number } = {}): Promise<RunReport> => {
    $<HTMLSelectElement>('train-device').value = device;
    const fields = { 'train-channels': settings.channels, 'train-batch': settings.batch, 'train-lr': settings.lr, 'train-seed': settings.seed };
    for (const [id, v] of Object.entries(fields)) if (v !== undefined) $<HTMLInputElement>(id).value = String(v);
    await reset();
    const report = await run(steps);
    await evaluate(session!);
    drawCharts();
    return report;
  };
  return { reset, fail, run, device: () => session?.device ?? null, stop: () => (stopRequested = true), evaluate: () => (session ? evaluate(session) : Promise.resolve()), predictFile, runFresh };
}
