import { createHash } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { byteProgress, type Progress } from './progress';

export interface Checksum {
  algorithm: 'md5' | 'sha1' | 'sha256';
  /** Hex digest. */
  digest: string;
}

export interface DownloadFileOptions {
  checksum?: Checksum;
  /** Called with bytes received and the total (0 when the server gives none); replaces the default progress display. */
  onProgress?: (done: number, total: number) => void;
  /** No progress display at all. */
  quiet?: boolean;
  /** How long to wait for the server's first answer. Default 30 s. */
  connectTimeoutMs?: number;
}

/** Thrown when the server cannot be reached at all (offline, DNS, refused, timed out). */
export class UnreachableError extends Error {}

const causeOf = (err: unknown): string => {
  const e = err as { message?: string; cause?: { code?: string; message?: string } };
  return e.cause?.code ?? e.cause?.message ?? e.message ?? String(err);
};

function progressFor(url: string, total: number, opts: DownloadFileOptions): Progress {
  if (opts.onProgress) return { update: (done) => opts.onProgress!(done, total), stop() {} };
  if (opts.quiet) return { update() {}, stop() {} };
  return byteProgress(`downloading ${url.split('/').pop()}`, total);
}

async function connect(url: string, timeoutMs: number): Promise<Response> {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(new Error(`no answer in ${timeoutMs / 1000} s`)), timeoutMs);
  try {
    return await fetch(url, { signal: abort.signal });
  } catch (err) {
    throw new UnreachableError(`cannot reach ${url} (${causeOf(err)})`);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Downloads `url` to `path`, checking the checksum. Bytes go to `path.partial` first and are
 * renamed only when complete and verified, so an interrupted download never looks finished.
 */
export async function downloadFile(url: string, path: string, opts: DownloadFileOptions = {}): Promise<void> {
  const res = await connect(url, opts.connectTimeoutMs ?? 30_000);
  if (!res.ok || !res.body) throw new Error(`GET ${url}: HTTP ${res.status} ${res.statusText}`);
  const total = Number(res.headers.get('content-length') ?? 0);
  const tmp = `${path}.partial`;
  mkdirSync(dirname(path), { recursive: true });
  const hash = opts.checksum ? createHash(opts.checksum.algorithm) : null;
  const progress = progressFor(url, total, opts);
  let done = 0;
  try {
    await pipeline(
      Readable.fromWeb(res.body as WebReadableStream<Uint8Array>),
      async function* (source: AsyncIterable<Uint8Array>) {
        for await (const chunk of source) {
          hash?.update(chunk);
          done += chunk.length;
          progress.update(done);
          yield chunk;
        }
      },
      createWriteStream(tmp),
    );
    if (total && done !== total) throw new Error(`GET ${url}: got ${done} of ${total} bytes`);
    if (hash && opts.checksum) {
      const got = hash.digest('hex');
      if (got !== opts.checksum.digest.toLowerCase()) throw new Error(`GET ${url}: ${opts.checksum.algorithm} checksum is ${got}, expected ${opts.checksum.digest}; the download is corrupt`);
    }
    renameSync(tmp, path);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err instanceof Error && err.message.startsWith('GET ') ? err : new Error(`GET ${url}: ${causeOf(err)}`);
  } finally {
    progress.stop();
  }
}
