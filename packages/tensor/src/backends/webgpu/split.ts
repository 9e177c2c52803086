/**
 * Ops whose tensors exceed the binding limit (maxStorageBufferBindingSize) but fit in a
 * buffer run in parts: each part binds a sub-range of the big buffers (byte offsets on
 * minStorageBufferOffsetAlignment) and dispatches the same kernel with a smaller leading
 * dimension (rows of a matrix, batch items, planes, elements). When everything binds whole,
 * forParts runs the op once over the whole buffers, exactly as without splitting.
 */
import { accumulateKernel } from '@webgrad/kernels-wgsl';
import { checkBindingFits } from '../../limits';
import { bindingBuffer, bindingBytes, bindingOffset } from './buffers';
import type { Context } from './context';
import type { Binding, Slice } from './queue';

/**
 * One buffer of a split op: `rowElems` 4-byte values per row of the split dimension (its
 * rows [lo, lo + count) are bound for each part), or null to bind it whole in every part.
 * `written`: the op writes it ('out') or reads and writes it ('inout'). `buffer` may be a
 * slice (a storage packed in an arena): parts are cut from its range.
 */
export interface Operand {
  buffer: Binding;
  rowElems: number | null;
  written?: 'out' | 'inout';
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/**
 * Runs `part(lo, count, bindings)` for consecutive row ranges covering [0, rows), each as
 * large as the binding limit allows; `otherBytes(count)`, when given, is the largest other
 * binding a part of `count` rows needs (scratch of a multi-pass plan, a strided window),
 * which must fit too. Throws a DeviceLimitError naming `what` when even one row is too large.
 *
 * Parts start on rows whose byte offsets are multiples of minStorageBufferOffsetAlignment
 * in every split buffer when such parts fit; otherwise (long rows of odd length) a part
 * whose offset is not aligned goes through a scratch buffer: copied in before, out after.
 */
export function forParts(ctx: Context, what: string, rows: number, operands: Operand[],
  part: (lo: number, count: number, bindings: Binding[]) => void, otherBytes?: (count: number) => number): void {
  const limit = ctx.limits.maxBindingBytes;
  const fits = otherBytes && ((n: number) => otherBytes(n) <= limit);
  if (operands.every((o) => bindingBytes(o.buffer) <= limit) && (fits?.(rows) ?? true)) {
    part(0, rows, operands.map((o) => o.buffer));
    return;
  }
  const isSplit = (o: Operand) => o.rowElems !== null && o.rowElems > 0;
  const split = operands.filter(isSplit);
  const align = ctx.bindingAlignment;
  let aligned = 1;
  for (const o of split) {
    const need = align / gcd(align, o.rowElems! * 4);
    aligned = (aligned * need) / gcd(aligned, need);
  }
  const widest = Math.max(4, ...split.map((o) => o.rowElems! * 4));
  const step = aligned * widest <= limit ? aligned : 1;
  let count = Math.floor(Math.floor(limit / widest) / step) * step;
  while (count > step && fits && !fits(count)) count = Math.max(step, Math.floor(count / 2 / step) * step);
  if (count < 1) checkBindingFits(`${what}, split into parts of one row,`, 'webgpu', ctx.limits, widest);
  if (fits && !fits(Math.min(count, rows))) checkBindingFits(`${what}, split into parts of ${count} rows,`, 'webgpu', ctx.limits, otherBytes(Math.min(count, rows)));
  const q = ctx.queue;
  const staging = new Map<Operand, GPUBuffer>();
  try {
    for (let lo = 0; lo < rows; lo += count) {
      const n = Math.min(count, rows - lo);
      const copyOut: [from: GPUBuffer, to: GPUBuffer, offset: number, bytes: number][] = [];
      const bindings = operands.map((o): Binding => {
        if (!isSplit(o)) return o.buffer;
        const offset = bindingOffset(o.buffer) + lo * o.rowElems! * 4, bytes = n * o.rowElems! * 4;
        if (offset % align === 0) return slice(o.buffer, lo * o.rowElems!, n * o.rowElems!);
        let s = staging.get(o);
        if (!s) staging.set(o, (s = q.storageBuffer(count * o.rowElems! * 4, `${what} (staging)`)));
        if (o.written !== 'out') q.copyRange(bindingBuffer(o.buffer), offset, s, 0, bytes);
        if (o.written) copyOut.push([s, bindingBuffer(o.buffer), offset, bytes]);
        return slice(s, 0, n * o.rowElems!);
      });
      part(lo, n, bindings);
      for (const [from, to, offset, bytes] of copyOut) q.copyRange(from, 0, to, offset, bytes);
    }
  } finally {
    for (const s of staging.values()) q.releaseBuffer(s);
  }
}

/**
 * Values [start, start + elements) of a binding (a buffer, or a slice of one), rounded up to
 * whole 16-byte units inside it, since kernels read contiguous operands as vec4 (the last
 * part's tail is scratch).
 */
export function slice(binding: Binding, start: number, elements: number): Slice {
  const base = bindingOffset(binding), offset = base + start * 4;
  return { buffer: bindingBuffer(binding), offset, size: Math.min(Math.ceil((elements * 4) / 16) * 16, base + bindingBytes(binding) - offset) };
}

/** Whether every binding fits the binding limit (the common case: no splitting needed). */
export function bindsWhole(ctx: Context, bindings: Binding[]): boolean {
  return bindings.every((b) => bindingBytes(b) <= ctx.limits.maxBindingBytes);
}

/**
 * Sums parts of a result: `run(into)` is called once per part with a buffer of `elements`
 * values to write; the first part writes `out` itself, later ones a scratch buffer that is
 * then added to `out`.
 */
export class Accumulator {
  private scratch: GPUBuffer | null = null;
  private first = true;
  constructor(private ctx: Context, private out: GPUBuffer, private elements: number) {}

  target(): GPUBuffer {
    if (this.first) return this.out;
    return (this.scratch ??= this.ctx.queue.storageBuffer(this.elements * 4, 'partial sum'));
  }

  /** After the part wrote target(). */
  add(): void {
    if (!this.first) this.ctx.queue.run(accumulateKernel(this.elements), [this.scratch!, this.out]);
    this.first = false;
  }

  done(): void {
    if (this.scratch) this.ctx.queue.releaseBuffer(this.scratch);
  }
}
