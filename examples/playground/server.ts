/**
 * `npm run playground`: bundles the page and serves it on 127.0.0.1 with the headers that
 * cross-origin isolation needs (COOP same-origin, COEP require-corp: SharedArrayBuffer, so
 * the cpu backend's worker threads can share memory there), plus the training images.
 * It answers GET and HEAD (405 otherwise), only to the Host names 127.0.0.1:PORT and
 * localhost:PORT (403 otherwise, against DNS rebinding), never lets a file be sniffed as
 * another type, and tells the page the data set's name, not the folders it came from.
 * `--build DIR` writes the same site as files for a static host instead (site.ts).
 *
 *   npm run playground -- [--port 5173] [--train-per-class 100] [--test-per-class 20]
 *                         [--data DIR] [--synthetic] [--build DIR]
 */
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Subset, SubsetOptions } from './data';
import { SITE_HEADERS, type SiteFiles, buildSite, writeSite } from './site';

export interface Playground {
  url: string;
  server: Server;
  /** What the page trains on (also sent to it). */
  data: Subset;
  bundleBytes: number;
  close(): Promise<void>;
}

const METHODS = ['GET', 'HEAD'];

/**
 * Only the names this server listens under. A page on another site that rebinds its own
 * DNS name to 127.0.0.1 sends its own name as Host, and is refused (DNS rebinding).
 */
export function hostAllowed(host: string | undefined, port: number): boolean {
  const h = host?.toLowerCase();
  return h === `127.0.0.1:${port}` || h === `localhost:${port}`;
}

function handler(routes: SiteFiles, port: () => number) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    const refuse = (status: number, text: string, extra: Record<string, string> = {}) =>
      void res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', ...SITE_HEADERS, ...extra }).end(`${text}\n`);
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
    res.writeHead(200, { 'Content-Type': file.type, 'Content-Length': file.body.length, 'Cache-Control': 'no-store', ...SITE_HEADERS });
    res.end(req.method === 'HEAD' ? undefined : file.body);
  };
}

export async function startPlayground(opts: Partial<SubsetOptions> & { port?: number } = {}): Promise<Playground> {
  const site = await buildSite(opts);
  const server: Server = createServer(handler(site.files, (): number => (server.address() as AddressInfo).port));
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    data: site.data,
    bundleBytes: site.bundleBytes,
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
      build: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log('npm run playground -- [--port 5173] [--train-per-class 100] [--test-per-class 20] [--data DIR] [--synthetic] [--build DIR]');
    return;
  }
  const count = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
    return n;
  };
  const subset = {
    trainPerClass: count('train-per-class', values['train-per-class']),
    testPerClass: count('test-per-class', values['test-per-class']),
    dataDir: values.data,
    synthetic: values.synthetic,
  };
  const dataLines = (data: Subset) => {
    console.log(`data: ${data.meta.name}, ${data.meta.trainCount} train / ${data.meta.testCount} test images from ${data.local.source}`);
    if (data.local.fallback) console.log(`note: ${data.local.fallback}`);
  };
  if (values.build !== undefined) {
    const dir = resolve(values.build);
    const site = await buildSite(subset);
    const written = writeSite(site, dir);
    dataLines(site.data);
    console.log(`site: ${written.length} files in ${dir} (${written.join(', ')})`);
    console.log('serve it with the headers in _headers (COOP/COEP: see examples/playground/README.md); without them the page works, single-threaded on cpu');
    return;
  }
  const p = await startPlayground({ port: count('port', values.port), ...subset });
  dataLines(p.data);
  console.log(`page: ${(p.bundleBytes / 1024).toFixed(0)} KiB of JavaScript`);
  console.log(`playground: ${p.url}  (Ctrl-C to stop)`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((err: unknown) => {
    console.error((err as Error).message);
    process.exit(1);
  });
}
