/** upload / fill / read / dispose / copyInto / stats / sync. */
import { fillKernel } from '@webgrad/kernels-wgsl';
import type { Backend, TypedArray } from '../../backend';
import { scalarOf, type Context } from './context';
import { forParts } from './split';

/** Fills of up to this many values are written from the host rather than dispatched. */
const SMALL_FILL = 1024;

type MemoryMethods = Pick<Backend, 'upload' | 'fill' | 'read' | 'dispose' | 'stats' | 'sync' | 'copyInto'>;

export function memoryMethods(ctx: Context): MemoryMethods {
  const q = ctx.queue;
  return {
    upload(data, dtype) {
      const t = scalarOf('upload', dtype);
      const arr: TypedArray = t === 'f32'
        ? (data instanceof Float32Array ? data : Float32Array.from(data))
        : (data instanceof Int32Array ? data : Int32Array.from(data));
      const s = ctx.alloc(arr.length, 'upload', true);
      if (arr.length) q.write(s.buffer, 0, arr);
      return s;
    },
    fill(size, value, dtype) {
      const t = scalarOf('fill', dtype);
      // Stored as the cpu backend would store it in an Int32Array.
      const v = t === 'i32' ? Int32Array.of(value)[0] : value;
      // A small fill (a scalar operand, a counter) is cheaper to write than to dispatch.
      const written = !Object.is(v, 0) && size <= SMALL_FILL;
      const s = ctx.alloc(size, 'fill', written);
      if (Object.is(v, 0)) q.clear(s.buffer, size * 4);
      else if (written) q.write(s.buffer, 0, t === 'f32' ? new Float32Array(size).fill(v) : new Int32Array(size).fill(v));
      else forParts(ctx, 'fill', size, [{ buffer: s.buffer, rowElems: 1, written: 'out' }], (_, n, bind) => q.run(fillKernel(n, v, t), bind));
      return s;
    },
    async read(s, size, dtype) {
      const t = scalarOf('read', dtype);
      const buffer = ctx.buf(s, 'read');
      if (size === 0) return t === 'f32' ? new Float32Array(0) : new Int32Array(0);
      const bytes = await q.read(buffer, size * 4);
      return t === 'f32' ? new Float32Array(bytes) : new Int32Array(bytes);
    },
    dispose(s) {
      ctx.dispose(s);
    },
    stats() {
      return { buffers: ctx.liveBuffers, bytes: ctx.liveBytes };
    },
    async sync() {
      await q.sync();
    },
    copyInto(dst, src, size, dtype) {
      scalarOf('copyInto', dtype);
      q.copy(ctx.buf(src, 'copyInto'), ctx.buf(dst, 'copyInto'), size * 4);
    },
  };
}
