/**
 * A plain static host, as Netlify or Cloudflare Pages would be: files from a folder, the
 * type from the extension, `index.html` for a folder, and the headers that the folder's
 * `_headers` file sets (`/*` and exact paths). It knows nothing of what it serves; tests
 * use it to check that a built site works on any host that honours `_headers`, or, with
 * `headers: false`, on one that sets none (GitHub Pages).
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.json': 'application/json', '.map': 'application/json',
  '.css': 'text/css', '.png': 'image/png', '.wasm': 'application/wasm', '.bin': 'application/octet-stream',
};

/** `_headers`: a path pattern on its own line, then indented `Name: value` lines. */
export function parseHeadersFile(text: string): { pattern: string; headers: Record<string, string> }[] {
  const rules: { pattern: string; headers: Record<string, string> }[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim() || line.trim().startsWith('#')) continue;
    if (!/^\s/.test(line)) rules.push({ pattern: line.trim(), headers: {} });
    else {
      const m = /^\s+([^:]+):\s*(.*)$/.exec(line);
      if (!m || !rules.length) throw new Error(`_headers: cannot read the line "${line}"`);
      rules[rules.length - 1].headers[m[1].trim()] = m[2].trim();
    }
  }
  return rules;
}

/** Serves `root` under the URL path `base` (default '/'; e.g. '/playground/', as a GitHub Pages project site). */
export async function serveStatic(root: string, opts: { headers?: boolean; base?: string } = {}): Promise<{ url: string; server: Server; close(): Promise<void> }> {
  const base = opts.base ?? '/';
  const rulesFile = join(root, '_headers');
  const rules = opts.headers !== false && existsSync(rulesFile) ? parseHeadersFile(readFileSync(rulesFile, 'utf8')) : [];
  const server = createServer((req, res) => {
    const full = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const headers: Record<string, string> = {};
    if (!full.startsWith(base)) return void res.writeHead(404).end();
    const path = `/${full.slice(base.length)}`;
    for (const r of rules) if (r.pattern === '/*' || r.pattern === path) Object.assign(headers, r.headers);
    let file = normalize(join(root, path));
    if (!file.startsWith(root + sep) && file !== root) return void res.writeHead(403, headers).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = join(file, 'index.html');
    if (!existsSync(file) || path.endsWith('/_headers')) return void res.writeHead(404, headers).end();
    const body = readFileSync(file);
    res.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream', 'Content-Length': body.length, ...headers }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}${base}`, server, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
