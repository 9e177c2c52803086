/**
 * Encoding and submission. Dispatches go into one pending command encoder (one compute
 * pass kept open across them) and are submitted in batches without waiting; read() and
 * sync() are the only places that wait for the GPU. Pipelines are compiled once per
 * kernel key.
 *
 * What a dispatch costs the host is kept to what it needs, since on a fast GPU that cost is
 * the step time (bench host):
 * - uniform blocks are staged in host memory and written with one writeBuffer per submit
 *   into a ring buffer, bound at a dynamic offset. Queue operations run in order, so the
 *   next submit's write happens after the commands that read the previous contents;
 * - bind groups are cached per (layout, buffers, ranges, uniform size), found by a numeric
 *   hash of those (no string per dispatch): pooled buffers recur from step to step, so a
 *   training loop creates almost none after its first step. Entries naming a buffer the
 *   pool destroys are dropped.
 */
import type { Kernel } from '@webgrad/kernels-wgsl';
import { type DeviceLimits, checkBindingFits } from '../../limits';
import { BufferPool, bindingBuffer, bindingOffset, describedBuffer } from './buffers';

/** Part of a buffer bound to one kernel argument (byte offset and size). */
export interface Slice {
  buffer: GPUBuffer;
  offset: number;
  size: number;
}

/** A whole buffer, or a slice of one. */
export type Binding = GPUBuffer | Slice;

/** What the backend has asked of the device so far (the host's work per op: bench host). */
export interface CommandCounts {
  dispatches: number;
  bindGroups: number;
  /** queue.writeBuffer calls (uniforms, uploads, offset tables). */
  bufferWrites: number;
  submits: number;
}

/** Submit after this many dispatches so the GPU starts while JavaScript encodes more. */
const BATCH = 48;
/** Bytes of the uniform ring: a submit's uniform blocks, each at a multiple of minUniformBufferOffsetAlignment. */
const RING_BYTES = 64 * 1024;
/**
 * Reads up to this many bytes (a loss, a metric) go through staging buffers kept for reuse:
 * a training loop reads its loss every step, and a new mappable buffer each time costs the
 * host a creation and a destruction.
 */
const SMALL_READ_BYTES = 256;
const MAX_SMALL_STAGING = 4;
/** Cached bind groups above this are all dropped (a loop's working set is far smaller). */
const MAX_BIND_GROUPS = 8192;

// Read at call time: in Node the GPU* globals exist only once Dawn has loaded.
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;

/** A compiled kernel: its pipeline and the layout its bind groups follow. */
interface Compiled {
  pipeline: GPUComputePipeline;
  layout: GPUBindGroupLayout;
  /** Identifies the layout (one per storage-access signature) in bind-group keys. */
  layoutId: number;
}

/** A cached bind group and what identifies it. */
interface CachedGroup {
  group: GPUBindGroup;
  layoutId: number;
  uniformBytes: number;
  /** Per binding: buffer id, offset (WHOLE for a whole buffer), size. */
  parts: number[];
}

/** The offset part of a binding that is a whole buffer. */
const WHOLE = -1;

/** One step of a 32-bit multiplicative hash. */
const mix = (h: number, v: number) => Math.imul(h ^ v, 0x9e3779b1) ^ (h >>> 15);

function sameParts(a: number[], b: number[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether parts name buffer `id` (ids at every third place). */
function namesBuffer(parts: number[], id: number): boolean {
  for (let i = 0; i < parts.length; i += 3) if (parts[i] === id) return true;
  return false;
}

export class Queue {
  readonly pool: BufferPool;
  private pipelines = new Map<string, Compiled>();
  private layouts = new Map<string, { layout: GPUBindGroupLayout; id: number }>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  /** The pipeline last set on the open pass. */
  private passPipeline: GPUComputePipeline | null = null;
  private sinceSubmit = 0;
  /** Open oneSubmission calls: while any is, dispatches do not submit in batches. */
  private holding = 0;
  /** Uniform blocks of the pending submit, staged here and written to `ring` on flush. */
  private ring: GPUBuffer;
  private staged = new Uint32Array(RING_BYTES / 4);
  private stagedBytes = 0;
  private uniformAlign: number;
  /** Cached bind groups by the hash of their parts (collisions share a list). */
  private bindGroups = new Map<number, CachedGroup[]>();
  private bindGroupCount = 0;
  /** The parts of the dispatch being encoded: per binding, buffer id, offset (WHOLE for a whole buffer) and size. */
  private parts: number[] = [];
  private bufferIds = new WeakMap<GPUBuffer, number>();
  private nextForeignId = -1;
  /** Unmapped staging buffers of SMALL_READ_BYTES, for small reads. */
  private smallStaging: GPUBuffer[] = [];
  private errors: string[] = [];
  private lostReason: string | null = null;
  readonly counts: CommandCounts = { dispatches: 0, bindGroups: 0, bufferWrites: 0, submits: 0 };

  /**
   * @param maxGridGroups workgroups launched for a grid-stride kernel: a CPU-emulated
   *   adapter pays per workgroup (a few dozen keep its threads busy), a GPU wants thousands.
   */
  /**
   * @param limits what this backend may allocate and bind: the device's, or lower ones it
   *   was asked for (which it enforces itself, see gpu.ts).
   */
  constructor(readonly device: GPUDevice, private maxGridGroups: number, readonly limits: DeviceLimits) {
    this.pool = new BufferPool(device, limits.maxBufferBytes, limits.maxBindingBytes, (b) => this.forgetBuffer(b));
    this.uniformAlign = device.limits.minUniformBufferOffsetAlignment;
    this.ring = device.createBuffer({ size: RING_BYTES, usage: GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST });
    device.addEventListener('uncapturederror', (e) => {
      this.errors.push((e as GPUUncapturedErrorEvent).error.message);
    });
    void device.lost.then((info) => {
      this.lostReason = info.reason === 'destroyed' ? 'the device was destroyed' : `the device was lost: ${info.message}`;
    });
  }

  /** Throws if the device is gone, naming what was attempted. */
  checkAlive(what: string): void {
    if (this.lostReason) throw new Error(`webgpu: cannot ${what}: ${this.lostReason}`);
  }

  get pending(): boolean {
    return this.encoder !== null;
  }

  /** A pooled storage buffer; `hostWritten` when it is to be written from the host (an upload), which a buffer freed during this encoder would make wait for a submit. */
  storageBuffer(bytes: number, what: string, hostWritten = false): GPUBuffer {
    this.checkAlive(what);
    return this.pool.acquire(bytes, storageUsage(), what, hostWritten);
  }

  releaseBuffer(buffer: GPUBuffer): void {
    this.pool.release(buffer, this.pending);
  }

  /**
   * Runs `kernel` over `buffers` (binding order); nothing is encoded for an empty dispatch.
   * A binding above the binding limit is a DeviceLimitError here, before anything is
   * encoded: ops that can split (./split.ts) never pass one.
   */
  run(kernel: Kernel, buffers: Binding[]): void {
    let [x, y, z] = kernel.dispatch;
    if (x * y * z === 0) return;
    if (kernel.gridStride) [x, y] = [Math.min(x * y, this.maxGridGroups), 1];
    if (buffers.length !== kernel.storage.length) {
      throw new Error(`webgpu: kernel ${kernel.key} takes ${kernel.storage.length} buffers, got ${buffers.length}`);
    }
    const compiled = this.pipeline(kernel);
    const uniformBytes = kernel.params.byteLength;
    // The bind group's identity: the layout, the uniform size and per binding (buffer id, offset, size), hashed as numbers;
    // each binding is checked against the binding limit on the way.
    const parts = this.parts;
    parts.length = 0;
    let hash = mix(compiled.layoutId, uniformBytes);
    for (let i = 0; i < buffers.length; i++) {
      const b = buffers[i];
      const slice = 'offset' in b;
      const buffer = slice ? b.buffer : b;
      // One lookup gives the size and the id (each GPUBuffer getter is an N-API call).
      const described = describedBuffer(buffer);
      const id = described ? described.id : this.foreignId(buffer);
      const bytes = slice ? b.size : described ? described.size : buffer.size;
      if (bytes > this.limits.maxBindingBytes) checkBindingFits(`kernel ${kernel.key} (argument ${i})`, 'webgpu', this.limits, bytes);
      const offset = slice ? b.offset : WHOLE;
      parts.push(id, offset, bytes);
      hash = mix(mix(mix(hash, id), offset), bytes);
    }
    const offset = this.stageUniforms(kernel.params);
    const group = this.bindGroup(hash, compiled, buffers, uniformBytes);
    const pass = this.computePass();
    if (this.passPipeline !== compiled.pipeline) {
      pass.setPipeline(compiled.pipeline);
      this.passPipeline = compiled.pipeline;
    }
    // A plain array: Dawn's typed-array overload (offsets, start, length) costs more per call (about 0.4 µs).
    pass.setBindGroup(0, group, [offset]);
    pass.dispatchWorkgroups(x, y, z);
    this.counts.dispatches++;
    if (++this.sinceSubmit >= BATCH && this.holding === 0) this.flush();
  }

  /**
   * Runs `run` with its commands in one encoder (a jit replay): no batch is submitted while
   * it runs. The batching above lets the GPU start on an eager step while JavaScript still
   * issues it; a replay issues a whole step in about a millisecond, so one command buffer
   * costs the GPU little waiting and the host one submit. Afterwards the usual rule holds: a
   * full batch goes now, a smaller one with the next command that waits (the loss read
   * appends its copy to the same encoder). Freed buffers are reused within the encoder
   * (BufferPool), so the step's memory stays its live set.
   */
  oneSubmission(run: () => void): void {
    this.holding++;
    try {
      run();
    } finally {
      this.holding--;
    }
    if (this.holding === 0 && this.sinceSubmit >= BATCH) this.flush();
  }

  /** Copies a uniform block into this submit's staging area; its offset in the ring. */
  private stageUniforms(params: Uint32Array): number {
    const bytes = params.byteLength;
    if (bytes > RING_BYTES) throw new Error(`webgpu: a uniform block of ${bytes} bytes exceeds the ring (${RING_BYTES})`);
    let offset = Math.ceil(this.stagedBytes / this.uniformAlign) * this.uniformAlign;
    if (offset + bytes > RING_BYTES) {
      this.flush();
      offset = 0;
    }
    // offset is a multiple of uniformAlign (at least 4): the words go in whole. A loop, not
    // staged.set(): for a block of a few words the builtin's call costs more than the copy.
    const staged = this.staged;
    const at = offset / 4;
    for (let i = 0; i < params.length; i++) staged[at + i] = params[i];
    this.stagedBytes = offset + bytes;
    return offset;
  }

  /** The bind-group id of a buffer the pool did not make: negative, apart from the pool's ids. */
  private foreignId(buffer: GPUBuffer): number {
    let id = this.bufferIds.get(buffer);
    if (id === undefined) this.bufferIds.set(buffer, (id = this.nextForeignId--));
    return id;
  }

  /** The cached bind group with these parts (this.parts), or a new one. */
  private bindGroup(hash: number, compiled: Compiled, buffers: Binding[], uniformBytes: number): GPUBindGroup {
    const parts = this.parts;
    const candidates = this.bindGroups.get(hash);
    if (candidates) {
      for (const c of candidates) if (c.layoutId === compiled.layoutId && c.uniformBytes === uniformBytes && sameParts(c.parts, parts)) return c.group;
    }
    const entries: GPUBindGroupEntry[] = buffers.map((b, binding) => ({ binding, resource: 'offset' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } }));
    entries.push({ binding: buffers.length, resource: { buffer: this.ring, offset: 0, size: uniformBytes } });
    const group = this.device.createBindGroup({ layout: compiled.layout, entries });
    this.counts.bindGroups++;
    if (this.bindGroupCount >= MAX_BIND_GROUPS) {
      this.bindGroups.clear();
      this.bindGroupCount = 0;
    }
    const cached: CachedGroup = { group, layoutId: compiled.layoutId, uniformBytes, parts: parts.slice() };
    const list = this.bindGroups.get(hash);
    if (list) list.push(cached);
    else this.bindGroups.set(hash, [cached]);
    this.bindGroupCount++;
    return group;
  }

  /** A buffer about to be destroyed: the bind groups that name it go (its id is never reused). */
  private forgetBuffer(buffer: GPUBuffer): void {
    const id = describedBuffer(buffer)?.id ?? this.bufferIds.get(buffer);
    if (id === undefined) return;
    for (const [hash, list] of this.bindGroups) {
      const kept = list.filter((c) => !namesBuffer(c.parts, id));
      this.bindGroupCount -= list.length - kept.length;
      if (kept.length === 0) this.bindGroups.delete(hash);
      else if (kept.length < list.length) this.bindGroups.set(hash, kept);
    }
  }

  /** queue.writeBuffer, counted; after a submit when pending commands read the buffer's previous contents (see BufferPool). */
  write(buffer: GPUBuffer, offset: number, data: ArrayBuffer | ArrayBufferView): void {
    if (this.pool.recycledPending(buffer)) this.flush();
    if (data instanceof ArrayBuffer) this.device.queue.writeBuffer(buffer, offset, data);
    else this.device.queue.writeBuffer(buffer, offset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    this.counts.bufferWrites++;
  }

  copy(src: Binding, dst: Binding, bytes: number): void {
    const from = bindingBuffer(src), to = bindingBuffer(dst), at = bindingOffset(src), into = bindingOffset(dst);
    if (bytes === 0 || (from === to && at === into)) return;
    if (from !== to) {
      this.commandEncoder().copyBufferToBuffer(from, at, to, into, bytes);
      return;
    }
    // Two slots of one arena: WebGPU copies only between different buffers.
    const via = this.storageBuffer(bytes, 'copy within a buffer');
    this.commandEncoder().copyBufferToBuffer(from, at, via, 0, bytes);
    this.commandEncoder().copyBufferToBuffer(via, 0, to, into, bytes);
    this.releaseBuffer(via);
  }

  /** Copies `bytes` (a multiple of 4) between byte offsets (multiples of 4); not subject to the binding limit. */
  copyRange(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes > 0) this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  clear(buffer: GPUBuffer, bytes: number): void {
    if (bytes > 0) this.commandEncoder().clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  /** Submits what is pending; buffers released meanwhile join the free lists. */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    this.passPipeline = null;
    const commands = this.encoder.finish();
    this.encoder = null;
    this.sinceSubmit = 0;
    if (this.stagedBytes > 0) {
      this.write(this.ring, 0, this.staged.subarray(0, Math.ceil(this.stagedBytes / 4)));
      this.stagedBytes = 0;
    }
    this.device.queue.submit([commands]);
    this.counts.submits++;
    this.pool.releaseDeferred();
  }

  /** The first `bytes` of a binding, once every command before this call has run. */
  async read(binding: Binding, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive('read a tensor');
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const small = size <= SMALL_READ_BYTES;
    const staging = (small ? this.smallStaging.pop() : undefined) ?? this.device.createBuffer({ size: small ? SMALL_READ_BYTES : size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.commandEncoder().copyBufferToBuffer(bindingBuffer(binding), bindingOffset(binding), staging, 0, size);
    this.flush();
    let reusable = false;
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, size);
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      reusable = small;
      this.throwErrors();
      return out;
    } finally {
      if (reusable && this.smallStaging.length < MAX_SMALL_STAGING) this.smallStaging.push(staging);
      else staging.destroy();
    }
  }

  async sync(): Promise<void> {
    if (this.lostReason) return;
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    this.throwErrors();
  }

  private throwErrors(): void {
    if (this.errors.length === 0) return;
    const msg = this.errors.join('\n');
    this.errors = [];
    throw new Error(`webgpu: the device reported an error: ${msg}`);
  }

  private commandEncoder(): GPUCommandEncoder {
    this.pass?.end();
    this.pass = null;
    this.passPipeline = null;
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    return this.pass;
  }

  /** The bind-group layout for a kernel's storage access list, and its id. */
  private layout(kernel: Kernel): { layout: GPUBindGroupLayout; id: number } {
    const sig = kernel.storage.map((a) => (a === 'read' ? 'r' : 'w')).join('');
    let layout = this.layouts.get(sig);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = kernel.storage.map((a, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: a === 'read' ? 'read-only-storage' : 'storage' },
      }));
      entries.push({ binding: kernel.storage.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform', hasDynamicOffset: true } });
      layout = { layout: this.device.createBindGroupLayout({ entries }), id: this.layouts.size + 1 };
      this.layouts.set(sig, layout);
    }
    return layout;
  }

  private pipeline(kernel: Kernel): Compiled {
    let c = this.pipelines.get(kernel.key);
    if (!c) {
      this.checkAlive(`compile ${kernel.key}`);
      const { layout, id } = this.layout(kernel);
      const module = this.device.createShaderModule({ code: kernel.code, label: kernel.key });
      const pipeline = this.device.createComputePipeline({
        label: kernel.key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [layout] }),
        compute: { module, entryPoint: 'main' },
      });
      c = { pipeline, layout, layoutId: id };
      this.pipelines.set(kernel.key, c);
    }
    return c;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  destroy(): void {
    this.pass = null;
    this.passPipeline = null;
    this.encoder = null;
    this.bindGroups.clear();
    this.bindGroupCount = 0;
    this.pool.destroyAll();
    for (const b of this.smallStaging) b.destroy();
    this.smallStaging = [];
    this.ring.destroy();
    this.pipelines.clear();
  }
}
