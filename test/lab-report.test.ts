/**
 * The report's layout fixes: whole-number count axes, text blocks and tables in recorded
 * order, grouped bars that fill their panels with interval whiskers, and image grids that
 * carry their column titles inside the PNG.
 */
import { describe, expect, it } from 'vitest';
import { PNG } from 'pngjs';
import { countAxis, curvesChart, groupedBars } from '../examples/lab/charts';
import { sections } from '../examples/lab/report';
import { imageGrid, titledImageGrid } from '../examples/lab/grid';
import type { ExperimentResult } from '../examples/lab/types';

describe('count axes', () => {
  it('tick whole numbers only, short and long', () => {
    expect(countAxis(1, 3).values).toEqual([1, 2, 3]);
    expect(countAxis(1, 2).values).toEqual([1, 2]);
    const long = countAxis(1, 100).values as number[];
    expect(long[0]).toBe(1);
    expect(long.at(-1)).toBe(100);
    expect(long.length).toBeLessThanOrEqual(12);
    for (const axis of [countAxis(0, 95), countAxis(1, 37), countAxis(1, 1)]) for (const v of axis.values as number[]) expect(Number.isInteger(v)).toBe(true);
  });

  it('the curves chart uses them for its epoch axis', () => {
    const epochs = [1, 2, 3].map((epoch) => ({ epoch, trainLoss: 1 / epoch, trainAccuracy: 0.1 * epoch, testLoss: 1, testAccuracy: 0.1, seconds: 1, imagesPerSecond: 1, lr: 1e-3 }));
    const spec = curvesChart([{ label: 'm', epochs }], 't') as { spec: { encoding: { x: { axis: { values: number[] } } } } };
    expect(spec.spec.encoding.x.axis.values).toEqual([1, 2, 3]);
  });
});

describe('grouped bars', () => {
  const rows = [
    { facet: 'PSNR', x: 'hazy', series: 'hazy', value: 14, low: 12, high: 16 },
    { facet: 'PSNR', x: 'output', series: 'output', value: 18, low: 15, high: 21 },
  ];
  it('one series per x: no offset, no legend, whiskers from low/high, fixed panel width', () => {
    const spec = groupedBars(rows, { title: 't', axis: 'v', columns: 2, width: 300 }) as { spec: { width: unknown; encoding: Record<string, unknown>; layer: { mark: unknown; encoding: Record<string, { legend?: unknown }> }[] } };
    expect(spec.spec.width).toBe(300);
    expect(spec.spec.encoding.xOffset).toBeUndefined();
    expect(spec.spec.layer.map((l) => (typeof l.mark === 'string' ? l.mark : (l.mark as { type: string }).type))).toEqual(['bar', 'text', 'errorbar']);
    expect(spec.spec.layer[0].encoding.color.legend).toBeNull();
  });
  it('several series per x: side by side', () => {
    const spec = groupedBars([...rows, { facet: 'PSNR', x: 'hazy', series: 'output', value: 1 }], { title: 't', axis: 'v' }) as { spec: { encoding: Record<string, unknown> } };
    expect(spec.spec.encoding.xOffset).toBeDefined();
  });
});

describe('sections', () => {
  it('keeps tables where they were recorded among the text blocks', () => {
    const e = {
      blocks: [{ title: '1.4', text: '' }, { title: '1.6', text: '' }, { title: '1.8b', text: '' }],
      tables: [
        { title: '1.5', columns: [], rows: [], afterBlock: 1 },
        { title: 'final', columns: [], rows: [], afterBlock: 3 },
        { title: 'old metrics.json: at the end', columns: [], rows: [] },
      ],
    } as unknown as ExperimentResult;
    expect(sections(e).map((s) => s.title)).toEqual(['1.4', '1.5', '1.6', '1.8b', 'final', 'old metrics.json: at the end']);
  });
});

describe('image grids', () => {
  it('titles sit in a band above the unchanged pixels', async () => {
    const img = (v: number) => ({ data: new Float32Array(3 * 4 * 6).fill(v), width: 6, height: 4 });
    const rows = [[img(0), img(0.5), img(1)]];
    const plain = PNG.sync.read(imageGrid(rows, { scale: 2 }));
    const titled = PNG.sync.read(await titledImageGrid(rows, ['hazy input', 'model output', 'clear'], { scale: 2 }));
    expect(titled.width).toBe(plain.width);
    const band = titled.height - plain.height;
    expect(band).toBeGreaterThan(10);
    // The grid's pixels come through exactly, shifted down by the band.
    let same = 0;
    for (let y = 0; y < plain.height; y++) for (let x = 0; x < plain.width; x++) if (titled.data[((y + band) * titled.width + x) * 4] === plain.data[(y * plain.width + x) * 4]) same++;
    expect(same).toBe(plain.width * plain.height);
    // Some dark text pixels in the band.
    let ink = 0;
    for (let i = 0; i < band * titled.width; i++) if (titled.data[i * 4] < 128) ink++;
    expect(ink).toBeGreaterThan(20);
    await expect(titledImageGrid(rows, ['one'])).rejects.toThrow(/1 titles for 3 columns/);
  });
});
