/**
 * The playground in real Chromium (headless, driven by playwright-core, no browser
 * download), as built by `npm run playground -- --build DIR` and served by a plain static
 * host (test/browser/static-host.ts: files plus the build's `_headers`) under a sub-path:
 * the page loads with no console error, finds a WebGPU adapter (SwiftShader),
 * trains the lab's CNN 30 steps on WebGPU and on cpu with the loss falling, the first
 * step's loss equals Node's for the same seed, and each panel is photographed.
 * Served without the headers (a host that sets none), it still loads, not isolated.
 * Chromium missing: skipped with the reason, except under CI=true, where that and a
 * missing adapter are failures. The model is small: SwiftShader runs the kernels on the CPU.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { PNG } from 'pngjs';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { decodeImage, resizeToPlanar } from '@webgrad/datasets';
import { type DataMeta, type ImageData8, MODEL_KINDS, type TrainConfig, batchOf, buildModel, decodeImages, epochOrder, trainer } from '../examples/playground/core';
import type { RunReport } from '../examples/playground/train-panel';
import type { Learnt } from '../examples/playground/conv-panel';
import { coverage1d } from '../examples/playground/dilation-panel';
import { CHROMIUM, CHROMIUM_SKIP, launchChromium } from './browser/chromium';
import { repoRoot } from './browser/bundle';
import { serveStatic } from './browser/static-host';

const CI = process.env.CI === 'true';
const STEPS = 30;
const STEPS_YOURS = 5;
const SETTINGS = { model: 'cnn', sizes: '4,8,8', batch: 8, lr: 0.01, seed: 7 };
// SwiftShader compiles each kernel on the CPU, slower still when the rest of the suite runs beside it.
const SLOW = { timeout: 300_000 };
const outDir = process.env.WEBGRAD_TEST_OUTPUT ?? join(tmpdir(), `webgrad-playground-${new Date().toISOString().replace(/[:.]/g, '-')}`);

/** The first step's loss in Node, on cpu, from the same data, seed and settings as the page. */
async function nodeFirstLoss(data: ImageData8): Promise<number> {
  const cfg: TrainConfig = { model: 'cnn', sizes: SETTINGS.sizes.split(',').map(Number), batchSize: SETTINGS.batch, lr: SETTINGS.lr, seed: SETTINGS.seed };
  await wg.useDevice('cpu');
  const model = buildModel(data.meta, cfg);
  const optimizer = new nn.Adam(model.parameters(), { lr: cfg.lr });
  const { x, y } = batchOf(data, epochOrder(data.meta.trainCount, cfg.seed, 0).slice(0, cfg.batchSize), 'cpu');
  const { loss } = await trainer(model, optimizer)(x, y);
  return loss;
}

const mean = (v: number[]) => v.reduce((a, b) => a + b, 0) / v.length;

/** A 40×30 PNG: a bright disc on a dark ground, for the file inputs. */
function discPng(): Buffer {
  const png = new PNG({ width: 40, height: 30 });
  for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) {
    const inside = (x - 20) ** 2 + (y - 15) ** 2 < 100;
    png.data.set(inside ? [240, 200, 40, 255] : [20, 20, 30, 255], (y * 40 + x) * 4);
  }
  return PNG.sync.write(png);
}

/** A w×h PNG filled by `rgb(x, y)`. */
function png(w: number, h: number, rgb: (x: number, y: number) => [number, number, number]): Buffer {
  const img = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data.set([...rgb(x, y), 255], (y * w + x) * 4);
  return PNG.sync.write(img);
}

/** Folders as a user would pick them: vehicles/<class>/ (a bar whose direction is the class), dehaze/hazy/<scene>_<level>.png with dehaze/clear/<scene>.png. */
function makeFolders(root: string): { vehicles: string; dehaze: string } {
  const vehicles = join(root, 'vehicles');
  const bars: Record<string, (x: number, y: number) => boolean> = { car: (x, y) => Math.abs(y - 10) < 3, minibus: (x) => Math.abs(x - 10) < 3, truck: (x, y) => Math.abs(x - y) < 3 };
  for (const [cls, on] of Object.entries(bars)) {
    mkdirSync(join(vehicles, cls), { recursive: true });
    for (let i = 1; i <= 8; i++) writeFileSync(join(vehicles, cls, `${cls}${i}.png`), png(20, 20, (x, y) => (on(x, y) ? [220, 60 + 10 * i, 40] : [30, 30, 40 + 5 * i])));
  }
  const dehaze = join(root, 'dehaze');
  for (const sub of ['hazy', 'clear']) mkdirSync(join(dehaze, sub), { recursive: true });
  for (let s = 1; s <= 5; s++) {
    const clear = (x: number, y: number): [number, number, number] => [(x * 9 + s * 40) % 256, (y * 7 + s * 25) % 256, ((x + y) * 5) % 256];
    writeFileSync(join(dehaze, 'clear', `${s}.png`), png(24, 24, clear));
    for (const level of [1, 2]) {
      const a = 0.3 * level;
      writeFileSync(join(dehaze, 'hazy', `${s}_${level}.png`), png(24, 24, (x, y) => clear(x, y).map((v) => Math.round((1 - a) * v + a * 235)) as [number, number, number]));
    }
  }
  return { vehicles, dehaze };
}

type Api = {
  train: { runFresh(d: string, n: number, s: object): Promise<RunReport>; reset(): Promise<unknown>; run(n: number): Promise<RunReport>; device(): string | null };
  folder: { dehaze(steps: number): Promise<{ steps: number; losses: number[]; psnr: number; hazyPsnr: number }>; classes(): ImageData8 | null };
  conv: { learn(steps?: number): Promise<Learnt> };
};
const api = <T>(page: Page, fn: (p: Api) => T | Promise<T>) => page.evaluate(`(${fn.toString()})(globalThis.playground)`) as Promise<T>;

describe.skipIf(!CHROMIUM)(`playground in Chromium${CHROMIUM_SKIP}`, () => {
  let dir = '';
  let site: Awaited<ReturnType<typeof serveStatic>>;
  let data: ImageData8;
  let browser: Browser;
  let page: Page;
  let adapter = '';
  const consoleErrors: string[] = [];
  const reports: RunReport[] = [];

  beforeAll(async () => {
    dir = join(mkdtempSync(join(tmpdir(), 'webgrad-site-')), 'playground');
    const launched = launchChromium();
    // The command a user runs; its data are read back from the written files.
    execFileSync(process.execPath, ['--import', 'tsx', 'examples/playground/server.ts', '--build', dir, '--train-per-class', '20', '--test-per-class', '5'], { cwd: repoRoot, stdio: 'pipe' });
    expect(readdirSync(dir).sort()).toEqual(['_headers', 'data', 'index.html', 'main.js', 'main.js.map']);
    data = decodeImages(JSON.parse(readFileSync(join(dir, 'data/meta.json'), 'utf8')) as DataMeta, readFileSync(join(dir, 'data/images.bin')));
    [site, browser] = await Promise.all([serveStatic(dir, { base: '/playground/' }), launched]);
    page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    page.on('console', (m) => void (m.type() === 'error' && consoleErrors.push(m.text())));
    page.on('pageerror', (e) => consoleErrors.push(e.message));
    await page.goto(site.url);
    await page.waitForFunction(() => (globalThis as { playground?: { loaded?: boolean } }).playground?.loaded === true, null, { timeout: 240_000 });
    adapter = await page.evaluate(async () => {
      const a = await (navigator as Navigator & { gpu?: GPU }).gpu?.requestAdapter();
      return a ? [a.info.vendor, a.info.architecture, a.info.device, a.info.description].filter(Boolean).join(' ') || 'unnamed adapter' : '';
    });
  }, SLOW.timeout);

  afterAll(async () => {
    await browser?.close();
    await site?.close();
    for (const r of reports) {
      const rest = r.stepSeconds.slice(1);
      console.log(
        `page ${r.device} (batch ${SETTINGS.batch}, channels ${SETTINGS.sizes}): first step ${r.stepSeconds[0].toFixed(1)} s${r.device === 'webgpu' ? ' (compiles the kernels)' : ''}, ` +
          `then ${(rest.length / rest.reduce((a, b) => a + b, 0)).toFixed(1)} steps/s; ${r.stepsPerSecond.toFixed(2)} steps/s over all ${r.steps}`,
      );
    }
  });

  it('loads cross-origin isolated, with no console error, and finds a WebGPU adapter', async () => {
    expect(consoleErrors).toEqual([]);
    expect(await page.evaluate(() => globalThis.crossOriginIsolated)).toBe(true);
    if (!adapter && CI) throw new Error('CI=true but the page found no WebGPU adapter (SwiftShader: --enable-unsafe-webgpu --enable-features=Vulkan)');
    console.log(`page adapter: ${adapter || 'none'}; data: ${data.meta.name}${data.meta.fallback ? ` (${data.meta.fallback})` : ''}`);
  });

  it('served by a host that sets no headers, the build still loads, not isolated, with no error', async () => {
    const plain = await serveStatic(dir, { headers: false, base: '/playground/' });
    const other = await browser.newPage();
    const errors: string[] = [];
    other.on('console', (m) => void (m.type() === 'error' && errors.push(m.text())));
    other.on('pageerror', (e) => errors.push(e.message));
    try {
      await other.goto(plain.url);
      await other.waitForFunction(() => (globalThis as { playground?: { loaded?: boolean } }).playground?.loaded === true, null, { timeout: 120_000 });
      expect(await other.evaluate(() => globalThis.crossOriginIsolated)).toBe(false);
      expect(await other.locator('#backend-line').textContent()).toMatch(/not cross-origin isolated/);
      expect(errors).toEqual([]);
    } finally {
      await other.close();
      await plain.close();
    }
  }, SLOW.timeout);

  it("defaults to the library's 'auto', and the selector names the device auto chose", async () => {
    expect(await page.locator('#train-device').inputValue()).toBe('auto');
    const chosen = await api(page, (p) => p.train.device());
    // On SwiftShader (or with no adapter) 'auto' is cpu: the WASM kernels are faster there.
    if (!adapter || /swiftshader/i.test(adapter)) expect(chosen).toBe('cpu');
    expect(await page.locator('#train-device option[value=auto]').textContent()).toBe(`auto (${chosen})`);
    if (chosen === 'cpu' && adapter) expect(await page.locator('#train-adapter').textContent()).toMatch(/auto chose cpu: .*software/);
  });

  for (const device of ['webgpu', 'cpu'] as const) {
    it(`trains ${STEPS} steps on ${device}: the loss falls, and the first step's loss is Node's for the same seed`, async (ctx) => {
      if (device === 'webgpu' && !adapter) ctx.skip();
      const report = await page.evaluate(
        ([d, steps, settings]) => (globalThis as unknown as { playground: { train: { runFresh(d: string, n: number, s: object): Promise<RunReport> } } }).playground.train.runFresh(d, steps, settings),
        [device, STEPS, SETTINGS] as const,
      );
      reports.push(report);
      expect(report.device).toBe(device);
      expect(report.steps).toBe(STEPS);
      expect(report.losses.every(Number.isFinite)).toBe(true);
      expect(mean(report.losses.slice(-10))).toBeLessThan(mean(report.losses.slice(0, 10)));
      expect(Math.abs(report.firstLoss - (await nodeFirstLoss(data)))).toBeLessThan(1e-5);
    }, SLOW.timeout);
  }

  it('weights download and load back: the loaded model gives the same test loss and accuracy; a foreign file is refused by name', async () => {
    await page.evaluate((st) => (globalThis as unknown as { playground: Api }).playground.train.runFresh('cpu', 10, st), SETTINGS);
    const trained = await page.locator('#train-test').textContent();
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#train-download').click()]);
    expect(download.suggestedFilename()).toBe('playground-cnn-step10.safetensors');
    const bytes = readFileSync((await download.path())!);
    await page.locator('#train-seed').fill('11');
    await api(page, (p) => p.train.reset());
    expect(await page.locator('#train-seed').inputValue()).toBe('11');
    await page.locator('#train-load').setInputFiles({ name: 'mine.safetensors', mimeType: 'application/octet-stream', buffer: bytes });
    await page.waitForFunction(() => /weights of step 10 from mine\.safetensors/.test(document.getElementById('train-runs')!.textContent ?? ''));
    expect(await page.locator('#train-test').textContent()).toBe(trained);
    expect(await page.locator('#train-seed').inputValue()).toBe(String(SETTINGS.seed));
    await page.locator('#train-load').setInputFiles({ name: 'disc.safetensors', mimeType: 'application/octet-stream', buffer: discPng() });
    await page.waitForFunction(() => /disc\.safetensors/.test(document.getElementById('train-adapter')!.textContent ?? ''));
    expect(await page.locator('#train-adapter').textContent()).toMatch(/^readSafetensorsFile\(disc\.safetensors\): /);
  }, SLOW.timeout);

  it('the picker trains every model of the lab; the run before stays on the chart, dashed, with its test loss and accuracy', async () => {
    for (const model of Object.keys(MODEL_KINDS)) {
      const r = await page.evaluate((m) => (globalThis as unknown as { playground: Api }).playground.train.runFresh('cpu', 2, { model: m, batch: 8, seed: 1 }), model);
      expect(r.steps, model).toBe(2);
      expect(r.losses.every(Number.isFinite), model).toBe(true);
      expect(await page.locator('#train-sizes-label').textContent()).toBe(MODEL_KINDS[model as keyof typeof MODEL_KINDS].sizes);
    }
    for (const chart of ['train-loss', 'train-acc']) {
      expect(await page.locator(`#${chart}`).getAttribute('aria-label')).toMatch(/train \(mean of 10\) \(2 points\), test \(1 points\), before: train \(mean of 10\) \(2 points\), before: test \(1 points\)/);
    }
    expect(await page.locator('#train-runs').textContent()).toMatch(/^solid: run \d+: ResNet-18's plain twin .*\ndashed: run \d+: ResNet-18 \(small width\)/s);
    expect(await page.locator('#train-params').textContent()).toMatch(/^[\d,]+ parameters$/);
  }, SLOW.timeout);

  it('"your image" is predicted again by each new model, and by the trained one', async () => {
    await page.evaluate(([n, st]) => (globalThis as unknown as { playground: Api }).playground.train.runFresh('cpu', n, st), [STEPS_YOURS, SETTINGS] as const);
    await page.locator('#train-file').setInputFiles({ name: 'disc.png', mimeType: 'image/png', buffer: discPng() });
    await page.waitForFunction(() => /model at step/.test(document.getElementById('train-drop-pred')!.textContent ?? ''));
    const before = await page.locator('#train-drop-pred').textContent();
    expect(before).toMatch(new RegExp(`model at step ${STEPS_YOURS}:`));
    await page.locator('#train-seed').fill('3');
    await api(page, (p) => p.train.reset());
    const fresh = await page.locator('#train-drop-pred').textContent();
    expect(fresh).toMatch(/model at step 0:/);
    expect(fresh!.split('\n').slice(1)).not.toEqual(before!.split('\n').slice(1));
    await api(page, (p) => p.train.run(3));
    expect(await page.locator('#train-drop-pred').textContent()).toMatch(/model at step 3:/);
  }, SLOW.timeout);

  it('a learnt kernel clears when the image changes, and the selector names the image shown', async () => {
    const short = await api(page, (p) => p.conv.learn(20));
    expect(await page.locator('#conv-learned').textContent()).toMatch(/learned/);
    // 20 steps do not converge: the hint says so and what to change.
    expect(short.converged).toBe(false);
    expect(await page.locator('#conv-hint').isVisible()).toBe(true);
    expect(await page.locator('#conv-hint').textContent()).toMatch(/not converged: .* try (more steps \(40\)|a smaller learning rate)/);
    await page.locator('#conv-sample').selectOption('shapes');
    expect(await page.locator('#conv-learned').textContent()).toBe('');
    expect(await page.locator('#conv-hint').isVisible()).toBe(false);
    await api(page, (p) => p.conv.learn(20));
    await page.locator('#conv-file').setInputFiles({ name: 'disc.png', mimeType: 'image/png', buffer: discPng() });
    await page.waitForFunction(() => (document.getElementById('conv-sample') as HTMLSelectElement).value === 'file');
    expect(await page.locator('#conv-sample option:checked').textContent()).toBe('your image: disc.png');
    expect(await page.locator('#conv-input-size').textContent()).toBe('input 30×40');
    expect(await page.locator('#conv-learned').textContent()).toBe('');
    await page.locator('#conv-sample').selectOption('edge');
  }, SLOW.timeout);

  it('learns the edge kernel back, judges dilations, and photographs each panel', async () => {
    const learnt = await api(page, (p) => p.conv.learn());
    expect(learnt.learned[0][0]).toBeCloseTo(1, 2);
    expect(learnt.learned[0][1]).toBeCloseTo(-1, 2);
    expect(learnt.converged).toBe(true);
    expect(await page.locator('#conv-hint').isVisible()).toBe(false);
    // Colour scales: the edge image's output spans −1 … 1 (kernel [1, −1]); the coverage map 0 … the most paths.
    expect(await page.locator('#conv-output-scale .scale-ticks span').allTextContents()).toEqual(['−1', '0', '1']);
    expect(await page.locator('#conv-input-scale .scale-ticks span').allTextContents()).toEqual(['0', '0.500', '1']);
    const verdict = await page.evaluate(() => (globalThis as unknown as { playground: { dilation: { show(r: string, k: number): { ok: boolean; rules: { ok: boolean }[] } } } }).playground.dilation.show('2,2,2', 3));
    expect(verdict.ok).toBe(false);
    expect(verdict.rules[0].ok).toBe(false);
    expect(await page.locator('#dil-verdict').textContent()).toMatch(/breaks HDC rule 1/);
    const most = Math.max(...coverage1d([2, 2, 2], 3)) ** 2;
    expect(await page.locator('#dil-map-scale .scale-ticks span').allTextContents()).toEqual(['0 (never)', String(most / 2), String(most)]);
    mkdirSync(outDir, { recursive: true });
    for (const panel of ['conv', 'train', 'dilation']) await page.locator(`#${panel}-panel`).screenshot({ path: join(outDir, `${panel}-panel.png`) });
    console.log(`screenshots: ${outDir}/{conv,train,dilation}-panel.png`);
    expect(consoleErrors).toEqual([]);
  }, SLOW.timeout);

  it('a picked folder of class subfolders becomes panel 2\'s data; one of dehazing pairs trains the dehazing network', async () => {
    const folders = makeFolders(mkdtempSync(join(tmpdir(), 'webgrad-folders-')));
    await page.locator('#folder-size').fill('16');
    await page.locator('#folder-pick').setInputFiles(folders.vehicles);
    await page.waitForFunction(() => /now panel 2's data/.test(document.getElementById('folder-status')!.textContent ?? ''), null, { timeout: 60_000 });
    expect(await page.locator('#folder-status').textContent()).toMatch(/^vehicles: 3 classes, 18 train \/ 6 test images at 16×16/);
    expect(await page.locator('#train-data').textContent()).toMatch(/^vehicles \(your folder\): 18 train \/ 6 test images, 3×16×16, 3 classes/);
    // The 20×20 files resized to 16×16 in the page are the bytes the Node readers (PIL's decode and resize) give, image for image.
    const picked = await api(page, (p) => {
      const d = p.folder.classes();
      return d && { pixels: Array.from(d.pixels), count: d.meta.trainCount + d.meta.testCount };
    });
    const plane = 3 * 16 * 16;
    const expected = new Set(readdirSync(folders.vehicles).flatMap((cls) => readdirSync(join(folders.vehicles, cls)).map((f) => resizeToPlanar(decodeImage(readFileSync(join(folders.vehicles, cls, f))), 16, 16).join(','))));
    expect(picked?.count).toBe(24);
    for (let i = 0; i < 24; i++) expect(expected.has(picked!.pixels.slice(i * plane, (i + 1) * plane).join(','))).toBe(true);
    const r = await page.evaluate(() => (globalThis as unknown as { playground: Api }).playground.train.runFresh('cpu', 3, { model: 'cnn', sizes: '4,8', batch: 6 }));
    expect(r.steps).toBe(3);
    expect(await page.locator('#train-cm tr').count()).toBe(4);

    await page.locator('#folder-size').fill('24');
    await page.locator('#folder-pick').setInputFiles(folders.dehaze);
    await page.waitForFunction(() => /dehazing pairs/.test(document.getElementById('folder-status')!.textContent ?? ''), null, { timeout: 60_000 });
    expect(await page.locator('#folder-status').textContent()).toMatch(/^dehaze: dehazing pairs, 8 train \(4 scenes\) \/ 2 test \(1 scene, the last 20 %\) at 24×24/);
    const d = await api(page, (p) => p.folder.dehaze(12));
    expect(d.steps).toBe(12);
    expect(d.losses.every(Number.isFinite)).toBe(true);
    expect(Number.isFinite(d.psnr) && Number.isFinite(d.hazyPsnr)).toBe(true);
    expect(await page.locator('#dehaze-psnr').getAttribute('aria-label')).toMatch(/network output \(7 points\), hazy input \(baseline\) \(7 points\)/);
    expect(await page.locator('#dehaze-preview canvas').count()).toBe(6);
    expect(consoleErrors).toEqual([]);
    mkdirSync(outDir, { recursive: true });
    await page.locator('#folder-panel').screenshot({ path: join(outDir, 'folder-panel.png') });
  }, SLOW.timeout);
});
