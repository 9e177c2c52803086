import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { c as createTar } from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readCifar10Binary } from '../src/cifar-binary';
import { downloadCifar10 } from '../src/cifar-download';
import { loadCifar10 } from '../src/cifar10';
import { downloadFile } from '../src/download-file';
import { byteProgress } from '../src/progress';
import { makeCifarBinary } from './helpers/cifar';
import { tempDir } from './helpers/tmp';

const root = tempDir();
let archive: Buffer;
let sha256: string;
let server: Server;
let base: string;
let served = 0;

/** Serves the archive at /cifar-10-binary.tar.gz, and at /cut.tar.gz only its first half before dropping the connection. */
beforeAll(async () => {
  makeCifarBinary(join(root, 'made', 'cifar-10-batches-bin'), 2);
  const file = join(root, 'cifar-10-binary.tar.gz');
  await createTar({ gzip: true, file, cwd: join(root, 'made') }, ['cifar-10-batches-bin']);
  archive = readFileSync(file);
  sha256 = createHash('sha256').update(archive).digest('hex');
  server = createServer((req, res) => {
    served++;
    if (req.url === '/cifar-10-binary.tar.gz') {
      res.writeHead(200, { 'content-length': archive.length });
      res.end(archive);
    } else if (req.url === '/cut.tar.gz') {
      res.writeHead(200, { 'content-length': archive.length });
      res.write(archive.subarray(0, archive.length >> 1), () => res.destroy());
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('downloadCifar10', () => {
  it('downloads with progress, verifies the checksum, extracts with node-tar and removes the archive', async () => {
    const dest = join(root, 'ok');
    const seen: number[] = [];
    const dir = await downloadCifar10({ dest, url: `${base}/cifar-10-binary.tar.gz`, checksum: { algorithm: 'sha256', digest: sha256 }, onProgress: (done, total) => seen.push(done / total) });
    expect(dir).toBe(join(dest, 'cifar-10-batches-bin'));
    expect(seen.at(-1)).toBe(1);
    expect(readCifar10Binary(dir).train.count).toBe(10);
    expect(readdirSync(dest)).toEqual(['cifar-10-batches-bin']);
    // A second call finds the folder and does not download again.
    const before = served;
    await downloadCifar10({ dest, url: `${base}/cifar-10-binary.tar.gz` });
    expect(served).toBe(before);
  });

  it('rejects a wrong checksum and leaves nothing that looks complete', async () => {
    const dest = join(root, 'bad-sum');
    await expect(downloadCifar10({ dest, url: `${base}/cifar-10-binary.tar.gz`, quiet: true, checksum: { algorithm: 'sha256', digest: '0'.repeat(64) } })).rejects.toThrow(
      `sha256 checksum is ${sha256}, expected ${'0'.repeat(64)}`,
    );
    expect(existsSync(join(dest, 'cifar-10-binary.tar.gz'))).toBe(false);
    expect(existsSync(join(dest, 'cifar-10-batches-bin'))).toBe(false);
    expect(readdirSync(dest)).toEqual([]);
  });

  it('leaves no file behind when the connection drops midway', async () => {
    const path = join(root, 'cut', 'cut.tar.gz');
    await expect(downloadFile(`${base}/cut.tar.gz`, path, { quiet: true })).rejects.toThrow(`GET ${base}/cut.tar.gz`);
    expect(existsSync(path)).toBe(false);
    expect(existsSync(`${path}.partial`)).toBe(false);
  });

  it('fails at once offline, naming the URL and the manual alternative', async () => {
    // A port that was just free: nothing listens there, so the connection is refused.
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const url = `http://127.0.0.1:${port}/cifar-10-binary.tar.gz`;
    const start = performance.now();
    const err = await downloadCifar10({ dest: join(root, 'offline'), url, quiet: true }).catch((e: Error) => e);
    expect(performance.now() - start).toBeLessThan(5000);
    expect(String(err)).toContain(`cannot reach ${url}`);
    expect(String(err)).toContain(`Download ${url} by hand and unpack it into ${join(root, 'offline')}`);
  });

  it('is what loadCifar10 falls back on when no copy is found', async () => {
    const dataDir = join(root, 'load');
    const loaded = await loadCifar10({ dataDir, sharedRoot: join(root, 'no-shared'), downloadOptions: { url: `${base}/cifar-10-binary.tar.gz`, checksum: { algorithm: 'sha256', digest: sha256 }, quiet: true } });
    expect(loaded.source).toBe(join(dataDir, 'cifar-10-batches-bin'));
    expect([loaded.train.count, loaded.test.count]).toEqual([10, 2]);
  });

  it('names the HTTP status of a missing file', async () => {
    await expect(downloadFile(`${base}/nothing.tar.gz`, join(root, 'x', 'n.tar.gz'), { quiet: true })).rejects.toThrow(`GET ${base}/nothing.tar.gz: HTTP 404`);
  });
});

describe('download progress', () => {
  it('prints a plain line every 10 % when not on a terminal', () => {
    const lines: string[] = [];
    const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
    const p = byteProgress('downloading x.tar.gz', 10 * 2 ** 20, stream);
    for (let i = 0; i <= 100; i++) p.update((i / 100) * 10 * 2 ** 20);
    p.stop();
    expect(lines).toHaveLength(11);
    expect(lines[3]).toBe('downloading x.tar.gz: 30 % of 10.0 MiB\n');
  });
});
