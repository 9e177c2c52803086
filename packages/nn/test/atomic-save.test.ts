import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import * as nn from '@webgrad/nn';

/** When set, the next file opened for writing gets half its bytes, then the disk "fills up". */
const crash = { armed: false };

vi.mock('node:fs/promises', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:fs/promises')>();
  const open: typeof real.open = async (...args: Parameters<typeof real.open>) => {
    const fh = await real.open(...args);
    if (!crash.armed || args[1] !== 'w') return fh;
    crash.armed = false;
    const writeFile = async (data: Uint8Array) => {
      await fh.write(data.subarray(0, data.length >> 1));
      throw new Error('ENOSPC: no space left on device, write');
    };
    // Only what writeFileAtomic uses.
    return { writeFile, sync: () => fh.sync(), close: () => fh.close() } as unknown as typeof fh;
  };
  return { ...real, default: { ...real, open }, open };
});

describe('atomic checkpoint writes', () => {
  it('a save that dies half-way through writing never corrupts the last good checkpoint', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-atomic-'));
    const path = join(dir, 'last.safetensors');
    const model = nn.simpleCnn({ blocks: 1, channels: 4, inputSize: 8, numClasses: 2 });
    await nn.saveCheckpoint(path, { model, epoch: 3 });
    const good = readFileSync(path);
    nn.init.zeros_(model.parameters()[0]);
    crash.armed = true;
    await expect(nn.saveCheckpoint(path, { model, epoch: 4 })).rejects.toThrow('ENOSPC');
    expect(crash.armed).toBe(false);
    expect(readFileSync(path).equals(good)).toBe(true);
    expect(readdirSync(dir)).toEqual(['last.safetensors']);
    expect((await nn.loadCheckpoint(path, { model })).epoch).toBe(3);
  });
});
