/**
 * The playground's server against a hostile page or client (issue 23, point 13): Host names
 * other than 127.0.0.1:PORT and localhost:PORT are refused (DNS rebinding), every answer
 * says nosniff, methods it does not serve get 405, and meta.json names the data set, never
 * a folder of this machine.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { request } from 'node:http';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as ds from '@webgrad/datasets';
import { loadSubset } from '../examples/playground/data';
import { type Playground, hostAllowed, startPlayground } from '../examples/playground/server';
import { sharedDataRoot } from '../examples/lab/locate';
import { SITE_HEADERS, buildSite, writeSite } from '../examples/playground/site';
import { parseHeadersFile } from './browser/static-host';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A raw request, with whatever Host header it is given (fetch would not let us set it). */
function ask(port: number, opts: { method?: string; path?: string; host?: string | null }): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = {};
    if (opts.host !== null) headers.Host = opts.host ?? `127.0.0.1:${port}`;
    const req = request({ host: '127.0.0.1', port, method: opts.method ?? 'GET', path: opts.path ?? '/', headers, setHost: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Absolute paths of this machine: anything that starts with '/' after a space, a quote or a bracket. */
const ABSOLUTE = /(^|[\s"'(:,=])\/[A-Za-z0-9_.-]+\//;

describe('playground server', () => {
  let pg: Playground;
  let port: number;
  beforeAll(async () => {
    pg = await startPlayground({ synthetic: true, trainPerClass: 1, testPerClass: 1 });
    port = Number(new URL(pg.url).port);
  });
  afterAll(() => pg?.close());

  it('answers 127.0.0.1:PORT and localhost:PORT, with nosniff and the isolation headers', async () => {
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `LocalHost:${port}`]) {
      const a = await ask(port, { host });
      expect(a.status, host).toBe(200);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
      expect(a.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(a.headers['cross-origin-embedder-policy']).toBe('require-corp');
    }
    expect((await ask(port, { path: '/main.js' })).headers['content-type']).toBe('text/javascript');
  });

  it('refuses every other Host name with 403 (DNS rebinding), still nosniff', async () => {
    for (const host of ['evil.example:' + port, `127.0.0.1:${port + 1}`, 'localhost', '127.0.0.1', `[::1]:${port}`, `127.0.0.1.evil.example:${port}`, `localhost:${port}.evil.example`, '']) {
      const a = await ask(port, { host, path: '/data/meta.json' });
      expect(a.status, `Host: ${host}`).toBe(403);
      expect(a.body).toContain(`127.0.0.1:${port} and localhost:${port}`);
      expect(a.headers['x-content-type-options']).toBe('nosniff');
    }
    // No Host at all: Node's own HTTP/1.1 parser answers 400 before the handler runs.
    expect([400, 403]).toContain((await ask(port, { host: null })).status);
    expect(hostAllowed(undefined, port)).toBe(false);
  });

  it('answers 405 with Allow to the methods it does not serve, 404 to unknown paths', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'TRACE']) {
      const a = await ask(port, { method });
      expect(a.status, method).toBe(405);
      expect(a.headers.allow).toBe('GET, HEAD');
      expect(a.headers['x-content-type-options']).toBe('nosniff');
    }
    const head = await ask(port, { method: 'HEAD', path: '/data/images.bin' });
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
    const missing = await ask(port, { path: '/../package.json' });
    expect(missing.status).toBe(404);
    expect(missing.headers['x-content-type-options']).toBe('nosniff');
  });

  it('meta.json names the data set and where the lab found it, never an absolute path', async () => {
    const served = await ask(port, { path: '/data/meta.json' });
    expect(served.status).toBe(200);
    expect(served.body).not.toMatch(ABSOLUTE);
    // The real search (CIFAR-10 from the shared data when present, else a fallback that lists the folders it tried).
    const d = await loadSubset({ trainPerClass: 1, testPerClass: 1, dataDir: sharedDataRoot() });
    const json = JSON.stringify(d.meta);
    expect(json).not.toMatch(ABSOLUTE);
    for (const p of [sharedDataRoot(), ds.repoRoot(), homedir()]) expect(json).not.toContain(p);
    // Without the shared data (a clone elsewhere) the fallback names Debian's dataset-fashion-mnist package.
    expect(d.meta.source).toMatch(/--data|Fashion-MNIST|drawing code/i);
    // The server's console still says which folder.
    expect(`${d.local.source} ${d.local.fallback ?? ''}`).toMatch(ABSOLUTE);
  });

  it('--build writes the same files the server serves, and _headers with the isolation headers on every path', async () => {
    const site = await buildSite({ synthetic: true, trainPerClass: 1, testPerClass: 1 });
    const dir = mkdtempSync(join(tmpdir(), 'webgrad-site-'));
    expect(writeSite(site, dir).sort()).toEqual(['_headers', 'data/images.bin', 'data/meta.json', 'index.html', 'main.js', 'main.js.map']);
    for (const [url, f] of site.files) {
      const a = await ask(port, { path: url });
      expect(a.headers['content-type'], url).toBe(f.type);
      if (url !== '/main.js' && url !== '/main.js.map') expect(readFileSync(join(dir, url === '/' ? 'index.html' : url.slice(1)), 'utf8')).toBe(a.body);
    }
    expect(parseHeadersFile(readFileSync(join(dir, '_headers'), 'utf8'))).toEqual([{ pattern: '/*', headers: SITE_HEADERS }]);
    // Relative URLs only, so that a sub-path works.
    const html = readFileSync(join(dir, 'index.html'), 'utf8');
    expect(html).toContain('src="main.js"');
    expect(html).not.toMatch(/(src|href)="\/(?!\/)/);
  });
});
