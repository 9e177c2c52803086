/**
 * The training runs whose losses test/fixtures/training-losses.json records: 20 steps of each
 * lab model (small widths and images, so a software adapter runs them in seconds), each with
 * another optimizer, on a given device. The fixture comes from the commit before the host-cost
 * work (issue 19); a change that alters any step's arithmetic shows up as a different loss.
 */
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

export const STEPS = 20;

export const runs = [
  {
    name: 'simpleCnn, Adam',
    model: () => nn.simpleCnn({ blocks: 3, channels: [8, 16, 32], inputSize: 16 }),
    optimizer: (ps: wg.Tensor[]) => new nn.Adam(ps, { lr: 2e-3 }),
    batch: 8,
    size: 16,
  },
  {
    name: 'dilatedCnn, SGD (momentum, weight decay)',
    model: () => nn.dilatedCnn({ dilations: [1, 2, 5], channels: [8, 16, 32], inputSize: 20 }),
    optimizer: (ps: wg.Tensor[]) => new nn.SGD(ps, { lr: 0.01, momentum: 0.9, weightDecay: 1e-3 }),
    batch: 8,
    size: 20,
  },
  {
    name: 'resnet18 (width 8), AdamW',
    model: () => nn.resnet18({ numClasses: 10, width: 8 }),
    optimizer: (ps: wg.Tensor[]) => new nn.AdamW(ps, { lr: 2e-3 }),
    batch: 4,
    size: 16,
  },
] as const;

/** The loss of each of STEPS training steps of `run` on `device`, from seed 0. */
export async function trainingLosses(run: (typeof runs)[number], device: string): Promise<number[]> {
  wg.manualSeed(0);
  const model = run.model();
  if (device !== 'cpu') model.to(device);
  const optimizer = run.optimizer(model.parameters());
  const x = wg.randn([run.batch, 3, run.size, run.size], { device });
  const y = wg.randint(0, 10, [run.batch], { device });
  const losses: number[] = [];
  try {
    for (let i = 0; i < STEPS; i++) {
      const loss = wg.tidy(() => nn.trainStep(model, optimizer, x, y).loss.detach());
      losses.push(await loss.item());
      loss.dispose();
    }
  } finally {
    optimizer.dispose();
    model.dispose();
    x.dispose();
    y.dispose();
  }
  return losses;
}
