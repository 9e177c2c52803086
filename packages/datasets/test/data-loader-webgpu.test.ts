import { releaseWebGPU } from '@webgrad/tensor';
import { afterAll, describe, expect, it } from 'vitest';
import { DataLoader } from '../src/node';
import { sharedBytes, type ImageSet } from '../src/image-set';
import { transforms } from '../src/transforms';
import { openWebGPU } from './helpers/webgpu';

const webgpu = (await openWebGPU()).ok;
afterAll(() => releaseWebGPU());

describe.skipIf(!webgpu)('DataLoader on webgpu', () => {
  it('puts x and y on the device asked for, with the same values as on cpu', async () => {
    const images = sharedBytes(6 * 3 * 4 * 4).map((_, i) => (i * 5) % 256);
    const set: ImageSet = { images, labels: Int32Array.from([5, 4, 3, 2, 1, 0]), count: 6, channels: 3, height: 4, width: 4, classes: ['0', '1', '2', '3', '4', '5'], skipped: [] };
    const opts = { batchSize: 4, shuffle: true, seed: 2, workers: 1, transforms: [transforms.randomCrop(4, { padding: 1 }), transforms.normalize([0.5], [0.5])] };
    const gpu = new DataLoader(set, { ...opts, device: 'webgpu' });
    const cpu = new DataLoader(set, { ...opts, device: 'cpu' });
    const onCpu = [];
    for await (const b of cpu) onCpu.push({ x: await b.x.data(), y: await b.y.data() });
    let i = 0;
    for await (const b of gpu) {
      expect([b.x.device, b.y.device, b.y.dtype]).toEqual(['webgpu', 'webgpu', 'int32']);
      expect([...(await b.y.data())]).toEqual([...onCpu[i].y]);
      expect([...(await b.x.data())]).toEqual([...onCpu[i].x]);
      b.x.dispose();
      b.y.dispose();
      i++;
    }
    expect(i).toBe(2);
    await Promise.all([gpu.close(), cpu.close()]);
  });
});
