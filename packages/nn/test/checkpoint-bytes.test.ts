import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';

describe('safetensors through bytes (the browser path)', () => {
  it('a model state round-trips through bytes and a File, names, shapes and values intact', async () => {
    wg.manualSeed(3);
    const model = nn.simpleCnn({ blocks: 1, channels: 4, inputSize: 8, numClasses: 3 });
    const state = model.stateDict();
    const bytes = await nn.safetensorsBytes(state, { note: 'playground' });
    const file = new File([bytes as Uint8Array<ArrayBuffer>], 'weights.safetensors');
    const { tensors, metadata } = await nn.readSafetensorsFile(file);
    expect(metadata).toEqual({ note: 'playground' });
    expect(Object.keys(tensors).sort()).toEqual(Object.keys(state).sort());
    for (const [k, t] of Object.entries(state)) {
      expect(tensors[k].shape).toEqual(t.shape);
      expect(tensors[k].dtype).toBe(t.dtype);
      expect([...tensors[k].dataSync()]).toEqual([...t.dataSync()]);
    }
    const other = nn.simpleCnn({ blocks: 1, channels: 4, inputSize: 8, numClasses: 3 });
    other.loadStateDict(tensors);
    expect([...other.parameters()[0].dataSync()]).toEqual([...model.parameters()[0].dataSync()]);
  });

  it('a file that is not safetensors fails with its name', async () => {
    const file = new File([new Uint8Array([1, 2, 3])], 'cat.png');
    await expect(nn.readSafetensorsFile(file)).rejects.toThrow(/readSafetensorsFile\(cat\.png\)/);
  });

  it('downloadSafetensors outside a page says what to use instead', async () => {
    await expect(nn.downloadSafetensors('w.safetensors', { a: wg.zeros([2]) })).rejects.toThrow(/no document.*saveSafetensors/);
  });
});
