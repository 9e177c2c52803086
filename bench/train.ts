/**
 * `npm run bench -- train`: images per second of one training step (batch 64, 3×32×32,
 * forward + backward + Adam) for the lab's models, on cpu and on webgpu when it opens.
 * Each step awaits the loss, so the device's work is inside the timing.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { printTable } from './util';

const BATCH = 64;

/** The lab's models, by the names bench/gpu_torch.py and bench/peers_torch.py know them; pytorchCpu: PyTorch 1.13 CPU (2 threads) on the project's reference machine, images/s. */
export const models = [
  { name: 'simpleCnn 3 blocks 32/64/128', make: () => nn.simpleCnn({ blocks: 3, channels: [32, 64, 128] }), pytorchCpu: 1080 },
  { name: 'dilatedCnn [1,2,5]', make: () => nn.dilatedCnn({ dilations: [1, 2, 5] }), pytorchCpu: 735 },
  { name: 'resnet18', make: () => nn.resnet18({ numClasses: 10 }), pytorchCpu: 55 },
];

/**
 * One seeded training step (forward, cross-entropy, backward, Adam) of a model on random
 * CIFAR-sized images; traced once and replayed (jit, as nn.fit does) unless jit is false.
 */
export function trainingStep(make: () => nn.Module, device: string, batch: number, opts: { jit?: boolean } = {}): { step: () => Promise<void>; dispose: () => void } {
  wg.manualSeed(0);
  const model = make();
  if (device !== 'cpu') model.to(device);
  const optimizer = new nn.Adam(model.parameters(), { lr: 1e-3 });
  const x = wg.randn([batch, 3, 32, 32], { device });
  const y = wg.randint(0, 10, [batch], { device });
  const traced = wg.jit(() => nn.trainStep(model, optimizer, x, y).loss.detach(), { enabled: opts.jit ?? true });
  const step = async () => {
    const loss = wg.tidy(traced);
    await loss.item();
    loss.dispose();
  };
  const dispose = () => {
    optimizer.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  };
  return { step, dispose };
}


/**
 * Median of timed runs after warm-up; slow configurations stop at the budget (at least one
 * run). Warm-up is `warmup` steps or `warmupMs`, whichever ends first (at least one step):
 * a fast step needs a few to leave V8's lower tiers (after one, simpleCnn's cpu figure
 * moved by 10 % from run to run), a slow one is warm after one.
 */
async function measure(step: () => Promise<void>, opts: { warmup: number; warmupMs: number; maxRuns: number; budgetMs: number }): Promise<{ medianMs: number; runs: number }> {
  const warmStart = performance.now();
  for (let i = 0; i < opts.warmup && (i === 0 || performance.now() - warmStart < opts.warmupMs); i++) await step();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < opts.maxRuns && (times.length === 0 || performance.now() - start < opts.budgetMs)) {
    const t0 = performance.now();
    await step();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], runs: times.length };
}

export async function benchTrain(opts: { devices?: string[]; budgetMs?: number } = {}): Promise<object> {
  const devices = opts.devices ?? ['cpu', 'webgpu'];
  const rows: Record<string, string | number>[] = [];
  const notes: string[] = [];
  for (const device of devices) {
    let description = wg.getBackend('cpu').description;
    if (device !== 'cpu') {
      try {
        description = (await wg.useDevice(device as wg.DeviceRequest)).description;
      } catch (err) {
        notes.push(`${device}: not available (${(err as Error).message.split('\n')[0]})`);
        continue;
      } finally {
        wg.setDefaultDevice('cpu');
      }
    }
    for (const m of models) {
      for (const jit of [false, true]) {
        const { step, dispose } = trainingStep(m.make, device, BATCH, { jit });
        const mode = jit ? 'jit' : 'eager';
        let row: Record<string, string | number>;
        try {
          const t = await measure(step, { warmup: 5, warmupMs: 3_000, maxRuns: 5, budgetMs: opts.budgetMs ?? 30_000 });
          row = { model: m.name, mode, device: description, 'images/s': (BATCH * 1000) / t.medianMs, 'ms/step': t.medianMs, steps: String(t.runs) };
        } catch (err) {
          row = { model: m.name, mode, device: description, 'images/s': 'failed', 'ms/step': (err as Error).message.split('\n')[0].slice(0, 60), steps: '0' };
        }
        row['PyTorch cpu images/s'] = m.pytorchCpu;
        rows.push(row);
        console.log(`  ${row.model} ${mode} on ${device}: ${typeof row['images/s'] === 'number' ? row['images/s'].toFixed(1) : row['images/s']} images/s`);
        dispose();
      }
    }
  }
  printTable(`one training step, batch ${BATCH}, 3×32×32, forward + backward + Adam`, rows);
  for (const n of notes) console.log(n);
  console.log('reference: TensorFlow.js 4.22 webgpu on lavapipe 18 images/s (simpleCnn; cannot train the dilated model); TensorFlow.js cpu 0.7 images/s');
  return { batch: BATCH, rows, notes };
}
