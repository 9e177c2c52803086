import { describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import { DataLoader, TensorDataset, type Batch, type Dataset } from '../src/node';

async function epochOf(loader: DataLoader): Promise<{ x: number[][]; y: number[][]; shapes: number[][] }> {
  const out = { x: [] as number[][], y: [] as number[][], shapes: [] as number[][] };
  for await (const b of loader as AsyncIterable<Batch>) {
    out.x.push([...b.x.dataSync()]);
    out.y.push([...b.y.dataSync()]);
    out.shapes.push([...b.x.shape, ...b.y.shape]);
    b.x.dispose();
    b.y.dispose();
  }
  return out;
}

describe('Dataset and TensorDataset in the DataLoader', () => {
  const x = wg.arange(0, 7 * 2 * 3).float().reshape([7, 2, 3]);
  const y = wg.tensor([0, 1, 2, 0, 1, 2, 0], { dtype: 'int32' });

  it('TensorDataset: rows as samples, batches the same on worker threads as here', async () => {
    const d = new TensorDataset(x, y);
    expect(d.length).toBe(7);
    const [x3, y3] = d.get(3);
    expect([x3.shape, [...x3.dataSync()], y3.shape, await y3.item()]).toEqual([[2, 3], [18, 19, 20, 21, 22, 23], [], 0]);
    const here = await epochOf(new DataLoader(d, { batchSize: 3, shuffle: true, seed: 5, workers: 0 }));
    const workers = await epochOf(new DataLoader(d, { batchSize: 3, shuffle: true, seed: 5, workers: 1 }));
    expect(workers).toEqual(here);
    expect(here.shapes).toEqual([[3, 2, 3, 3], [3, 2, 3, 3], [1, 2, 3, 1]]);
    // Every sample once, each x row with its own label.
    const firstValues = here.x.flatMap((b) => b.filter((_, i) => i % 6 === 0));
    expect([...firstValues].sort((a, b) => a - b)).toEqual([0, 6, 12, 18, 24, 30, 36]);
    const labels = here.y.flat();
    firstValues.forEach((v, i) => expect(labels[i]).toBe([0, 1, 2, 0, 1, 2, 0][v / 6]));
    const dropped = new DataLoader(d, { batchSize: 3, dropLast: true, workers: 0 });
    expect(dropped.length).toBe(2);
  });

  it('any Dataset (length + get) with number labels batches to int32 targets', async () => {
    const squares: Dataset = { length: 5, get: (i) => ({ x: wg.tensor([i, i * i]), y: i % 2 }) };
    const { x: xs, y: ys, shapes } = await epochOf(new DataLoader(squares, { batchSize: 2 }));
    expect(shapes).toEqual([[2, 2, 2], [2, 2, 2], [1, 2, 1]]);
    expect(xs).toEqual([[0, 0, 1, 1], [2, 4, 3, 9], [4, 16]]);
    expect(ys).toEqual([[0, 1], [0, 1], [0]]);
  });

  it('misuse names the problem', () => {
    expect(() => new TensorDataset(x, wg.zeros([6]))).toThrow('TensorDataset: x [7,2,3] and y [6] must have the same first dim');
    expect(() => new TensorDataset(x, y).get(7)).toThrow('TensorDataset: index 7 is out of range for 7 samples');
    expect(() => new DataLoader(new TensorDataset(x, y), { batchSize: 2, transforms: [{ kind: 'toTensor' }] })).toThrow(/transforms apply to image sets/);
  });
});
