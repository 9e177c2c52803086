/**
 * Acquiring a GPUDevice: navigator.gpu in a browser, Dawn (the `webgpu` package) in Node.
 *
 * dawn.node frees its native instance when the object returned by `create()` is garbage-
 * collected, even while adapters and devices still poll it, and then crashes at random
 * (shared/notes/webgpu-on-lavapipe.md). So that object lives in a module-level variable
 * that the functions below read, for as long as any device from it is open.
 *
 * A Node program must also exit cleanly without the user closing anything: devices still
 * open when the event loop drains are destroyed on 'beforeExit' (and, as a last resort,
 * synchronously on 'exit').
 */

type DawnModule = { create(flags: string[]): GPU; globals: object };

let dawnGpu: GPU | null = null;
const openDevices = new Set<GPUDevice>();
let exitHooksInstalled = false;

const isNode = typeof process !== 'undefined' && !!process.versions?.node;

const NO_ADAPTER_HELP =
  'WebGPU: no adapter found. Install a GPU driver (Vulkan, Metal or D3D12); on Linux without a GPU, ' +
  "install Mesa's lavapipe software Vulkan driver (Debian bookworm-backports: `apt-get install -t bookworm-backports mesa-vulkan-drivers`; " +
  "plain bookworm's Mesa 22 is too old for Dawn). In a browser, use one with WebGPU enabled.";

async function gpuObject(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  if (!isNode) throw new Error(`${NO_ADAPTER_HELP} (navigator.gpu is undefined)`);
  if (dawnGpu) return dawnGpu;
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    throw new Error(`WebGPU: the 'webgpu' package (Dawn for Node) did not load: ${(err as Error).message}`);
  }
  Object.assign(globalThis, dawn.globals);
  dawnGpu = dawn.create([]);
  return dawnGpu;
}

/** True for CPU-emulated adapters (lavapipe/llvmpipe, SwiftShader, WARP), which want different kernels. */
export function isSoftwareAdapter(info: GPUAdapterInfo, isFallback: boolean): boolean {
  const text = `${info.vendor} ${info.architecture} ${info.device} ${info.description}`.toLowerCase();
  return isFallback || info.architecture === 'software' || /llvmpipe|lavapipe|swiftshader|warp|software/.test(text);
}

export interface OpenedDevice {
  device: GPUDevice;
  gpu: GPU;
  info: GPUAdapterInfo;
  software: boolean;
  description: string;
}

export async function openDevice(powerPreference?: GPUPowerPreference): Promise<OpenedDevice> {
  const gpu = await gpuObject();
  const request = () => gpu.requestAdapter(powerPreference ? { powerPreference } : undefined);
  // Dawn enumerates adapters synchronously inside requestAdapter() and prints two
  // warnings there on lavapipe; filter just that call's native stderr.
  const adapter = await (gpu === dawnGpu ? (await import('./dawn-stderr')).filterNativeStderr(request) : request());
  if (!adapter) throw new Error(NO_ADAPTER_HELP);
  const lim = adapter.limits;
  const device = await adapter.requestDevice({
    requiredLimits: {
      maxStorageBufferBindingSize: lim.maxStorageBufferBindingSize,
      maxBufferSize: lim.maxBufferSize,
    },
  });
  const info = adapter.info;
  const fallback = (adapter as GPUAdapter & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? (info as GPUAdapterInfo & { isFallbackAdapter?: boolean }).isFallbackAdapter ?? false;
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'WebGPU adapter';
  openDevices.add(device);
  installExitHooks();
  return { device, gpu, info, software: isSoftwareAdapter(info, fallback), description };
}

export async function closeDevice(device: GPUDevice): Promise<void> {
  if (!openDevices.delete(device)) return;
  const lost = device.lost;
  device.destroy();
  await lost;
}

function installExitHooks(): void {
  if (exitHooksInstalled || !isNode) return;
  exitHooksInstalled = true;
  // The loop has drained: close what is still open, which lets Dawn's poller stop.
  process.on('beforeExit', () => {
    for (const d of [...openDevices]) void closeDevice(d);
  });
  process.on('exit', () => {
    for (const d of openDevices) d.destroy();
    openDevices.clear();
  });
}
