import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as nn from '@webgrad/nn';
import { AWKWARD_NAMES, HOSTILE_FILES, safetensorsFile } from './fixtures/hostile-safetensors';

/** The longest error message a hostile file may produce (the 8 MB cases once quoted themselves whole). */
const MAX_MESSAGE = 600;

describe('hostile safetensors files are refused with a short, clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'webgrad-hostile-'));
  for (const [i, f] of HOSTILE_FILES.entries()) {
    it(f.name, async () => {
      const bytes = f.bytes();
      let err: unknown;
      try {
        nn.decodeSafetensors(bytes);
      } catch (e) {
        err = e;
      }
      expect(err, 'decodeSafetensors accepted it').toBeInstanceOf(Error);
      const message = (err as Error).message;
      expect(message).toMatch(/^safetensors: /);
      expect(message).toMatch(f.error);
      expect(message.length).toBeLessThan(MAX_MESSAGE);
      // Through a file, the error names it; as a checkpoint, it says what to do.
      const path = join(dir, `hostile-${i}.safetensors`);
      writeFileSync(path, bytes);
      const fromFile = await nn.loadSafetensors(path).catch((e: Error) => e);
      expect(fromFile).toBeInstanceOf(nn.SafetensorsFileError);
      expect((fromFile as Error).message).toContain(`${path} is not a readable safetensors file: ${message}`);
      const checkpoint = await nn.loadCheckpoint(path, { model: new nn.Linear(1, 1) }).catch((e: Error) => e);
      expect(checkpoint).toBeInstanceOf(nn.CheckpointError);
      expect((checkpoint as Error).message).toContain(`checkpoint ${path}: the file is damaged (${message}`);
      expect((checkpoint as Error).message.length).toBeLessThan(MAX_MESSAGE + path.length + 200);
    });
  }
});

describe('tensor names that are also Object.prototype names', () => {
  const header = `{${AWKWARD_NAMES.map((n, i) => `"${n}":{"dtype":"F32","shape":[1],"data_offsets":[${4 * i},${4 * i + 4}]}`).join(',')},"__metadata__":{"__proto__":"m"}}`;
  const bytes = () => safetensorsFile(header, new Uint8Array(new Float32Array(AWKWARD_NAMES.map((_, i) => i + 1)).buffer));

  it('are entries like any other: __proto__ does not replace the result\'s prototype', () => {
    const { tensors, metadata } = nn.tensorsFromSafetensors(bytes());
    expect(Object.keys(tensors)).toEqual(AWKWARD_NAMES);
    expect(Object.getPrototypeOf(tensors)).toBe(null);
    AWKWARD_NAMES.forEach((n, i) => expect(Array.from(tensors[n].dataSync())).toEqual([i + 1]));
    expect(Object.keys(metadata)).toEqual(['__proto__']);
    expect(metadata.__proto__).toBe('m');
    const decoded = nn.decodeSafetensors(bytes());
    expect([...decoded.tensors.keys()]).toEqual(AWKWARD_NAMES);
  });

  it('survive a write and a read, through files too', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'webgrad-names-')), 'names.safetensors');
    const { tensors } = nn.tensorsFromSafetensors(bytes());
    await nn.saveSafetensors(path, tensors);
    const back = await nn.loadSafetensors(path);
    expect(Object.keys(back.tensors)).toEqual(AWKWARD_NAMES);
    expect(Array.from(back.tensors.__proto__.dataSync())).toEqual([1]);
    expect(Object.getPrototypeOf(back.tensors)).toBe(null);
  });

  it('a 100-deep header (deeper than any tensor entry, within the limit) still parses to its error', () => {
    const nested = `{"__metadata__":{"k":"v"},"x":${'['.repeat(100)}${']'.repeat(100)}}`;
    expect(() => nn.decodeSafetensors(safetensorsFile(nested))).toThrow('the header entry of x is an array');
  });
});
