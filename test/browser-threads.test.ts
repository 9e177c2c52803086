/**
 * The cpu backend's threads in a page's main thread, in real Chromium: cross-origin
 * isolated (COOP + COEP headers), a matmul and a conv (forward and both gradients) run with
 * Web Workers taking jobs and give the 1-thread bits, also before the workers have started
 * (the main thread runs their jobs); not isolated, the same bits on one thread, and the
 * description says why. Prints matmul 512^3 on 1 and 2 threads (noisy).
 */
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as esbuild from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { repoRoot, SOURCE_CONDITION } from './browser/bundle';
import { CHROMIUM_SKIP, CHROMIUM, launchChromium } from './browser/chromium';
import type { ThreadsRun } from './browser/threads-page';

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
const HTML = '<!doctype html><meta charset="utf-8"><title>webgrad threads</title><script type="module" src="page.js"></script>';
const SLOW = { timeout: 240_000 };

/** Serves the page at /isolated/ (with the isolation headers) and /plain/ (without). */
async function serve(): Promise<{ url: string; server: Server }> {
  const r = await esbuild.build({
    entryPoints: [join(repoRoot, 'test/browser/threads-page.ts')],
    bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
    conditions: [SOURCE_CONDITION], tsconfigRaw: {}, write: false, logLevel: 'silent',
  });
  const js = r.outputFiles[0].contents;
  const server = createServer((req, res) => {
    const [, mode, file] = new URL(req.url ?? '/', 'http://x').pathname.split('/');
    const headers = mode === 'isolated' ? ISOLATION : {};
    if (mode === 'favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    if ((mode !== 'isolated' && mode !== 'plain') || (file !== '' && file !== 'page.js')) {
      res.writeHead(404, headers).end();
      return;
    }
    res.writeHead(200, { 'Content-Type': file ? 'text/javascript' : 'text/html; charset=utf-8', 'Cache-Control': 'no-store', ...headers });
    res.end(file ? js : HTML);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.skipIf(!CHROMIUM)(`cpu threads in a page's main thread, in Chromium${CHROMIUM_SKIP}`, () => {
  let server: Server;
  let browser: Browser;
  let base = '';
  const errors: string[] = [];

  async function open(mode: 'isolated' | 'plain'): Promise<Page> {
    const page = await browser.newPage();
    page.on('pageerror', (e) => errors.push(`${mode}: ${e.message}`));
    page.on('console', (m) => void (m.type() === 'error' && errors.push(`${mode}: ${m.text()}`)));
    await page.goto(`${base}/${mode}/`);
    await page.waitForFunction(() => 'threadsPage' in globalThis);
    return page;
  }
  const run = (page: Page, threads: number, settle = true) =>
    page.evaluate(
      ([t, s]) => (globalThis as unknown as { threadsPage: { run(t: number, o: { settle: boolean }): Promise<ThreadsRun> } }).threadsPage.run(t, { settle: s }),
      [threads, settle] as const,
    );

  let oneThread: ThreadsRun;

  beforeAll(async () => {
    let url: string;
    [{ url, server }, browser] = await Promise.all([serve(), launchChromium()]);
    base = url;
  }, SLOW.timeout);

  afterAll(async () => {
    await browser?.close();
    await new Promise((resolve) => server?.close(resolve));
  });

  it('isolated: matmul and conv run with workers taking jobs on 2 and 3 threads, with the 1-thread bits', async () => {
    const page = await open('isolated');
    oneThread = await run(page, 1);
    expect(oneThread.isolated).toBe(true);
    expect(oneThread.description).toMatch(/^cpu \(WebAssembly SIMD.*, 1 thread\)$/);
    expect(oneThread.byWorkers).toBe(0);
    for (const threads of [2, 3]) {
      const r = await run(page, threads);
      expect(r.threads).toBe(threads);
      expect(r.description).toMatch(new RegExp(`^cpu \\(WebAssembly SIMD.*, ${threads} threads\\)$`));
      expect(r.byWorkers, `jobs run by workers on ${threads} threads`).toBeGreaterThan(0);
      expect(r.hashes, `bits on ${threads} threads`).toEqual(oneThread.hashes);
      if (threads === 2) {
        console.log(`page main thread, matmul 512^3 (best of 8): 1 thread ${oneThread.matmulMs.toFixed(0)} ms, 2 threads ${r.matmulMs.toFixed(0)} ms ` +
          `(${(2 * 512 ** 3 / oneThread.matmulMs / 1e6).toFixed(1)} vs ${(2 * 512 ** 3 / r.matmulMs / 1e6).toFixed(1)} GFLOP/s); ` +
          `worker jobs run by workers ${r.byWorkers}, by the main thread in their place ${r.byCaller}`);
      }
    }
    // a pool resized and used in one task: its workers are not running at the first kernel
    // (Chromium may start them later in the task, or only after it), and the main thread,
    // which cannot sleep, runs their jobs instead of spinning for them for ever
    const unstarted = await run(page, 3, false);
    expect(unstarted.threads).toBe(3);
    expect(unstarted.byCaller).toBeGreaterThan(0);
    expect(unstarted.hashes).toEqual(oneThread.hashes);
    await page.close();
    expect(errors).toEqual([]);
  }, SLOW.timeout);

  it('not isolated: one thread, the same bits, and the description says why', async () => {
    const page = await open('plain');
    const r = await run(page, 3);
    expect(r.isolated).toBe(false);
    expect(r.threads).toBe(1);
    expect(r.description).toMatch(/1 thread: the page is not cross-origin isolated/);
    expect(r.byWorkers + r.byCaller).toBe(0);
    expect(r.hashes).toEqual(oneThread.hashes);
    await page.close();
    expect(errors).toEqual([]);
  }, SLOW.timeout);
});
