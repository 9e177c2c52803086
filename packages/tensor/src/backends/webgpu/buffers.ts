/**
 * GPU buffers for storages, recycled through a pool keyed by size class.
 *
 * A released buffer may still be read by commands in the encoder that has not been
 * submitted yet; handing it out again and writing it with queue.writeBuffer (which runs
 * before that submit) would corrupt them. So releases made while commands are pending wait
 * in `deferred` until the next submit (see Queue.flush).
 */
import type { Storage } from '../../backend';

/** WebGPU wants sizes that are multiples of 4; 16 keeps vec4 views of any buffer whole. */
const ALIGN = 16;
/** Pooled bytes above this are destroyed instead of kept. */
const POOL_CAP_BYTES = 1 << 30;

/** Sizes up to 256 B round to 16; above, to 1, 1.25, 1.5 or 1.75 times a power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const pow = 2 ** Math.floor(Math.log2(bytes));
  for (const f of [1, 1.25, 1.5, 1.75, 2]) {
    const c = Math.ceil((pow * f) / ALIGN) * ALIGN;
    if (c >= bytes) return c;
  }
  return 2 * pow;
}

/**
 * Sizes and usages of the buffers made here, known without asking the buffer: each
 * GPUBuffer getter is a call into the native binding (in Node, an N-API crossing).
 */
const described = new WeakMap<GPUBuffer, { size: number; key: string }>();

/** A buffer's size in bytes. */
export function bufferBytes(buffer: GPUBuffer): number {
  return described.get(buffer)?.size ?? buffer.size;
}

export class GpuStorage implements Storage {
  disposed = false;
  readonly bytes: number;
  constructor(readonly buffer: GPUBuffer) {
    this.bytes = bufferBytes(buffer);
  }
}

export class BufferPool {
  private free = new Map<string, GPUBuffer[]>();
  private deferred: [string, GPUBuffer][] = [];
  private pooledBytes = 0;

  /**
   * @param destroyed told before the pool destroys a buffer (the queue's bind groups that
   *   name it must go)
   */
  constructor(
    private device: GPUDevice,
    private maxBufferSize: number,
    private maxBindingSize = maxBufferSize,
    private destroyed: (buffer: GPUBuffer) => void = () => {},
  ) {}

  acquire(bytes: number, usage: GPUBufferUsageFlags, what: string): GPUBuffer {
    let size = sizeClass(bytes);
    // A buffer is bound whole: rounding up to a class must not push a fitting size past the binding limit.
    if (size > this.maxBindingSize && bytes <= this.maxBindingSize) size = Math.ceil(bytes / ALIGN) * ALIGN;
    if (size > this.maxBufferSize) {
      throw new Error(`webgpu: ${what} needs a buffer of ${bytes} bytes, more than this adapter allows (${this.maxBufferSize})`);
    }
    const key = `${usage}:${size}`;
    const list = this.free.get(key);
    const reused = list?.pop();
    if (reused) {
      this.pooledBytes -= size;
      return reused;
    }
    const buffer = this.device.createBuffer({ size, usage });
    described.set(buffer, { size, key });
    return buffer;
  }

  /** Returns a buffer; `pending` when commands not yet submitted may still use it. */
  release(buffer: GPUBuffer, pending: boolean): void {
    const key = described.get(buffer)?.key ?? `${buffer.usage}:${buffer.size}`;
    if (pending) this.deferred.push([key, buffer]);
    else this.keep(key, buffer);
  }

  /** After a submit: the deferred buffers are safe to hand out again. */
  releaseDeferred(): void {
    const d = this.deferred;
    this.deferred = [];
    for (const [key, b] of d) this.keep(key, b);
  }

  private keep(key: string, buffer: GPUBuffer): void {
    const size = bufferBytes(buffer);
    if (this.pooledBytes + size > POOL_CAP_BYTES) {
      this.destroyed(buffer);
      buffer.destroy();
      return;
    }
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = []));
    list.push(buffer);
    this.pooledBytes += size;
  }

  destroyAll(): void {
    for (const list of this.free.values()) for (const b of list) b.destroy();
    for (const [, b] of this.deferred) b.destroy();
    this.free.clear();
    this.deferred = [];
    this.pooledBytes = 0;
  }
}
