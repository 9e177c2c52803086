/**
 * GPU buffers for storages, recycled through a pool keyed by size class.
 *
 * A released buffer may still be read by commands in the encoder that has not been
 * submitted yet. Handing it out again to be written by a later command of that encoder is
 * safe (commands run in order), and is what keeps one encoder's memory flat: a jit replay
 * encodes a whole training step, freeing each intermediate after its last reader. Writing it
 * from the host is not: queue.writeBuffer runs before that submit and would corrupt the
 * pending reads. So a release made while commands are pending is `deferred` until the next
 * submit: acquire hands it out only for a buffer that commands will write (not for an
 * upload), and marks it `recycledPending`, which makes the queue submit before any host
 * write to it all the same (Queue.write). A deferred buffer is never destroyed before the
 * submit (pending commands name it).
 */
import type { Storage } from '../../backend';
import type { Binding } from './queue';

/** WebGPU wants sizes that are multiples of 4; 16 keeps vec4 views of any buffer whole. */
const ALIGN = 16;
/** Pooled bytes above this are destroyed instead of kept. */
const POOL_CAP_BYTES = 1 << 30;

const CLASS_STEPS = [1, 1.25, 1.5, 1.75, 2];

/** Sizes up to 256 B round to 16; above, to 1, 1.25, 1.5 or 1.75 times a power of two. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
  const pow = 2 ** Math.floor(Math.log2(bytes));
  for (const f of CLASS_STEPS) {
    const c = Math.ceil((pow * f) / ALIGN) * ALIGN;
    if (c >= bytes) return c;
  }
  return 2 * pow;
}

/**
 * Sizes and usages of the buffers made here, known without asking the buffer: each
 * GPUBuffer getter is a call into the native binding (in Node, an N-API crossing).
 */
const described = new WeakMap<GPUBuffer, { size: number; key: number; id: number }>();

/** The free list a buffer goes to: usage and size class, as one number (usage flags take 10 bits; sizes stay below 2^43). */
const poolKey = (usage: number, size: number) => size * 1024 + usage;
let nextId = 1;

/** What the pool knows of a buffer it made (size, pool key, creation id, unique per process); undefined for one made elsewhere. */
export function describedBuffer(buffer: GPUBuffer): { size: number; key: number; id: number } | undefined {
  return described.get(buffer);
}

/** A buffer's size in bytes. */
export function bufferBytes(buffer: GPUBuffer): number {
  return described.get(buffer)?.size ?? buffer.size;
}

/**
 * A buffer that holds several storages at aligned byte offsets (the optimizer's packed
 * parameters and state, see ./pack.ts). It goes back to the pool when its last storage is
 * released, with the buffers listed in `companions` (scratch that lives as long as it).
 */
export class Arena {
  refs = 0;
  readonly companions: GPUBuffer[] = [];
  /** Whatever packed it (./pack.ts keeps its layout here). */
  owner: unknown = null;
  constructor(readonly buffer: GPUBuffer) {}
}

/**
 * A tensor's values on the device: a buffer of its own, or a slot of an arena (bytes at
 * `offset`). Ops bind `binding` (Context.buf); a storage fresh from Context.alloc is never in
 * an arena, so an op may bind its own new output as `buffer`. Packing moves a storage into
 * an arena in place: the object, which tensors hold, keeps its identity.
 */
export class GpuStorage implements Storage {
  disposed = false;
  readonly bytes: number;
  buffer: GPUBuffer;
  offset = 0;
  arena: Arena | null = null;
  binding: Binding;
  constructor(buffer: GPUBuffer, bytes = bufferBytes(buffer)) {
    this.buffer = buffer;
    this.binding = buffer;
    this.bytes = bytes;
  }

  /** Points this storage at bytes [offset, offset + bytes) of `arena` (the caller copied the values there). */
  moveTo(arena: Arena, offset: number): void {
    this.buffer = arena.buffer;
    this.offset = offset;
    this.arena = arena;
    this.binding = { buffer: arena.buffer, offset, size: this.bytes };
    arena.refs++;
  }
}

/** The buffer a binding is part of, its byte offset and size. */
export const bindingBuffer = (b: Binding): GPUBuffer => ('offset' in b ? b.buffer : b);
export const bindingOffset = (b: Binding): number => ('offset' in b ? b.offset : 0);
export const bindingBytes = (b: Binding): number => ('offset' in b ? b.size : bufferBytes(b));

/** Free buffers of one size class, with their creation ids (parallel arrays). */
interface FreeList {
  buffers: GPUBuffer[];
  ids: number[];
}

/**
 * Hands out the free buffer made first (lowest id), so that a training loop, which asks for
 * the same sizes in the same order each step from the same free set, gets the same buffers
 * each step: the queue's cached bind groups then match (LIFO order would permute them).
 */
export class BufferPool {
  private free = new Map<number, FreeList>();
  /** Released while commands were pending, by pool key: reusable by commands, kept from destruction until the submit. */
  private deferred = new Map<number, GPUBuffer[]>();
  /** Deferred buffers handed out again before the submit: a host write to one must wait for it. */
  private recycled = new Set<GPUBuffer>();
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

  /** A buffer of at least `bytes`; `hostWritten`: never one freed while commands that read it are pending (see above). */
  acquire(bytes: number, usage: GPUBufferUsageFlags, what: string, hostWritten = false): GPUBuffer {
    let size = sizeClass(bytes);
    // A buffer is bound whole: rounding up to a class must not push a fitting size past the binding limit.
    if (size > this.maxBindingSize && bytes <= this.maxBindingSize) size = Math.ceil(bytes / ALIGN) * ALIGN;
    if (size > this.maxBufferSize) {
      throw new Error(`webgpu: ${what} needs a buffer of ${bytes} bytes, more than this adapter allows (${this.maxBufferSize})`);
    }
    const key = poolKey(usage, size);
    const list = this.free.get(key);
    if (list && list.buffers.length > 0) {
      const { buffers, ids } = list;
      let best = 0;
      for (let i = 1; i < ids.length; i++) if (ids[i] < ids[best]) best = i;
      const reused = buffers[best];
      const last = buffers.length - 1;
      buffers[best] = buffers[last];
      ids[best] = ids[last];
      buffers.pop();
      ids.pop();
      this.pooledBytes -= size;
      return reused;
    }
    const waiting = hostWritten ? undefined : this.deferred.get(key);
    if (waiting && waiting.length > 0) {
      const reused = waiting.shift()!;
      this.recycled.add(reused);
      return reused;
    }
    const buffer = this.device.createBuffer({ size, usage });
    described.set(buffer, { size, key, id: nextId++ });
    return buffer;
  }

  /** Returns a buffer; `pending` when commands not yet submitted may still use it. */
  release(buffer: GPUBuffer, pending: boolean): void {
    const key = described.get(buffer)?.key ?? poolKey(buffer.usage, buffer.size);
    if (pending) {
      let list = this.deferred.get(key);
      if (!list) this.deferred.set(key, (list = []));
      list.push(buffer);
    } else {
      this.recycled.delete(buffer);
      this.keep(key, buffer);
    }
  }

  /** Whether a host write to this buffer must wait for a submit (it was reused while commands that read it are pending). */
  recycledPending(buffer: GPUBuffer): boolean {
    return this.recycled.size > 0 && this.recycled.has(buffer);
  }

  /** After a submit: the deferred buffers join the free lists (FIFO within a size, as released). */
  releaseDeferred(): void {
    const d = this.deferred;
    this.deferred = new Map();
    this.recycled.clear();
    for (const [key, list] of d) for (const b of list) this.keep(key, b);
  }

  private keep(key: number, buffer: GPUBuffer): void {
    const size = bufferBytes(buffer);
    if (this.pooledBytes + size > POOL_CAP_BYTES) {
      this.destroyed(buffer);
      buffer.destroy();
      return;
    }
    let list = this.free.get(key);
    if (!list) this.free.set(key, (list = { buffers: [], ids: [] }));
    list.buffers.push(buffer);
    list.ids.push(described.get(buffer)?.id ?? 0);
    this.pooledBytes += size;
  }

  /** Destroys the free buffers (not the deferred ones): after a re-layout, they are mostly of sizes nothing asks for again. */
  trim(): void {
    for (const list of this.free.values()) {
      for (const b of list.buffers) {
        this.destroyed(b);
        b.destroy();
      }
    }
    this.free.clear();
    this.pooledBytes = 0;
  }

  destroyAll(): void {
    for (const list of this.free.values()) for (const b of list.buffers) b.destroy();
    for (const list of this.deferred.values()) for (const b of list) b.destroy();
    this.free.clear();
    this.deferred = new Map();
    this.recycled.clear();
    this.pooledBytes = 0;
  }
}
