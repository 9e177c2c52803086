import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nn from '@webgrad/nn';

const newModel = () => nn.simpleCnn({ blocks: 1, channels: 4, inputSize: 8, numClasses: 2 });

async function savedCheckpoint(identity?: nn.RunIdentity): Promise<{ dir: string; path: string; bytes: Buffer }> {
  const dir = mkdtempSync(join(tmpdir(), 'webgrad-damage-'));
  const path = join(dir, 'run.safetensors');
  await nn.saveCheckpoint(path, { model: newModel(), epoch: 2, identity });
  return { dir, path, bytes: readFileSync(path) };
}

/** The file with its JSON header replaced (data section kept). */
function withHeader(bytes: Buffer, edit: (header: Record<string, any>) => void | { replaceWith: unknown }): Buffer {
  const n = Number(bytes.readBigUInt64LE(0));
  const header = JSON.parse(bytes.subarray(8, 8 + n).toString('utf8'));
  const edited = edit(header);
  const text = Buffer.from(JSON.stringify(edited ? edited.replaceWith : header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(text.length));
  return Buffer.concat([len, text, bytes.subarray(8 + n)]);
}

async function loadError(path: string, opts: Partial<nn.LoadCheckpointOptions> = {}): Promise<Error> {
  return nn.loadCheckpoint(path, { model: newModel(), ...opts }).then(
    () => {
      throw new Error(`${path} loaded`);
    },
    (e: Error) => e,
  );
}

describe('damaged checkpoints are refused with an error that names the file, the problem and the fix', () => {
  const damages: [string, (b: Buffer) => Buffer, RegExp][] = [
    ['truncated file', (b) => b.subarray(0, b.length - 100), /damaged .*needs \d+ bytes/],
    ['truncated to a few bytes', (b) => b.subarray(0, 5), /damaged .*too short/],
    ['flipped header byte', (b) => Buffer.concat([b.subarray(0, 9), Buffer.from([0x7b]), b.subarray(10)]), /damaged .*not valid JSON/],
    ['null header', (b) => withHeader(b, () => ({ replaceWith: null })), /damaged .*header is null/],
    ['missing shape', (b) => withHeader(b, (h) => { delete h['model.0.0.weight'].shape; }), /damaged .*model\.0\.0\.weight has no valid shape/],
    ['broken metadata JSON', (b) => withHeader(b, (h) => { h.__metadata__.webgrad = h.__metadata__.webgrad.slice(0, 40); }), /webgrad metadata is not valid JSON/],
    ['metadata missing its epoch', (b) => withHeader(b, (h) => { const m = JSON.parse(h.__metadata__.webgrad); delete m.epoch; h.__metadata__.webgrad = JSON.stringify(m); }), /metadata field 'epoch' is missing/],
    ['flipped data byte', (b) => { const c = Buffer.from(b); c[c.length - 3] ^= 0x10; return c; }, /tensor bytes are damaged \(checksum crc32:[0-9a-f]{8}, the file records crc32:[0-9a-f]{8}\)/],
  ];
  for (const [name, damage, problem] of damages) {
    it(name, async () => {
      const { path, bytes } = await savedCheckpoint();
      writeFileSync(path, damage(bytes));
      const err = await loadError(path);
      expect(err).toBeInstanceOf(nn.CheckpointError);
      expect(err.message).toContain(`checkpoint ${path}: `);
      expect(err.message).toMatch(problem);
      expect(err.message).toContain('Delete it to start that training run again from scratch');
    });
  }

  it('loadSafetensors names a damaged file too', async () => {
    const { path, bytes } = await savedCheckpoint();
    writeFileSync(path, bytes.subarray(0, 5));
    await expect(nn.loadSafetensors(path)).rejects.toThrow(`${path} is not a readable safetensors file: safetensors: 5 bytes is too short for the 8-byte header length (5 bytes)`);
    await expect(nn.loadSafetensors(path)).rejects.toBeInstanceOf(nn.SafetensorsFileError);
  });

  it('a missing file names it', async () => {
    const err = await loadError('/nonexistent/run.safetensors');
    expect(err.message).toMatch(/cannot read \/nonexistent\/run\.safetensors: ENOENT/);
  });

  it('the caller says what to do', async () => {
    const { path, bytes } = await savedCheckpoint();
    writeFileSync(path, bytes.subarray(0, 20));
    expect((await loadError(path, { remedy: 'Run again with --restart' })).message).toMatch(/Run again with --restart$/);
  });
});

describe('run identity', () => {
  it("another run's checkpoint is refused, naming each field that differs; the same run's loads", async () => {
    const { path } = await savedCheckpoint({ experiment: '02-cifar', run: 'library-n3', options: 'ab12' });
    const err = await loadError(path, { identity: { experiment: '05-mlp', run: 'library-n3', options: 'ab12' } });
    expect(err).toBeInstanceOf(nn.CheckpointError);
    expect(err.message).toContain('it belongs to another run (experiment: the file has "02-cifar", expected "05-mlp")');
    const loaded = await nn.loadCheckpoint(path, { model: newModel(), identity: { experiment: '02-cifar', run: 'library-n3', options: 'ab12' } });
    expect(loaded.epoch).toBe(2);
    expect(loaded.identity).toEqual({ experiment: '02-cifar', run: 'library-n3', options: 'ab12' });
  });

  it('a file with no identity is refused where one is expected, and loads where none is', async () => {
    const { path } = await savedCheckpoint();
    expect((await loadError(path, { identity: { experiment: 'x' } })).message).toContain('experiment: the file has none, expected "x"');
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-plain-'));
    const plain = join(dir, 'plain.safetensors');
    await nn.saveSafetensors(plain, newModel().stateDict());
    expect((await loadError(plain, { identity: { experiment: 'x' } })).message).toContain('records no run identity');
    expect((await nn.loadCheckpoint(plain, { model: newModel() })).epoch).toBe(0);
  });
});

describe('stale temporary files', () => {
  it('the next save in a folder removes the temporaries of dead processes, not those of live ones', async () => {
    const { dir, path } = await savedCheckpoint();
    const dead = spawnSync(process.execPath, ['-e', '0']).pid as number;
    const stale = `.run.safetensors.${dead}.1700000000000.tmp`;
    const otherStale = `.other.safetensors.${dead}.1700000000001.tmp`;
    const mine = `.run.safetensors.${process.pid}.1700000000002.tmp`;
    for (const f of [stale, otherStale, mine]) writeFileSync(join(dir, f), 'partial');
    writeFileSync(join(dir, 'notes.tmp'), 'not ours');
    await nn.saveCheckpoint(path, { model: newModel(), epoch: 3 });
    expect(readdirSync(dir).sort()).toEqual([mine, 'notes.tmp', 'run.safetensors'].sort());
    expect((await nn.loadCheckpoint(path, { model: newModel() })).epoch).toBe(3);
  });
});
