/**
 * Panel 2, LAB.md §2–§4: a model of the lab (the picker: MLP, N-block CNN, the dilated
 * CNNs, ResNet-18 and its plain twin) trained live on the served images or on a folder the
 * user picks, on the device the library's 'auto' picks (cpu on a software adapter such as
 * SwiftShader), or WebGPU or cpu by choice: loss and accuracy charts with the test loss and
 * test accuracy, the run before drawn dashed beside the current one, images/s, a confusion
 * matrix and predictions on the test set after each epoch, predictions on a dropped-in
 * image, stop/resume, weights saved as safetensors and loaded back. Nothing shown is older
 * than the model: "your image" is predicted again whenever the model changes.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { type ImageData8, type Trainer, MODEL_KINDS, type ModelKind, type TrainConfig, batchOf, buildModel, epochOrder, normalise, predict, trainer } from './core';
import { $, type Series, drawPlanar, fileToPlanar, lineChart } from './draw';

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

/** What the charts draw of one run. */
interface Curves {
  label: string;
  losses: [number, number][];
  accuracies: [number, number][];
  testLosses: [number, number][];
  testAccuracies: [number, number][];
}

interface Session extends Curves {
  /** What the selector asked for, and what the library chose for it. */
  request: DeviceRequest;
  device: Device;
  adapter: string;
  cfg: TrainConfig;
  model: nn.Module;
  optimizer: nn.Optimizer;
  train: Trainer;
  step: number;
  epoch: number;
  order: number[];
  at: number;
}

/** What a test or the console may set before a fresh run. */
export interface RunSettings {
  model?: ModelKind;
  sizes?: string;
  batch?: number;
  lr?: number;
  seed?: number;
}

const PREVIEW = 8;
const SAVED_BY = 'webgrad playground';

/** Training steps are traced once and replayed (core.ts's trainer) unless the page's address says ?jit=off. */
const jitOn = new URLSearchParams(globalThis.location?.search ?? '').get('jit') !== 'off';
const parseSizes = (text: string) => text.split(/[\s,]+/).filter(Boolean).map(Number);
const smooth = (pts: [number, number][], n = 10): [number, number][] =>
  pts.map(([x], i) => [x, pts.slice(Math.max(0, i - n + 1), i + 1).reduce((a, p) => a + p[1], 0) / Math.min(i + 1, n)]);

export function trainPanel(initial: ImageData8) {
  let data = initial;
  const testIndices = () => Array.from({ length: data.meta.testCount }, (_, i) => data.meta.trainCount + i);
  let session: Session | null = null;
  /** The run before the current one, drawn dashed for comparison. */
  let previous: Curves | null = null;
  let runs = 0;
  let running = false;
  let stopRequested = false;
  /** The image dropped in, as planar bytes, kept so that each new model predicts it again. */
  let yours: Uint8Array | null = null;

  const input = (id: string) => $<HTMLInputElement>(id).value;
  const modelSelect = $<HTMLSelectElement>('train-model');
  for (const [key, kind] of Object.entries(MODEL_KINDS)) modelSelect.append(new Option(kind.label, key));
  const showSizesLabel = () => ($('train-sizes-label').textContent = MODEL_KINDS[modelSelect.value as ModelKind].sizes);

  const config = (): TrainConfig => {
    const model = modelSelect.value as ModelKind;
    const sizes = parseSizes(input('train-sizes'));
    const batchSize = Number(input('train-batch'));
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > data.meta.trainCount) throw new Error(`batch: 1 to ${data.meta.trainCount}, got ${input('train-batch')}`);
    const lr = Number(input('train-lr'));
    if (!(lr > 0)) throw new Error(`learning rate must be positive, got ${input('train-lr')}`);
    return { model, sizes, batchSize, lr, seed: Number(input('train-seed')) || 0 };
  };
  const describe = (cfg: TrainConfig) => `${MODEL_KINDS[cfg.model].label} [${cfg.sizes}], batch ${cfg.batchSize}, lr ${cfg.lr}, seed ${cfg.seed}`;

  const setButtons = () => {
    $<HTMLButtonElement>('train-start').disabled = running;
    $<HTMLButtonElement>('train-stop').disabled = !running;
    for (const id of ['train-reset', 'train-device', 'train-model', 'train-load']) $<HTMLButtonElement>(id).disabled = running;
    $<HTMLButtonElement>('train-download').disabled = running || !session;
    $('train-start').textContent = session && session.step > 0 ? 'resume' : 'start';
  };

  const drawCharts = () => {
    if (!session) return;
    const s = session;
    const runsOf = (pick: (c: Curves) => Series[]) => [...pick(s), ...(previous ? pick(previous).map((x) => ({ ...x, label: `before: ${x.label}`, dash: [4, 3], colour: x.colour + '99' })) : [])];
    lineChart($<HTMLCanvasElement>('train-loss'), 'loss', runsOf((c) => [
      { label: 'train (mean of 10)', colour: '#2458c6', points: smooth(c.losses) },
      { label: 'test', colour: '#d2691e', points: c.testLosses },
    ]));
    lineChart($<HTMLCanvasElement>('train-acc'), 'accuracy', runsOf((c) => [
      { label: 'train (mean of 10)', colour: '#2458c6', points: smooth(c.accuracies) },
      { label: 'test', colour: '#d2691e', points: c.testAccuracies },
    ]), { min: 0, max: 1 });
    $('train-runs').textContent = `solid: ${s.label}${previous ? `\ndashed: ${previous.label}` : ''}`;
    $('train-step').textContent = String(s.step);
    $('train-epoch').textContent = String(s.epoch);
  };

  /** A fresh model on the chosen device, from the seed; the run before is kept for the charts. */
  const reset = async (): Promise<Session> => {
    if (running) throw new Error('stop training before resetting');
    const cfg = config();
    const select = $<HTMLSelectElement>('train-device');
    const request = select.value as DeviceRequest;
    if (session) {
      if (session.step > 0) previous = { label: session.label, losses: session.losses, accuracies: session.accuracies, testLosses: session.testLosses, testAccuracies: session.testAccuracies };
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
    const model = buildModel(data.meta, cfg);
    const params = model.parameters().reduce((n, p) => n + p.size, 0);
    $('train-params').textContent = `${params.toLocaleString('en')} parameters`;
    const optimizer = new nn.Adam(model.parameters(), { lr: cfg.lr });
    session = {
      request, device, adapter: info.description, cfg, model, optimizer,
      train: trainer(model, optimizer, { jit: jitOn }),
      step: 0, epoch: 0, order: epochOrder(data.meta.trainCount, cfg.seed, 0), at: 0,
      label: `run ${++runs}: ${describe(cfg)} on ${data.meta.name}`,
      losses: [], accuracies: [], testLosses: [], testAccuracies: [],
    };
    drawCharts();
    setButtons();
    await predictYours();
    return session;
  };

  /** Test loss (mean cross-entropy), accuracy, confusion matrix and a row of predictions. */
  const evaluate = async (s: Session) => {
    const { meta } = data;
    const tests = testIndices();
    const logits = await predict(s.model, data, tests, s.device);
    const k = meta.classes.length;
    const cm = Array.from({ length: k }, () => new Array<number>(k).fill(0));
    let correct = 0;
    let lossSum = 0;
    const predicted = tests.map((idx, n) => {
      let best = 0;
      let max = -Infinity;
      for (let c = 0; c < k; c++) if (logits[n * k + c] > max) [max, best] = [logits[n * k + c], c];
      let sum = 0;
      for (let c = 0; c < k; c++) sum += Math.exp(logits[n * k + c] - max);
      lossSum += max + Math.log(sum) - logits[n * k + data.labels[idx]];
      cm[data.labels[idx]][best]++;
      if (best === data.labels[idx]) correct++;
      return best;
    });
    const acc = correct / Math.max(1, tests.length);
    const testLoss = lossSum / Math.max(1, tests.length);
    s.testAccuracies.push([s.step, acc]);
    s.testLosses.push([s.step, testLoss]);
    $('train-test').textContent = `test accuracy ${(100 * acc).toFixed(1)} %, loss ${testLoss.toFixed(3)} on ${tests.length} images after ${s.step} steps (${s.epoch} full epochs)`;
    const max = Math.max(1, ...cm.flat());
    const rows = cm.map((row, t) => `<tr><th title="${meta.classes[t]}">${meta.classes[t].slice(0, 5)}</th>${row.map((v, p) => `<td style="background:rgba(${t === p ? '36,88,198' : '210,105,30'},${(v / max).toFixed(2)})">${v || ''}</td>`).join('')}</tr>`);
    $('train-cm').innerHTML = `<table class="cm"><tr><th></th>${meta.classes.map((c) => `<th title="${c}">${c.slice(0, 3)}</th>`).join('')}</tr>${rows.join('')}</table>`;
    const preds = $('train-preds');
    preds.innerHTML = '';
    const size = meta.channels * meta.height * meta.width;
    const stride = Math.max(1, Math.floor(tests.length / PREVIEW));
    for (let n = 0; n < Math.min(PREVIEW, tests.length); n++) {
      const i = n * stride;
      const idx = tests[i];
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
    drawCharts();
    await predictYours();
    return { accuracy: acc, loss: testLoss };
  };

  /** Trains until stopped, or for `maxSteps` steps; evaluates at each epoch's end. */
  const run = async (maxSteps = Infinity): Promise<RunReport> => {
    const s = session ?? (await reset());
    const { meta } = data;
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
        const { loss, correct } = await s.train(x, y);
        stepSeconds.push((performance.now() - t0) / 1000);
        trainSeconds += stepSeconds[stepSeconds.length - 1];
        x.dispose();
        y.dispose();
        s.step++;
        losses.push(loss);
        s.losses.push([s.step, loss]);
        s.accuracies.push([s.step, correct / s.cfg.batchSize]);
        $('train-rate').textContent = ((losses.length * s.cfg.batchSize) / trainSeconds).toFixed(0);
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
    const { meta } = data;
    if (!yours || !session || yours.length !== meta.channels * meta.height * meta.width) return;
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

  let yourFile: Blob | null = null;
  const predictFile = async (file: Blob) => {
    const { meta } = data;
    yourFile = file;
    yours = await fileToPlanar(file, meta.channels, meta.height, meta.width);
    drawPlanar($<HTMLCanvasElement>('train-drop-view'), yours, meta.channels, meta.height, meta.width);
    if (!session) throw new Error('no model yet: press reset');
    await predictYours();
  };

  /** The weights, the settings that rebuild the model, and what it was trained on. */
  const weightsMetadata = (s: Session): Record<string, string> => ({
    saved_by: SAVED_BY, config: JSON.stringify(s.cfg), step: String(s.step), epoch: String(s.epoch), data: data.meta.name, classes: JSON.stringify(data.meta.classes),
  });

  /**
   * A file saved by "download weights": the settings it names rebuild the model, its
   * weights replace the fresh ones, and the test set is evaluated. A file of other classes
   * or another model is refused with the reason.
   */
  const loadWeights = async (file: Blob): Promise<{ step: number; accuracy: number; loss: number }> => {
    if (running) throw new Error('stop training before loading weights');
    const name = (file as File).name ?? 'the file';
    const { tensors, metadata } = await nn.readSafetensorsFile(file, { device: 'cpu' });
    try {
      if (metadata.saved_by !== SAVED_BY || !metadata.config) throw new Error(`${name}: not saved by this page's "download weights" (its metadata has no model settings)`);
      const classes = JSON.parse(metadata.classes ?? '[]') as string[];
      if (JSON.stringify(classes) !== JSON.stringify(data.meta.classes)) {
        throw new Error(`${name}: trained on ${metadata.data ?? 'other data'} with classes [${classes.join(', ')}]; the page trains on ${data.meta.name}, classes [${data.meta.classes.join(', ')}]`);
      }
      const cfg = JSON.parse(metadata.config) as TrainConfig;
      if (!(cfg.model in MODEL_KINDS)) throw new Error(`${name}: unknown model '${cfg.model}'`);
      modelSelect.value = cfg.model;
      showSizesLabel();
      $<HTMLInputElement>('train-sizes').value = cfg.sizes.join(',');
      $<HTMLInputElement>('train-batch').value = String(cfg.batchSize);
      $<HTMLInputElement>('train-lr').value = String(cfg.lr);
      $<HTMLInputElement>('train-seed').value = String(cfg.seed);
      const s = await reset();
      const onDevice = Object.fromEntries(Object.entries(tensors).map(([k, t]) => [k, t.to(s.device)]));
      try {
        s.model.loadStateDict(onDevice);
      } catch (err) {
        throw new Error(`${name}: ${(err as Error).message}`);
      } finally {
        for (const t of Object.values(onDevice)) t.dispose();
      }
      s.step = Number(metadata.step) || 0;
      s.epoch = Number(metadata.epoch) || 0;
      s.label += ` (weights of step ${s.step} from ${name})`;
      const r = await evaluate(s);
      setButtons();
      return { step: s.step, ...r };
    } finally {
      for (const t of Object.values(tensors)) t.dispose();
    }
  };

  const fail = (err: unknown): void => {
    $('train-adapter').textContent = (err as Error).message;
    $('train-adapter').className = 'small bad';
  };
  $('train-start').addEventListener('click', () => void run().catch(fail));
  $('train-stop').addEventListener('click', () => (stopRequested = true));
  $('train-reset').addEventListener('click', () => void reset().catch(fail));
  $('train-device').addEventListener('change', () => void reset().catch(fail));
  modelSelect.addEventListener('change', () => {
    showSizesLabel();
    $<HTMLInputElement>('train-sizes').value = MODEL_KINDS[modelSelect.value as ModelKind].default.join(',');
    void reset().catch(fail);
  });
  $('train-download').addEventListener('click', () => {
    if (session) void nn.downloadSafetensors(`playground-${session.cfg.model}-step${session.step}.safetensors`, session.model.stateDict(), weightsMetadata(session)).catch(fail);
  });
  $<HTMLInputElement>('train-load').addEventListener('change', (e) => {
    const file = (e.target as HTMLInputElement).files?.[0];
    if (file) void loadWeights(file).catch(fail);
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

  const describeData = () => {
    const { meta } = data;
    const batchField = $<HTMLInputElement>('train-batch');
    if (Number(batchField.value) > meta.trainCount) batchField.value = String(meta.trainCount);
    $('train-data').textContent = `${meta.name}: ${meta.trainCount} train / ${meta.testCount} test images, ${meta.channels}×${meta.height}×${meta.width}, ${meta.classes.length} classes, from ${meta.source}`;
    $('train-fallback').hidden = !meta.fallback;
    $('train-fallback').textContent = meta.fallback ?? '';
  };
  showSizesLabel();
  describeData();

  /** Trains on other images from now on (a picked folder): a fresh model, "your image" resized to them. */
  const setData = async (d: ImageData8): Promise<void> => {
    if (running) throw new Error('stop training before changing the data');
    data = d;
    describeData();
    yours = null;
    if (yourFile) await predictFile(yourFile).catch(() => undefined);
    await reset();
  };

  /** For the test and the console: a fresh model on `device` (settings as in the form, or given), then `steps` steps and an evaluation. */
  const runFresh = async (device: DeviceRequest, steps: number, settings: RunSettings = {}): Promise<RunReport> => {
    $<HTMLSelectElement>('train-device').value = device;
    if (settings.model) {
      modelSelect.value = settings.model;
      showSizesLabel();
      $<HTMLInputElement>('train-sizes').value = MODEL_KINDS[settings.model].default.join(',');
    }
    const fields = { 'train-sizes': settings.sizes, 'train-batch': settings.batch, 'train-lr': settings.lr, 'train-seed': settings.seed };
    for (const [id, v] of Object.entries(fields)) if (v !== undefined) $<HTMLInputElement>(id).value = String(v);
    await reset();
    const report = await run(steps);
    await evaluate(session!);
    return report;
  };
  return {
    reset, fail, run, runFresh, predictFile, loadWeights, setData,
    device: () => session?.device ?? null,
    stop: () => (stopRequested = true),
    evaluate: () => (session ? evaluate(session) : Promise.resolve(null)),
    /** The settings and bytes "download weights" would save. */
    weights: async () => (session ? nn.safetensorsBytes(session.model.stateDict(), weightsMetadata(session)) : null),
  };
}
