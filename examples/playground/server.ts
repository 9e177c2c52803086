/**
 * `npm run playground`: bundles the page and serves it on 127.0.0.1 with the headers that
 * cross-origin isolation needs (COOP same-origin, COEP require-corp: SharedArrayBuffer, so
 * the cpu backend's worker threads can share memory there), plus the training images.
 * It answers GET and HEAD (405 otherwise), only to the Host names 127.0.0.1:PORT and
 * localhost:PORT (403 otherwise, against DNS rebinding), never lets a file be sniffed as
 * another type, and tells the page the data set's name, not the folders it came from.
 *
 *   npm run playground -- [--port 5173] [--train-per-class 100] [--test-per-class 20]
 *                         [--data DIR] [--synthetic]
 */
import { readFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { buildPage } from './build';
import { encodeImages } from './core';
import { type Subset, type SubsetOptions, loadSubset } from './data';

export interface Playground {
  url: string;
  server: Server;
  /** What the page trains on (also sent to it). */
  data: Subset;
  bundleBytes: number;
  close(): Promise<void>;
}

const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
/** On every answer: isolation, and no MIME sniffing (a served file is only ever what its Content-Type says). */
const ALWAYS = { ...ISOLATION, 'X-Content-Type-Options': 'nosniff' };
const METHODS = ['GET', 'HEAD'];

/**
 * Only the names this server listens under. A page on another site that rebinds its own
 * DNS name to 127.0.0.1 sends its own name as Host, and is refused (DNS rebinding).
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  const h = host?.toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
}

type Routes = Map<string, { type: string; body: Uint8Array }>;

function handler(routes: Routes, port: () => number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const refuse = (status: number, text: string, extra: Record<string, string> = {}) =>
      void res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...ALWAYS, ...extra }).end(`${text}\n`);
    if (!hostAllowed(req.headers.host, port())) {
      refuse(403, `Host '${req.headers.host ?? ''}' refused: this server answers only 127.0.0.1:${port()} and localhost:${port()}`);
      return;
    }
    if (!METHODS.includes(req.method ?? '')) {
      refuse(405, `method ${req.method} not allowed: ${METHODS.join(', ')} only`, { Allow: METHODS.join(', ') });
      return;
    }
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const file = routes.get(path);
    if (!file) {
      refuse(404, `not found: ${path}`);
      return;
    }
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length, 'Cache-Control': 'no-store', ...ALWAYS });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };
}

export async function startPlayground(opts: Partial<SubsetOptions> & { port?: number } = {}): Promise<Playground> {
  const [page, data] = await Promise.all([
    buildPage(),
    loadSubset({ trainPerClass: opts.trainPerClass ?? 100, testPerClass: opts.testPerClass ?? 20, dataDir: opts.dataDir, synthetic: opts.synthetic }),
  ]);
  const html = readFileSync(fileURLToPath(new URL('./index.html', import.meta.url)));
  const routes: Routes = new Map(page.files);
  routes.set('/', { type: 'text/html; charset=utf-8', body: html });
  routes.set('/data/meta.json', { type: 'application/json', body: new TextEncoder().encode(JSON.stringify(data.meta)) });
  routes.set('/data/images.bin', { type: 'application/octet-stream', body: encodeImages(data) });
  const server: Server = createServer(handler(routes, (): number => (server.address() as AddressInfo).port));
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
  console.log(`data: ${p.data.meta.name}, ${p.data.meta.trainCount} train / ${p.data.meta.testCount} test images from ${p.data.local.source}`);
  if (p.data.local.fallback) console.log(`note: ${p.data.local.fallback}`);
  console.log(`page: ${(p.bundleBytes / 1024).toFixed(0)} KiB of JavaScript`);
  console.log(`playground: ${p.url}  (Ctrl-C to stop)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
