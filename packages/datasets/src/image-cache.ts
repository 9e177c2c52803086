import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readSync, renameSync, rmSync, statSync, writeFileSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { sharedBytes } from './image-set';
import { defaultCacheDir } from './paths';

// Bump when the decoded bytes would change (decoder, resize or layout), so old entries are not reused.
export const CACHE_FORMAT = 1;
const MAGIC = Buffer.from('WGIMG1\n');

/** A cached payload and the JSON header stored with it. */
export interface CacheEntry<H> {
  header: H;
  bytes: Uint8Array;
}

/** A short hash of anything JSON can hold, plus the cache format. */
export function cacheKey(parts: unknown): string {
  return createHash('sha256').update(JSON.stringify({ format: CACHE_FORMAT, parts })).digest('hex').slice(0, 32);
}

/** Each file's path, size and modification time: any change to the files changes the key. */
export function fileListSignature(paths: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of paths) {
    const s = statSync(p);
    h.update(`${p}\0${s.size}\0${s.mtimeMs}\n`);
  }
  return h.digest('hex');
}

/** An entry's file in the cache folder. */
const entryPath = (dir: string, key: string) => join(dir, `${key}.wgimg`);

/** The entry stored under `key`, its payload in shared memory; null when absent or unreadable. */
export function readCache<H>(key: string, dir = defaultCacheDir()): CacheEntry<H> | null {
  const path = entryPath(dir, key);
  if (!existsSync(path)) return null;
  const fd = openSync(path, 'r');
  try {
    const head = Buffer.alloc(MAGIC.length + 4);
    if (readSync(fd, head, 0, head.length, 0) !== head.length || !head.subarray(0, MAGIC.length).equals(MAGIC)) return null;
    const headerLength = head.readUInt32LE(MAGIC.length);
    const json = Buffer.alloc(headerLength);
    readSync(fd, json, 0, headerLength, head.length);
    const offset = head.length + headerLength;
    const length = statSync(path).size - offset;
    const bytes = sharedBytes(length);
    // Read in pieces: a single readSync is capped near 2 GiB.
    for (let done = 0; done < length; ) {
      const n = readSync(fd, bytes, done, Math.min(length - done, 1 << 28), offset + done);
      if (n <= 0) return null;
      done += n;
    }
    return { header: JSON.parse(json.toString('utf8')) as H, bytes };
  } catch {
    return null;
  } finally {
    closeSync(fd);
  }
}

/** Stores an entry; written to a temporary file and renamed, so a reader never sees half of one. */
export function writeCache<H>(key: string, entry: CacheEntry<H>, dir = defaultCacheDir()): string {
  mkdirSync(dir, { recursive: true });
  const json = Buffer.from(JSON.stringify(entry.header), 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(json.length, 0);
  const path = entryPath(dir, key);
  const tmp = `${path}.${process.pid}.tmp`;
  const fd = openSync(tmp, 'w');
  try {
    for (const part of [MAGIC, len, json, entry.bytes]) writeFileSync(fd, part);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  return path;
}

/** Removes every cached entry in `dir`. */
export function clearCache(dir = defaultCacheDir()): void {
  if (!existsSync(dir)) return;
  for (const f of readdirSync(dir)) if (f.endsWith('.wgimg') || f.endsWith('.tmp')) rmSync(join(dir, f), { force: true });
}

/** The on-disk cache of decoded images, as one object. */
export const imageCache = { key: cacheKey, fileListSignature, read: readCache, write: writeCache, clear: clearCache, defaultDir: defaultCacheDir };
