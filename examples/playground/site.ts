/**
 * The playground as a set of files, served by `npm run playground` from memory or written by
 * `npm run playground -- --build DIR` for any static host: the page, its bundle, the
 * training images, and `_headers`, the cross-origin-isolation headers in the format of
 * Netlify and Cloudflare Pages (README.md beside this file has them for other hosts).
 * Every URL the page asks for is relative, so the site also works under a sub-path.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildPage } from './build';
import { encodeImages } from './core';
import { type Subset, type SubsetOptions, loadSubset } from './data';

export type SiteFiles = Map<string, { type: string; body: Uint8Array }>;

/** COOP same-origin + COEP require-corp: the page is cross-origin isolated, so SharedArrayBuffer (the cpu backend's threads) exists. */
export const ISOLATION = { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' };
/** On every answer: isolation, and no MIME sniffing (a served file is only ever what its Content-Type says). */
export const SITE_HEADERS = { ...ISOLATION, 'X-Content-Type-Options': 'nosniff' };

/** `_headers` (Netlify, Cloudflare Pages): the headers above on every path. */
export const headersFile = (): string => `/*\n${Object.entries(SITE_HEADERS).map(([k, v]) => `  ${k}: ${v}`).join('\n')}\n`;

export interface Site {
  /** URL path → contents, `/` being the page. */
  files: SiteFiles;
  data: Subset;
  bundleBytes: number;
}

export async function buildSite(opts: Partial<SubsetOptions> = {}): Promise<Site> {
  const [page, data] = await Promise.all([
    buildPage(),
    loadSubset({ trainPerClass: opts.trainPerClass ?? 100, testPerClass: opts.testPerClass ?? 20, dataDir: opts.dataDir, synthetic: opts.synthetic }),
  ]);
  const files: SiteFiles = new Map(page.files);
  files.set('/', { type: 'text/html; charset=utf-8', body: readFileSync(fileURLToPath(new URL('./index.html', import.meta.url))) });
  files.set('/data/meta.json', { type: 'application/json', body: new TextEncoder().encode(JSON.stringify(data.meta)) });
  files.set('/data/images.bin', { type: 'application/octet-stream', body: encodeImages(data) });
  return { files, data, bundleBytes: page.bytes };
}

/** Writes the site into `dir` (`/` as index.html), plus `_headers`; returns the paths written, relative to `dir`. */
export function writeSite(site: Site, dir: string): string[] {
  const written: string[] = [];
  const put = (rel: string, body: Uint8Array | string) => {
    const path = join(dir, rel);
    mkdirSync(dirname(path), { recursive: true });
    writeFileSync(path, body);
    written.push(rel);
  };
  for (const [url, f] of site.files) put(url === '/' ? 'index.html' : url.slice(1), f.body);
  put('_headers', headersFile());
  return written;
}
