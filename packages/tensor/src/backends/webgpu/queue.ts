/**
 * Encoding and submission. Dispatches go into one pending command encoder (one compute
 * pass kept open across them) and are submitted in batches without waiting; read() and
 * sync() are the only places that wait for the GPU. Pipelines are compiled once per
 * kernel key; uniform blocks come from a pool like any buffer.
 */
import type { Kernel } from '@webgrad/kernels-wgsl';
import { type DeviceLimits, checkBindingFits } from '../../limits';
import { BufferPool } from './buffers';

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

// Read at call time: in Node the GPU* globals exist only once Dawn has loaded.
const storageUsage = () => GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
const uniformUsage = () => GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST;

export class Queue {
  readonly pool: BufferPool;
  private pipelines = new Map<string, GPUComputePipeline>();
  private layouts = new Map<string, GPUBindGroupLayout>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private sinceSubmit = 0;
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
    this.pool = new BufferPool(device, limits.maxBufferBytes, limits.maxBindingBytes);
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

  storageBuffer(bytes: number, what: string): GPUBuffer {
    this.checkAlive(what);
    return this.pool.acquire(bytes, storageUsage(), what);
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
    buffers.forEach((b, i) => checkBindingFits(`kernel ${kernel.key} (argument ${i})`, 'webgpu', this.limits, b.size));
    const pipeline = this.pipeline(kernel);
    const uniform = this.pool.acquire(kernel.params.byteLength, uniformUsage(), kernel.key);
    this.write(uniform, 0, kernel.params);
    const entries: GPUBindGroupEntry[] = buffers.map((b, binding) => ({ binding, resource: 'offset' in b ? { buffer: b.buffer, offset: b.offset, size: b.size } : { buffer: b } }));
    entries.push({ binding: buffers.length, resource: { buffer: uniform } });
    const group = this.device.createBindGroup({ layout: this.layout(kernel), entries });
    this.counts.bindGroups++;
    const pass = this.computePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, group);
    pass.dispatchWorkgroups(x, y, z);
    this.counts.dispatches++;
    this.pool.release(uniform, true);
    if (++this.sinceSubmit >= BATCH) this.flush();
  }

  /** queue.writeBuffer, counted. */
  write(buffer: GPUBuffer, offset: number, data: ArrayBuffer | ArrayBufferView): void {
    if (data instanceof ArrayBuffer) this.device.queue.writeBuffer(buffer, offset, data);
    else this.device.queue.writeBuffer(buffer, offset, data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    this.counts.bufferWrites++;
  }

  copy(src: GPUBuffer, dst: GPUBuffer, bytes: number): void {
    if (bytes === 0 || src === dst) return;
    this.commandEncoder().copyBufferToBuffer(src, 0, dst, 0, bytes);
  }

  /** Copies `bytes` (a multiple of 4) between byte offsets (multiples of 4); not subject to the binding limit. */
  copyRange(src: GPUBuffer, srcOffset: number, dst: GPUBuffer, dstOffset: number, bytes: number): void {
    if (bytes > 0) this.commandEncoder().copyBufferToBuffer(src, srcOffset, dst, dstOffset, bytes);
  }

  clear(buffer: GPUBuffer, bytes: number): void {
    if (bytes > 0) this.commandEncoder().clearBuffer(buffer, 0, Math.ceil(bytes / 4) * 4);
  }

  /** Submits what is pending; deferred buffer releases become reusable. */
  flush(): void {
    if (!this.encoder) return;
    this.pass?.end();
    this.pass = null;
    const commands = this.encoder.finish();
    this.encoder = null;
    this.sinceSubmit = 0;
    this.device.queue.submit([commands]);
    this.counts.submits++;
    this.pool.releaseDeferred();
  }

  /** The first `bytes` of `buffer`, once every command before this call has run. */
  async read(buffer: GPUBuffer, bytes: number): Promise<ArrayBuffer> {
    this.checkAlive('read a tensor');
    const size = Math.max(4, Math.ceil(bytes / 4) * 4);
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.commandEncoder().copyBufferToBuffer(buffer, 0, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(GPUMapMode.READ);
      const out = staging.getMappedRange(0, size).slice(0, bytes);
      staging.unmap();
      this.throwErrors();
      return out;
    } finally {
      staging.destroy();
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
    return (this.encoder ??= this.device.createCommandEncoder());
  }

  private computePass(): GPUComputePassEncoder {
    if (!this.pass) {
      this.encoder ??= this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass();
    }
    return this.pass;
  }

  private layout(kernel: Kernel): GPUBindGroupLayout {
    const sig = kernel.storage.map((a) => (a === 'read' ? 'r' : 'w')).join('');
    let layout = this.layouts.get(sig);
    if (!layout) {
      const entries: GPUBindGroupLayoutEntry[] = kernel.storage.map((a, binding) => ({
        binding,
        visibility: GPUShaderStage.COMPUTE,
        buffer: { type: a === 'read' ? 'read-only-storage' : 'storage' },
      }));
      entries.push({ binding: kernel.storage.length, visibility: GPUShaderStage.COMPUTE, buffer: { type: 'uniform' } });
      layout = this.device.createBindGroupLayout({ entries });
      this.layouts.set(sig, layout);
    }
    return layout;
  }

  private pipeline(kernel: Kernel): GPUComputePipeline {
    let p = this.pipelines.get(kernel.key);
    if (!p) {
      this.checkAlive(`compile ${kernel.key}`);
      const module = this.device.createShaderModule({ code: kernel.code, label: kernel.key });
      p = this.device.createComputePipeline({
        label: kernel.key,
        layout: this.device.createPipelineLayout({ bindGroupLayouts: [this.layout(kernel)] }),
        compute: { module, entryPoint: 'main' },
      });
      this.pipelines.set(kernel.key, p);
    }
    return p;
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  destroy(): void {
    this.pass = null;
    this.encoder = null;
    this.pool.destroyAll();
    this.pipelines.clear();
  }
}
