/**
 * `npm run playground`: bundles the page and serves it on 127.0.0.1 with the headers that
 * cross-origin isolation needs (COOP same-origin, COEP require-corp: SharedArrayBuffer, so
 * the cpu backend's worker threads can share memory there), plus the training images.
 *
 *   npm run playground -- [--port 5173] [--train-per-class 100] [--test-per-class 20]
 *                         [--data DIR] [--synthetic]
 */
import { readFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildPage } from './build';
import { encodeImages } from './core';
import { type SubsetOptions, loadSubset } from './data';

export interface Playground {
  url: string;
  server: Server;
  /** What the page trains on (also sent to it). */
  data: Awaited<ReturnType<typeof loadSubset>>;
  bundleBytes: number;
  close(): Promise<void>;
}

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };

export async function startPlayground(opts: Partial<SubsetOptions> & { port?: number } = {}): Promise<Playground> {
  const [page, data] = await Promise.all([
    buildPage(),
    loadSubset({ trainPerClass: opts.trainPerClass ?? 100, testPerClass: opts.testPerClass ?? 20, dataDir: opts.dataDir, synthetic: opts.synthetic }),
  ]);
  const html = readFileSync(fileURLToPath(new URL('./index.html', import.meta.url)));
  const routes = new Map(page.files);
  routes.set('/', { type: 'text/html; charset=utf-8', body: html });
  routes.set('/data/meta.json', { type: 'application/json', body: new TextEncoder().encode(JSON.stringify(data.meta)) });
  routes.set('/data/images.bin', { type: 'application/octet-stream', body: encodeImages(data) });
  const server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = routes.get(path);
    if (!file || (req.method !== 'GET' && req.method !== 'HEAD')) {
      res.writeHead(404, { 'Content-Type': 'text/plain', ...ISOLATION }).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length, 'Cache-Control': 'no-store', ...ISOLATION });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    data,
    bundleBytes: page.bytes,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '5173' },
      'train-per-class': { type: 'string', default: '100' },
      'test-per-class': { type: 'string', default: '20' },
      data: { type: 'string' },
      synthetic: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('npm run playground -- [--port 5173] [--train-per-class 100] [--test-per-class 20] [--data DIR] [--synthetic]');
    return;
  }
  const count = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
    return n;
  };
  const p = await startPlayground({
    port: count('port', values.port),
    trainPerClass: count('train-per-class', values['train-per-class']),
    testPerClass: count('test-per-class', values['test-per-class']),
    dataDir: values.data,
    synthetic: values.synthetic,
  });
  console.log(`data: ${p.data.meta.name}, ${p.data.meta.trainCount} train / ${p.data.meta.testCount} test images from ${p.data.meta.source}`);
  if (p.data.meta.fallback) console.log(`note: ${p.data.meta.fallback}`);
  console.log(`page: ${(p.bundleBytes / 1024).toFixed(0)} KiB of JavaScript`);
  console.log(`playground: ${p.url}  (Ctrl-C to stop)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
