import { describe, expect, it } from 'vitest';
import { resizeToPlanar } from '../src/resize';

const grey = (width: number, height: number, values: number[]) => ({ width, height, channels: 1, data: Uint8Array.from(values) });

describe('resizeToPlanar', () => {
  it('enlarges bilinearly with half-pixel centres', () => {
    expect([...resizeToPlanar(grey(2, 1, [0, 255]), 1, 4)]).toEqual([0, 64, 191, 255]);
  });

  it('shrinks by averaging the area each output pixel covers, also for uneven factors', () => {
    expect([...resizeToPlanar(grey(3, 1, [0, 90, 180]), 1, 2)]).toEqual([30, 150]);
    expect([...resizeToPlanar(grey(2, 2, [10, 20, 30, 40]), 1, 1)]).toEqual([25]);
  });

  it('turns interleaved RGB into planes, unchanged at the same size', () => {
    const rgb = { width: 2, height: 1, channels: 3, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    expect([...resizeToPlanar(rgb, 1, 2)]).toEqual([1, 4, 2, 5, 3, 6]);
  });
});
