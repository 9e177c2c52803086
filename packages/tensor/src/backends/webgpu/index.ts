/**
 * The webgpu backend: every Backend method as WGSL kernels from @webgrad/kernels-wgsl,
 * running on navigator.gpu in a browser or Dawn (the `webgpu` package) in Node.
 */
import type { GemmVariant } from '@webgrad/kernels-wgsl';
import type { Backend } from '../../backend';
import { Context } from './context';
import { type AdapterSource, closeDevice, openDevice, type RequestedLimits } from './gpu';
import { type CommandCounts, Queue } from './queue';
import { memoryMethods } from './ops-memory';
import { elementwiseMethods } from './ops-elementwise';
import { copyMethods } from './ops-copy';
import { linalgMethods } from './ops-linalg';
import { nnMethods } from './ops-nn';
import { lossMethods } from './ops-loss';

/** Grid-stride workgroup counts, measured on llvmpipe (2 threads: 16-64 best) and sized to fill a large GPU. */
const SOFTWARE_GRID_GROUPS = 64;
const GPU_GRID_GROUPS = 4096;

export interface WebGPUBackendOptions {
  powerPreference?: GPUPowerPreference;
  /**
   * Matrix-product kernels: 'registers' for CPU-emulated adapters, 'tiled' (workgroup
   * memory) for GPUs. Chosen from the adapter when left out; tests force each one.
   */
  variant?: GemmVariant;
  /**
   * Lower limits than the adapter's (never higher): ops then split their work as on an
   * adapter with these limits. For tests; left out, the adapter's real limits apply.
   */
  limits?: RequestedLimits;
  /** Open this adapter (or ask this GPU object for one) instead of navigator.gpu / Dawn's default. */
  adapter?: AdapterSource;
}

export type WebGPUBackend = Backend & {
  adapterInfo: string;
  /** A CPU-emulated adapter (lavapipe/llvmpipe, SwiftShader, WARP). */
  readonly software: boolean;
  /** The device and GPU object, for tools that share them (benchmarks, peers). */
  readonly device: GPUDevice;
  readonly gpu: GPU | null;
  /** Dawn's null backend, which executes nothing: for measuring host cost only. */
  readonly nullAdapter: boolean;
  readonly variant: GemmVariant;
  /** Dispatches, bind groups, buffer writes and submits asked of the device so far (a copy). */
  commandCounts(): CommandCounts;
  /** Pipelines compiled so far. */
  pipelineCount(): number;
  destroy(): Promise<void>;
};

export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  const opened = await openDevice(opts.powerPreference, opts.limits, opts.adapter);
  const variant: GemmVariant = opts.variant ?? (opened.software ? 'registers' : 'tiled');
  const limits = {
    maxBufferBytes: Math.min(opened.device.limits.maxBufferSize, opened.requested.maxBufferSize),
    // Whole 16-byte units, so a slice that ends at the limit keeps vec4 views whole.
    maxBindingBytes: Math.floor(Math.min(opened.device.limits.maxStorageBufferBindingSize, opened.requested.maxStorageBufferBindingSize) / 16) * 16,
    maxStorageBuffers: Math.min(opened.device.limits.maxStorageBuffersPerShaderStage, opened.requested.maxStorageBuffersPerShaderStage),
  };
  const queue = new Queue(opened.device, opened.software ? SOFTWARE_GRID_GROUPS : GPU_GRID_GROUPS, limits);
  const ctx = new Context(queue, variant);
  const backend: WebGPUBackend = {
    name: 'webgpu',
    description: opened.description,
    adapterInfo: opened.description,
    software: opened.software,
    device: opened.device,
    gpu: opened.gpu,
    nullAdapter: opened.nullAdapter,
    variant,
    commandCounts: () => ({ ...queue.counts }),
    limits: ctx.limits,
    pipelineCount: () => queue.pipelineCount,
    oneSubmission: (run) => queue.oneSubmission(run),
    ...memoryMethods(ctx),
    ...elementwiseMethods(ctx),
    ...copyMethods(ctx),
    ...linalgMethods(ctx),
    ...nnMethods(ctx),
    ...lossMethods(ctx),
    async destroy() {
      queue.flush();
      queue.destroy();
      await closeDevice(opened.device);
    },
  };
  return backend;
}
