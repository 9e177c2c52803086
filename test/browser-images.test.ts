/**
 * The browser's data path, in real Chromium: a page bundled from the packages' browser
 * entries (esbuild; a Node module reached fails the bundle) takes 20 JPEGs as File objects
 * from an <input type=file>, decodes them, batches them with a DataLoader and trains a step.
 * The page is not cross-origin isolated (no shared memory), as most pages are. The pixels
 * of a File, a PNG Blob and a JPEG fetched by URL match Node's decode of the same bytes.
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as esbuild from 'esbuild';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import type { Browser } from 'playwright-core';
import { decodeImage } from '@webgrad/datasets';
import { repoRoot, SOURCE_CONDITION } from './browser/bundle';
import { CHROMIUM_SKIP, CHROMIUM, launchChromium } from './browser/chromium';
import type { ImagesRun } from './browser/images-page';

const HTML = '<!doctype html><meta charset="utf-8"><title>webgrad images</title><input type="file" multiple accept="image/*"><script type="module" src="page.js"></script>';

/** A 24×20 image of mostly one colour with some texture, as JPEG. */
function photo(red: boolean, seed: number): Buffer {
  const [w, h] = [24, 20];
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const t = ((i * 7919 + seed * 104729) % 61) - 30;
    data.set(red ? [200 + (t >> 1), 40 + t, 50] : [40 + t, 60, 210 + (t >> 1)], 4 * i);
    data[4 * i + 3] = 255;
  }
  return jpeg.encode({ data, width: w, height: h }, 90).data;
}

function png(): Buffer {
  const img = new PNG({ width: 5, height: 3 });
  for (let i = 0; i < 15; i++) img.data.set([i * 17, 255 - i * 9, (i * 53) % 256, 255], 4 * i);
  return PNG.sync.write(img);
}

const files = Array.from({ length: 20 }, (_, i) => ({ name: `${i % 2 ? 'blue' : 'red'}-${i}.jpg`, mimeType: 'image/jpeg', buffer: photo(i % 2 === 0, i) }));
const pixelSum = (a: Uint8Array) => a.reduce((s, v) => s + v, 0);

async function serve(): Promise<{ url: string; server: Server }> {
  const r = await esbuild.build({
    entryPoints: [join(repoRoot, 'test/browser/images-page.ts')],
    bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
    conditions: [SOURCE_CONDITION], tsconfigRaw: {}, write: false, logLevel: 'silent',
  });
  const js = r.outputFiles[0].contents;
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const [type, body] = path === '/' ? ['text/html; charset=utf-8', HTML] : path === '/page.js' ? ['text/javascript', js] : path === '/photo.jpg' ? ['image/jpeg', files[1].buffer] : [];
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': type!, 'Cache-Control': 'no-store' }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.skipIf(!CHROMIUM)(`images from File objects, batched and trained on in a page, in Chromium${CHROMIUM_SKIP}`, () => {
  let server: Server;
  let browser: Browser;
  let base = '';

  beforeAll(async () => {
    let url: string;
    [{ url, server }, browser] = await Promise.all([serve(), launchChromium()]);
    base = url;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('decodes 20 JPEG Files, batches them with a DataLoader and trains a step', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${base}/`);
    await page.waitForFunction(() => 'imagesPage' in globalThis);
    await page.setInputFiles('input[type=file]', files);
    const result = await page.evaluate(
      ([bytes, url]) => (globalThis as unknown as { imagesPage: { run(b: readonly number[], u: string): Promise<ImagesRun> } }).imagesPage.run(bytes, url),
      [[...png()], `${base}/photo.jpg`] as const,
    );
    expect(errors).toEqual([]);
    expect(result.sharedMemory).toBe(false);
    expect(result.files).toBe(20);
    expect(result.batches.map((b) => b.x)).toEqual([[10, 3, 16, 16], [10, 3, 16, 16]]);
    // Shuffled, every image once: ten of each class.
    expect(result.batches.flatMap((b) => b.y).sort()).toEqual([...Array(10).fill(0), ...Array(10).fill(1)]);
    expect(result.batches[0].y).not.toEqual([0, 1, 0, 1, 0, 1, 0, 1, 0, 1]);
    expect(Number.isFinite(result.lossBefore) && result.lossAfter < result.lossBefore).toBe(true);
    expect(result.firstFileSum).toBe(pixelSum(decodeImage(files[0].buffer).data));
    expect(result.urlSum).toBe(pixelSum(decodeImage(files[1].buffer).data));
    expect(result.pngSum).toBe(pixelSum(decodeImage(png()).data));
    // WebP is decoded by the browser (lossy, so near the colour), and made grey with PIL's luma like the rest.
    expect([result.webp.width, result.webp.height]).toEqual([5, 3]);
    result.webp.rgb.forEach((v, i) => expect(Math.abs(v - [200, 40, 90][i])).toBeLessThanOrEqual(4));
    const [r, g, b] = result.webp.rgb;
    expect(result.webp.grey).toBe((r * 19595 + g * 38470 + b * 7471 + 0x8000) >>> 16);
  });
});
