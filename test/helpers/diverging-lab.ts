/**
 * A lab of one experiment whose training diverges (SGD with lr 1e6), run through the lab's
 * real runner (examples/lab/main.ts) in a child process by test/lab-divergence.test.ts: the
 * run must fail with fit's divergence error, not finish with NaN losses in the report.
 */
import * as nn from '@webgrad/nn';
import * as wg from '@webgrad/tensor';
import type { Experiment } from '../../examples/lab/experiment';
import { runCli } from '../../examples/lab/main';
import { trainRun } from '../../examples/lab/train';

const diverging: Experiment = {
  id: '91-diverging',
  number: 91,
  title: 'a training run that diverges',
  short: 'diverging',
  summary: 'SGD with a learning rate of a million',
  async run(ctx) {
    wg.manualSeed(ctx.seed);
    const batches = Array.from({ length: 4 }, () => ({ x: wg.keep(wg.randn([8, 16])), y: wg.keep(wg.tensor([0, 1, 0, 1, 0, 1, 0, 1], [8], { dtype: 'int32' })) }));
    const model = nn.mlp({ sizes: [16, 32, 2] });
    await trainRun(ctx, {
      key: 'lr-1e6',
      label: 'lr 1e6',
      model,
      optimizer: new nn.SGD(model.parameters(), { lr: 1e6 }),
      train: batches,
      epochs: 3,
      batchSize: 8,
      trainCount: 32,
      testCount: 0,
    });
  },
};

await runCli([diverging], process.argv.slice(2), 'diverging-lab');
