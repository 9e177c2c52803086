/**
 * The playground page: three panels of the lab made interactive. `window.playground` lets
 * a test (or the console) drive them: `await playground.ready`, then
 * `playground.train.runFresh('webgpu', 30)`, `playground.conv.learn()`, `playground.dilation.show('2,2,2', 3)`.
 */
import * as wg from '@webgrad/tensor';
import { decodeImages, type DataMeta } from './core';
import { convPanel } from './conv-panel';
import { dilationPanel } from './dilation-panel';
import { $ } from './draw';
import { trainPanel } from './train-panel';

async function loadData() {
  const meta = (await (await fetch('/data/meta.json')).json()) as DataMeta;
  const bytes = new Uint8Array(await (await fetch('/data/images.bin')).arrayBuffer());
  return decodeImages(meta, bytes);
}

async function webgpuLine(): Promise<string> {
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (!gpu) return 'no WebGPU in this browser (navigator.gpu is missing): training runs on cpu';
  const adapter = await gpu.requestAdapter();
  if (!adapter) return 'WebGPU is present but no adapter opened: training runs on cpu';
  const i = adapter.info;
  return `WebGPU adapter ${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' ') || '(unnamed)'}`;
}

async function start() {
  const conv = convPanel();
  const dilation = dilationPanel();
  const [data, gpuLine] = await Promise.all([loadData(), webgpuLine()]);
  const isolated = globalThis.crossOriginIsolated ? 'cross-origin isolated (SharedArrayBuffer available)' : 'not cross-origin isolated';
  $('backend-line').textContent = `${gpuLine}; page ${isolated}.`;
  const train = trainPanel(data);
  if (!(navigator as Navigator & { gpu?: GPU }).gpu) $<HTMLSelectElement>('train-device').value = 'cpu';
  await train.reset();
  return { conv, dilation, train, data: data.meta, wg };
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
