/**
 * The PIL fixtures (packages/datasets/test/fixtures/pil) decode and resize to PIL 9.4's bytes
 * in Chromium too, through the browser-safe path: the decoders bundle for a browser with no
 * Node built-in, and the pixel limit refuses a bomb there as in Node.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { repoRoot, SOURCE_CONDITION } from './browser/bundle';
import { CHROMIUM, CHROMIUM_SKIP, launchChromium } from './browser/chromium';
import type { DecodeGlobal, PageImage } from './browser/decode-page';
import { compareWithPil, fixtureBytes, pilManifest } from '../packages/datasets/test/helpers/pil-fixtures';
import { bombPng } from '../packages/datasets/test/helpers/bombs';

const manifest = pilManifest();
const b64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const bytesOf = (img: PageImage) => new Uint8Array(Buffer.from(img.data, 'base64'));

describe.skipIf(!CHROMIUM)(`decoding in Chromium equals PIL 9.4${CHROMIUM_SKIP}`, () => {
  let browser: Browser;
  let page: Page;
  let inputs: string[] = [];

  beforeAll(async () => {
    const bundle = await esbuild.build({
      entryPoints: [join(repoRoot, 'test/browser/decode-page.ts')],
      bundle: true, platform: 'browser', format: 'iife', target: 'es2022',
      conditions: [SOURCE_CONDITION], tsconfigRaw: {}, write: false, logLevel: 'silent', metafile: true,
    });
    inputs = Object.keys(bundle.metafile.inputs);
    browser = await launchChromium();
    page = await browser.newPage();
    await page.addScriptTag({ content: bundle.outputFiles[0].text });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('the decode path bundles for a browser from the decoders and fflate alone', () => {
    expect(inputs.filter((f) => /node:|pngjs|jpeg-js/.test(f))).toEqual([]);
    expect(inputs.some((f) => f.includes('jpeg-decode.ts'))).toBe(true);
    expect(inputs.some((f) => f.includes('node_modules/fflate'))).toBe(true);
  });

  it(`${manifest.decoded.length} JPEG and PNG fixtures decode to PIL's bytes, as RGB and grey`, async () => {
    const wrong: string[] = [];
    for (const e of manifest.decoded) {
      const file = b64(fixtureBytes(e.file));
      const rgb = await page.evaluate(([f]) => (globalThis as unknown as DecodeGlobal).decodePage.decode(f, 'rgb'), [file]);
      expect([rgb.width, rgb.height, rgb.channels], e.file).toEqual([e.width, e.height, 3]);
      const diff = compareWithPil(bytesOf(rgb), e.rgb, e.rgbSha256);
      if (diff) wrong.push(`${e.file} RGB: ${diff}`);
      if (e.grey) {
        const grey = await page.evaluate(([f]) => (globalThis as unknown as DecodeGlobal).decodePage.decode(f, 'grey'), [file]);
        const greyDiff = compareWithPil(bytesOf(grey), e.grey, undefined);
        if (greyDiff) wrong.push(`${e.file} grey: ${greyDiff}`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("the resize fixtures of decoded files equal PIL's bilinear and nearest", async () => {
    const wrong: string[] = [];
    const cases = manifest.resized.filter((e) => e.source);
    for (const e of cases) {
      const file = b64(fixtureBytes(manifest.decoded.find((d) => d.file.endsWith(`/${e.source}`))!.file));
      const got = await page.evaluate(([f, c, h, w, filter]) => (globalThis as unknown as DecodeGlobal).decodePage.decodeAndResize(f, c, h, w, filter), [file, e.colour, e.height, e.width, e.filter] as const);
      const diff = compareWithPil(bytesOf(got), e.file, e.sha256);
      if (diff) wrong.push(`${e.source} ${e.colour} ${e.filter} ${e.width}×${e.height}: ${diff}`);
    }
    expect(cases.length).toBeGreaterThan(10);
    expect(wrong).toEqual([]);
  });

  it('refuses a PNG bomb from its header', async () => {
    const message = await page.evaluate(([f]) => (globalThis as unknown as DecodeGlobal).decodePage.error(f), [b64(bombPng(20_000, 20_000))]);
    expect(message).toMatch(/image is 20000×20000 \(400,000,000 pixels\), over the limit of 89,478,485 pixels/);
  });
});
