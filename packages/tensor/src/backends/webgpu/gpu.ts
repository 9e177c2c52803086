/**
 * Acquiring a GPUDevice: navigator.gpu in a browser; in Node, whatever GPU object the Node
 * entry point installed with setGpuProvider (Dawn, through the `webgpu` package: ./dawn.ts).
 * This module imports nothing from Node, so that bundling the package for a browser needs
 * no flags.
 */

/** Supplies the GPU object where navigator.gpu is absent, and learns of each device opened. */
export interface GpuProvider {
  gpu(): Promise<GPU>;
  /** Asks `gpu` for an adapter (the Node entry filters what Dawn prints meanwhile). */
  requestAdapter?(gpu: GPU, options?: GPURequestAdapterOptions): Promise<GPUAdapter | null>;
  deviceOpened?(device: GPUDevice): void;
}

let provider: GpuProvider | null = null;
const openDevices = new Set<GPUDevice>();

/** Installed by the Node entry point (`@webgrad/tensor` under the "node" condition). */
export function setGpuProvider(p: GpuProvider | null): void {
  provider = p;
}

const NO_ADAPTER_HELP =
  'WebGPU: no adapter found. Install a GPU driver (Vulkan, Metal or D3D12); on Linux without a GPU, ' +
  "install Mesa's lavapipe software Vulkan driver (Debian bookworm-backports: `apt-get install -t bookworm-backports mesa-vulkan-drivers`; " +
  "plain bookworm's Mesa 22 is too old for Dawn). In a browser, use one with WebGPU enabled.";

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

async function gpuObject(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (provider) return provider.gpu();
  const why = isNode
    ? "this Node program loaded @webgrad/tensor's browser entry, which cannot load Dawn: import '@webgrad/tensor/node' (or let Node resolve the package's \"node\" condition)"
    : 'navigator.gpu is undefined';
  throw new Error(`${NO_ADAPTER_HELP} (${why})`);
}

/** True for CPU-emulated adapters (lavapipe/llvmpipe, SwiftShader, WARP), which want different kernels. */
export function isSoftwareAdapter(info: GPUAdapterInfo, isFallback: boolean): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return isFallback || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|warp|software/.test(text);
}

export interface OpenedDevice {
  device: GPUDevice;
  /** The limits asked for (the device may report higher ones: see pick). */
  requested: Required<RequestedLimits>;
  /** The GPU object the adapter came from (null when the caller passed an adapter). */
  gpu: GPU | null;
  info: GPUAdapterInfo;
  software: boolean;
  /** Dawn's null backend: executes nothing (see isNullAdapter). */
  nullAdapter: boolean;
  description: string;
}

/** Limits a caller may lower below the adapter's (tests exercise op splitting with tiny ones). */
export interface RequestedLimits {
  maxStorageBufferBindingSize?: number;
  maxBufferSize?: number;
  /** Storage bindings per stage (at least 8, WebGPU's default); left out, the adapter's. */
  maxStorageBuffersPerShaderStage?: number;
}

/**
 * The adapter's own limit, or the caller's lower one. WebGPU raises a request below the
 * spec's default to that default, so the backend also enforces the lower value itself.
 */
function pick(name: 'maxStorageBufferBindingSize' | 'maxBufferSize', adapter: GPUSupportedLimits, asked: RequestedLimits | undefined): number {
  const want = asked?.[name];
  if (want === undefined) return adapter[name];
  if (!Number.isInteger(want) || want < 256) throw new Error(`webgpu: limits.${name} = ${want} must be an integer of at least 256 bytes`);
  return Math.min(want, adapter[name]);
}

/**
 * Dawn's null backend (`create(['backend=null'])` of the `webgpu` package): it validates and
 * records every command and executes none. Good for measuring host cost, useless for results.
 */
export function isNullAdapter(info: GPUAdapterInfo): boolean {
  return `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase().includes('null-backend');
}

/** A GPUAdapter the caller made, or a GPU object (navigator.gpu-like) to ask for one. */
export type AdapterSource = GPU | GPUAdapter;

const isAdapter = (s: AdapterSource): s is GPUAdapter => typeof (s as GPUAdapter).requestDevice === 'function';

async function requestAdapter(source: AdapterSource | undefined, options: GPURequestAdapterOptions | undefined): Promise<{ adapter: GPUAdapter | null; gpu: GPU | null }> {
  if (source && isAdapter(source)) return { adapter: source, gpu: null };
  if (source) {
    if (typeof source.requestAdapter !== 'function') throw new Error('useDevice: options.adapter must be a GPUAdapter or a GPU object (with requestAdapter())');
    return { adapter: await source.requestAdapter(options), gpu: source };
  }
  const gpu = await gpuObject();
  return { adapter: await (provider?.requestAdapter ? provider.requestAdapter(gpu, options) : gpu.requestAdapter(options)), gpu };
}

export async function openDevice(powerPreference?: GPUPowerPreference, limits?: RequestedLimits, source?: AdapterSource): Promise<OpenedDevice> {
  const options = powerPreference ? { powerPreference } : undefined;
  const { adapter, gpu } = await requestAdapter(source, options);
  if (!adapter) throw new Error(source ? 'useDevice: the GPU object given as options.adapter offered no adapter' : NO_ADAPTER_HELP);
  const lim = adapter.limits;
  const bindings = limits?.maxStorageBuffersPerShaderStage;
  if (bindings !== undefined && (!Number.isInteger(bindings) || bindings < 8)) throw new Error(`webgpu: limits.maxStorageBuffersPerShaderStage = ${bindings} must be an integer of at least 8`);
  const requested = {
    maxStorageBufferBindingSize: pick('maxStorageBufferBindingSize', lim, limits), maxBufferSize: pick('maxBufferSize', lim, limits),
    // As many storage bindings per stage as the adapter has (the default is 8), or the caller's fewer.
    maxStorageBuffersPerShaderStage: Math.min(bindings ?? Infinity, lim.maxStorageBuffersPerShaderStage),
  };
  const device = await adapter.requestDevice({ requiredLimits: requested });
  const info = adapter.info;
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'WebGPU adapter';
  openDevices.add(device);
  provider?.deviceOpened?.(device);
  return { device, requested, gpu, info, software: isSoftwareAdapter(info, fallback), nullAdapter: isNullAdapter(info), description };
}

export async function closeDevice(device: GPUDevice): Promise<void> {
  if (!openDevices.delete(device)) return;
  const lost = device.lost;
  device.destroy();
  await lost;
}

/** The devices opened and not yet closed (for a host's shutdown hooks). */
export function stillOpenDevices(): GPUDevice[] {
  return [...openDevices];
}

/** Destroys every open device without waiting (for a process 'exit' hook, which cannot wait). */
export function destroyOpenDevicesNow(): void {
  for (const d of openDevices) d.destroy();
  openDevices.clear();
}
