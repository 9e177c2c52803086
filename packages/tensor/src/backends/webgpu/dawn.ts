/**
 * WebGPU in Node: Dawn through the `webgpu` package. Node-only; reached from the package's
 * Node entry point (../../node.ts), never from the browser entry.
 *
 * dawn.node frees its native instance when the object returned by `create()` is garbage-
 * collected, even while adapters and devices still poll it, and then crashes at random
 * (shared/notes/webgpu-on-lavapipe.md). So that object lives in a module-level variable
 * for as long as the process runs.
 *
 * A Node program must also exit cleanly without the user closing anything: devices still
 * open when the event loop drains are destroyed on 'beforeExit' (and, as a last resort,
 * synchronously on 'exit').
 */
import { closeDevice, destroyOpenDevicesNow, setGpuProvider, stillOpenDevices } from './gpu';
import { filterNativeStderr } from './dawn-stderr';

type DawnModule = { create(flags: string[]): GPU; globals: object };

let dawnGpu: GPU | null = null;
let exitHooksInstalled = false;

async function loadDawn(): Promise<GPU> {
  if (dawnGpu) return dawnGpu;
  let dawn: DawnModule;
  try {
    dawn = (await import('webgpu')) as unknown as DawnModule;
  } catch (err) {
    // An optional peer dependency: a browser app never needs it, a Node app installs it for WebGPU.
    const missing = (err as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && /'webgpu'/.test((err as Error).message);
    if (missing) throw new Error("WebGPU in Node needs the 'webgpu' package (Dawn for Node), which is not installed: `npm install webgpu`. Without it the cpu device works: useDevice('cpu').", { cause: err });
    throw new Error(`WebGPU: the 'webgpu' package (Dawn for Node) did not load: ${(err as Error).message}`, { cause: err });
  }
  Object.assign(globalThis, dawn.globals);
  dawnGpu = dawn.create([]);
  return dawnGpu;
}

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  // The loop has drained: close what is still open, which lets Dawn's poller stop.
  process.on('beforeExit', () => {
    for (const d of stillOpenDevices()) void closeDevice(d);
  });
  process.on('exit', destroyOpenDevicesNow);
}

/** Makes useDevice('webgpu') open Dawn's adapters when there is no navigator.gpu. */
export function installDawn(): void {
  setGpuProvider({
    gpu: loadDawn,
    // Dawn enumerates adapters synchronously inside requestAdapter() and prints two
    // warnings there on lavapipe; filter just that call's native stderr.
    requestAdapter: (gpu, options) => filterNativeStderr(() => gpu.requestAdapter(options)),
    deviceOpened: installExitHooks,
  });
}
