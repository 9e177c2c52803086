import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

/** A model, an SGD with momentum (state tensors) or an Adam (step counts too), and a StepLR. */
function run(kind: 'sgd' | 'adam' = 'sgd', seed = 1) {
  wg.manualSeed(seed);
  const model = nn.mlp({ sizes: [4, 3, 2] });
  const optimizer = kind === 'sgd' ? new nn.SGD(model.parameters(), { lr: 0.1, momentum: 0.9 }) : new nn.Adam(model.parameters(), { lr: 0.01 });
  const scheduler = new nn.StepLR(optimizer, { stepSize: 2 });
  return { model, optimizer, scheduler };
}

/** A checkpoint after one epoch of training, so the optimizer has state tensors. */
async function saved(kind: 'sgd' | 'adam' = 'sgd'): Promise<{ path: string; bytes: Buffer }> {
  const path = join(mkdtempSync(join(tmpdir(), 'webgrad-meta-')), 'run.safetensors');
  const r = run(kind);
  const data = [{ x: wg.randn([8, 4]), y: wg.tensor([0, 1, 0, 1, 0, 1, 0, 1], [8], { dtype: 'int32' }) }];
  await nn.fit(r.model, data, { ...r, epochs: 1, progress: 'none', checkpoint: { path } });
  return { path, bytes: readFileSync(path) };
}

/** The file with its webgrad metadata edited (the checksum covers the tensors only). */
function editMeta(bytes: Buffer, edit: (meta: any) => void): Buffer {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const meta = JSON.parse(header.__metadata__.webgrad);
  edit(meta);
  header.__metadata__.webgrad = JSON.stringify(meta);
  const text = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([len, text, bytes.subarray(8 + n)]);
}

/** Everything a load could change: weights, optimizer state and settings, scheduler, generator. */
function snapshot(r: ReturnType<typeof run>) {
  return JSON.stringify({
    weights: r.model.parameters().map((p) => Array.from(p.dataSync())),
    groups: r.optimizer.paramGroups.map(({ params: _p, ...h }) => h),
    state: [...r.optimizer.state.values()].map((s) => Object.entries(s).map(([k, v]) => [k, typeof v === 'number' ? v : Array.from(v.dataSync())])),
    scheduler: r.scheduler.stateDict(),
    rng: wg.getRngState(),
  });
}

describe('checkpoint metadata is checked in full before anything is applied', () => {
  const cases: [string, (m: any) => void, string][] = [
    ['lr "abc"', (m) => (m.optimizer.paramGroups[0].lr = 'abc'), `field 'optimizer.paramGroups[0].lr' is "abc", expected a number ≥ 0`],
    ['lr missing', (m) => delete m.optimizer.paramGroups[0].lr, `field 'optimizer.paramGroups[0].lr' is missing`],
    ['lr -1', (m) => (m.optimizer.paramGroups[0].lr = -1), `'optimizer.paramGroups[0].lr' is -1`],
    ['lr null (NaN in JSON)', (m) => (m.optimizer.paramGroups[0].lr = null), `'optimizer.paramGroups[0].lr' is null`],
    ['momentum -1', (m) => (m.optimizer.paramGroups[0].momentum = -1), `'optimizer.paramGroups[0].momentum' is -1, expected a number ≥ 0`],
    ['nesterov "yes"', (m) => (m.optimizer.paramGroups[0].nesterov = 'yes'), `'optimizer.paramGroups[0].nesterov' is "yes", expected true or false`],
    ['params not indices', (m) => (m.optimizer.paramGroups[0].params = [0, 0, 1, 2]), `'optimizer.paramGroups[0].params' is [0,0,1,2], expected distinct parameter indices`],
    ['paramGroups not a list', (m) => (m.optimizer.paramGroups = 'x'), `field 'optimizer' is`],
    ['scalars for a parameter that does not exist', (m) => (m.optimizer.scalars = { 9: { step: 1 } }), `'optimizer.scalars.9' is {"step":1}, expected the state of one of the 4 parameters`],
    ['a step count "x"', (m) => (m.optimizer.scalars = { 0: { step: 'x' } }), `'optimizer.scalars.0.step' is "x", expected an integer ≥ 0`],
    ['scheduler lastEpoch "x"', (m) => (m.scheduler.lastEpoch = 'x'), `'scheduler.lastEpoch' is "x", expected an integer ≥ -1`],
    ['scheduler baseLrs missing', (m) => delete m.scheduler.baseLrs, `'scheduler.baseLrs' is missing, expected a list of learning rates ≥ 0`],
    ['scheduler lastLr ["a"]', (m) => (m.scheduler.lastLr = ['a']), `'scheduler.lastLr' is ["a"]`],
    ['scheduler with two groups', (m) => (m.scheduler.baseLrs = [0.1, 0.1]), 'its scheduler has 2 baseLrs for this StepLR\'s 1 parameter groups'],
    ['no scheduler state', (m) => (m.scheduler = null), 'it holds no scheduler state'],
    ['no optimizer state', (m) => (m.optimizer = null), 'it holds no optimizer state'],
    ['rng [1, 2]', (m) => (m.rng = [1, 2]), `field 'rng' is [1,2], expected four 32-bit unsigned integers, not all zero, then a number or null`],
    ['rng all zero', (m) => (m.rng = [0, 0, 0, 0, null]), `field 'rng' is [0,0,0,0,null]`],
    ['rng word past 2^32', (m) => (m.rng[0] = 2 ** 32), `field 'rng' is [4294967296,`],
    ['rng spare normal "x"', (m) => (m.rng[4] = 'x'), `field 'rng' is`],
    ['epoch 1.5', (m) => (m.epoch = 1.5), `field 'epoch' is 1.5, expected a non-negative integer`],
    ['history [1, 2]', (m) => (m.history = [1, 2]), `field 'history[0]' is 1, expected an epoch record`],
    ['history record with trainLoss "x"', (m) => (m.history[0].trainLoss = 'x'), `field 'history[0].trainLoss' is "x", expected a number`],
    ['history record with epoch 0', (m) => (m.history[0].epoch = 0), `field 'history[0].epoch' is 0, expected an integer ≥ 1`],
    ['history record with no lr', (m) => delete m.history[0].lr, `field 'history[0].lr' is missing`],
    ['identity holding an object', (m) => (m.identity = { run: { a: 1 } }), `field 'identity.run' is {"a":1}, expected a string or a number`],
    ['extra null', (m) => (m.extra = null), `field 'extra' is null, expected an object`],
    ['an Adam checkpoint into an SGD', (m) => Object.assign(m.optimizer.paramGroups[0], { betas: [0.9, 0.999], eps: 1e-8 }), 'its optimizer settings of group 0 has betas, eps, which a SGD does not (a checkpoint of another optimizer?)'],
    ['a setting of another type', (m) => (m.optimizer.paramGroups[0].nesterov = 0), `'optimizer.paramGroups[0].nesterov' is 0, expected true or false`],
    ['two parameter groups', (m) => m.optimizer.paramGroups.push({ ...m.optimizer.paramGroups[0], params: [] }), 'its optimizer has 2 parameter groups, this SGD has 1'],
  ];
  for (const [name, edit, problem] of cases) {
    it(`${name}: refused, naming the file, and nothing is overwritten`, async () => {
      const { path, bytes } = await saved();
      writeFileSync(path, editMeta(bytes, edit));
      const target = run('sgd', 2);
      const before = snapshot(target);
      const err = await nn.loadCheckpoint(path, target).catch((e: Error) => e);
      expect(err).toBeInstanceOf(nn.CheckpointError);
      expect((err as Error).message).toContain(`checkpoint ${path}: `);
      expect((err as Error).message).toContain(problem);
      expect(snapshot(target)).toBe(before);
    });
  }

  it('an optimizer state tensor that does not fit its parameter is refused before the model is touched', async () => {
    const { path } = await saved();
    // The same run with a wider hidden layer: every optimizer tensor and the model differ.
    const target = run('sgd', 3);
    const other = nn.mlp({ sizes: [4, 5, 2] });
    const opt = new nn.SGD(other.parameters(), { lr: 0.1, momentum: 0.9 });
    const before = Array.from(target.model.parameters()[0].dataSync());
    const err = await nn.loadCheckpoint(path, { model: target.model, optimizer: opt }).catch((e: Error) => e);
    expect((err as Error).message).toMatch(/its optimizer state optimizer\.0\.momentumBuffer is \[3,4\] float32, the parameter is \[5,4\] float32/);
    expect(Array.from(target.model.parameters()[0].dataSync())).toEqual(before);
  });

  it('a model that does not fit is a CheckpointError naming the file too', async () => {
    const { path } = await saved();
    const err = await nn.loadCheckpoint(path, { model: nn.mlp({ sizes: [4, 5, 2] }) }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(nn.CheckpointError);
    expect((err as Error).message).toMatch(/^checkpoint .*run\.safetensors: its model state does not fit this Sequential: loadStateDict\(Sequential\): 3 difference/);
  });

  it('a valid checkpoint still restores everything (Adam, with step counts)', async () => {
    const { path } = await saved('adam');
    const target = run('adam', 4);
    const loaded = await nn.loadCheckpoint(path, target);
    expect(loaded.epoch).toBe(1);
    expect(loaded.history.epochs).toHaveLength(1);
    expect([...target.optimizer.state.values()][0].step).toBe(1);
    expect(target.scheduler.lastEpoch).toBe(1);
  });

  it('a diverged epoch kept with onNonFinite "ignore" (NaN loss, null in JSON) round-trips', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'webgrad-meta-')), 'nan.safetensors');
    const r = run();
    const x = wg.randn([8, 4]).dataSync().slice();
    x[0] = Number.NaN;
    const data = [{ x: wg.tensor(x, [8, 4]), y: wg.tensor([0, 1, 0, 1, 0, 1, 0, 1], [8], { dtype: 'int32' }) }];
    await nn.fit(r.model, data, { ...r, epochs: 1, progress: 'none', checkpoint: { path }, onNonFinite: 'ignore' });
    const loaded = await nn.loadCheckpoint(path, { model: run().model });
    expect(Number.isNaN(loaded.history.trainLoss[0])).toBe(true);
  });
});

describe('hostile metadata gets a short CheckpointError, never a stack overflow or a megabyte message', () => {
  const cases: [string, (m: any) => void, RegExp][] = [
    ['a 100-deep epoch', (m) => (m.epoch = JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`)), /field 'epoch' is \[\[\[/],
    ['8 MB lr', (m) => (m.optimizer.paramGroups[0].lr = 'x'.repeat(8_000_000)), /'optimizer\.paramGroups\[0\]\.lr' is "x{79}… \(8000002 characters\)/],
    ['8 MB identity value', (m) => (m.identity = { run: 'y'.repeat(8_000_000) }), /it belongs to another run \(run: the file has "y{79}… \(8000002 characters\), expected "a"\)/],
  ];
  for (const [name, edit, problem] of cases) {
    it(name, async () => {
      const { path, bytes } = await saved();
      writeFileSync(path, editMeta(bytes, edit));
      const err = await nn.loadCheckpoint(path, { ...run(), identity: { run: 'a' } }).catch((e: Error) => e);
      expect(err).toBeInstanceOf(nn.CheckpointError);
      expect((err as Error).message).toMatch(problem);
      expect((err as Error).message.length).toBeLessThan(400 + path.length);
    });
  }

  it('metadata nested 200 000 deep', async () => {
    const { path, bytes } = await saved();
    // Spliced into the metadata string: JSON.parse of the edited header would nest it in this process first.
    const deep = editMeta(bytes, (m) => (m.extra = { deep: 'DEEP' }));
    const n = Number(deep.readBigUInt64LE(0));
    const header = deep.subarray(8, 8 + n).toString('utf8').replace('\\"DEEP\\"', `${'['.repeat(200_000)}${']'.repeat(200_000)}`);
    const text = Buffer.from(header);
    const len = Buffer.alloc(8);
    len.writeBigUInt64LE(BigInt(text.length));
    writeFileSync(path, Buffer.concat([len, text, deep.subarray(8 + n)]));
    const err = await nn.loadCheckpoint(path, run()).catch((e: Error) => e);
    expect(err).toBeInstanceOf(nn.CheckpointError);
    expect((err as Error).message).toContain('its webgrad metadata nests deeper than 128 levels');
  });
});
