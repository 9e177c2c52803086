/**
 * The playground page: four panels of the lab made interactive. `window.playground` lets
 * a test (or the console) drive them: `await playground.ready`, then
 * `playground.train.runFresh('auto', 30)`, `playground.conv.learn()`, `playground.dilation.show('2,2,2', 3)`,
 * `playground.folder.dehaze(20)` after a folder of pairs was picked.
 */
import * as wg from '@webgrad/tensor';
import { decodeImages, type DataMeta } from './core';
import { convPanel } from './conv-panel';
import { dilationPanel } from './dilation-panel';
import { folderPanel } from './folder-panel';
import { $ } from './draw';
import { trainPanel } from './train-panel';

async function loadData() {
  const meta = (await (await fetch('data/meta.json')).json()) as DataMeta;
  const bytes = new Uint8Array(await (await fetch('data/images.bin')).arrayBuffer());
  return decodeImages(meta, bytes);
}

/** The WebGPU adapter in words, or why there is none (then training offers cpu only). */
async function webgpuAdapter(): Promise<{ ok: boolean; line: string }> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return { ok: false, line: 'no WebGPU in this browser (navigator.gpu is missing): training runs on cpu' };
  const adapter = await gpu.requestAdapter().catch(() => null);
  if (!adapter) return { ok: false, line: 'WebGPU is present but no adapter opened: training runs on cpu' };
  const i = adapter.info;
  return { ok: true, line: `WebGPU adapter ${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || '(unnamed)'}` };
}

async function start() {
  const conv = convPanel();
  const dilation = dilationPanel();
  const [data, webgpu] = await Promise.all([loadData(), webgpuAdapter()]);
  const isolated = globalThis.crossOriginIsolated ? 'cross-origin isolated (SharedArrayBuffer available)' : 'not cross-origin isolated';
  $('backend-line').textContent = `${webgpu.line}; page ${isolated}.`;
  const train = trainPanel(data);
  const folder = folderPanel(train);
  // 'auto' stays the default either way: the library takes WebGPU only on a hardware adapter.
  if (!webgpu.ok) Array.from($<HTMLSelectElement>('train-device').options).find((o) => o.value === 'webgpu')!.disabled = true;
  // A bad setting shows in the panel; the page stays usable.
  await train.reset().catch(train.fail);
  return { conv, dilation, train, folder, data: data.meta, wg };
}

const ready = start();
(globalThis as unknown as { playground: unknown }).playground = { ready };
ready.then(
  (api) => Object.assign((globalThis as unknown as { playground: object }).playground, api, { loaded: true }),
  (err: unknown) => {
    console.error(err);
    $('backend-line').textContent = `failed to start: ${(err as Error).message}`;
  },
);
