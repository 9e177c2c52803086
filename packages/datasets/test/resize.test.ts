import { describe, expect, it } from 'vitest';
import { resizeToPlanar } from '../src/resize';

const grey = (width: number, height: number, values: number[]) => ({ width, height, channels: 1, data: Uint8Array.from(values) });

describe('resizeToPlanar', () => {
  it('enlarges bilinearly with half-pixel centres (PIL and area agree there)', () => {
    expect([...resizeToPlanar(grey(2, 1, [0, 255]), 1, 4)]).toEqual([0, 64, 191, 255]);
    expect([...resizeToPlanar(grey(2, 1, [0, 255]), 1, 4, undefined, 'area')]).toEqual([0, 64, 191, 255]);
  });

  it("shrinks with PIL's bilinear by default: a tent 1.5 source pixels wide each side for 3→2", () => {
    // Output 0 is centred at 0.75: weights 1.25-|x-0.75|/1.5 on pixels 0, 1 → 34, not area's 30.
    expect([...resizeToPlanar(grey(3, 1, [0, 90, 180]), 1, 2)]).toEqual([34, 146]);
    expect([...resizeToPlanar(grey(3, 1, [0, 90, 180]), 1, 2, undefined, 'bilinear')]).toEqual([34, 146]);
  });

  it("'area' averages the area each output pixel covers, also for uneven factors", () => {
    expect([...resizeToPlanar(grey(3, 1, [0, 90, 180]), 1, 2, undefined, 'area')]).toEqual([30, 150]);
    expect([...resizeToPlanar(grey(2, 2, [10, 20, 30, 40]), 1, 1, undefined, 'area')]).toEqual([25]);
  });

  it("'nearest' picks the source pixel under each output centre, as PIL", () => {
    expect([...resizeToPlanar(grey(4, 1, [1, 2, 3, 4]), 1, 2, undefined, 'nearest')]).toEqual([2, 4]);
    expect([...resizeToPlanar(grey(2, 1, [1, 2]), 1, 4, undefined, 'nearest')]).toEqual([1, 1, 2, 2]);
  });

  it('refuses an unknown filter, naming the ones there are', () => {
    expect(() => resizeToPlanar(grey(2, 1, [1, 2]), 1, 1, undefined, 'bicubic' as never)).toThrow(/'bilinear', 'nearest', 'area', got "bicubic"/);
  });

  it('turns interleaved RGB into planes, unchanged at the same size', () => {
    const rgb = { width: 2, height: 1, channels: 3, data: Uint8Array.from([1, 2, 3, 4, 5, 6]) };
    expect([...resizeToPlanar(rgb, 1, 2)]).toEqual([1, 4, 2, 5, 3, 6]);
  });
});
