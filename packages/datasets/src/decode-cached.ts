import { decodeFiles, type DecodeOptions } from './decode-files';
import { DECODER_VERSION } from './decode-image';
import { DEFAULT_MAX_PIXELS } from './pixel-limit';
import { DEFAULT_RESIZE_FILTER } from './resize';
import { cacheKey, fileListSignature, readCache, writeCache } from './image-cache';
import type { SkippedFile } from './image-set';
import { channelsOf, type ImageShape } from './load-image';

export interface CachedDecodeOptions extends DecodeOptions {
  /** Cache folder, or false for no cache. Default: defaultCacheDir(). */
  cache?: string | false;
  /** Where a failed cache write is reported. Default: console.warn. */
  onWarning?: (line: string) => void;
}

export interface DecodedList {
  /** Pixels of the files that decoded, in order, [kept.length, C, H, W], shared memory. */
  pixels: Uint8Array;
  /** Indices (into the given paths) of the files that decoded. */
  kept: number[];
  skipped: (SkippedFile & { index: number })[];
  fromCache: boolean;
}

interface Header {
  count: number;
  shape: ImageShape;
  skipped: (SkippedFile & { index: number })[];
}

/**
 * The cache key of a decoded file list: every path, size and modification time, the shape, and
 * what else changes the bytes that come out: the decoder, the resize filter, the pixel limit.
 */
export function decodedListKey(paths: readonly string[], shape: ImageShape, decoder = DECODER_VERSION): string {
  return cacheKey({ what: 'decoded-files', files: fileListSignature(paths), height: shape.height, width: shape.width, colour: shape.colour, decoder, filter: shape.filter ?? DEFAULT_RESIZE_FILTER, maxPixels: shape.maxPixels ?? DEFAULT_MAX_PIXELS });
}

/**
 * Decodes a list of files to one shape, or loads the result of an earlier run: the cache key
 * covers every path, size and modification time and the shape.
 */
export async function decodeFileList(paths: string[], shape: ImageShape, opts: CachedDecodeOptions = {}): Promise<DecodedList> {
  const key = opts.cache === false ? '' : decodedListKey(paths, shape);
  const dir = opts.cache === false ? undefined : opts.cache;
  const keptOf = (skipped: Header['skipped']) => {
    const bad = new Set(skipped.map((s) => s.index));
    return paths.map((_, i) => i).filter((i) => !bad.has(i));
  };
  if (key) {
    const hit = readCache<Header>(key, dir);
    if (hit && hit.header.count === paths.length) return { pixels: hit.bytes, kept: keptOf(hit.header.skipped), skipped: hit.header.skipped, fromCache: true };
  }
  const { pixels, failures } = await decodeFiles(paths, shape, opts);
  const skipped = failures.map((f) => ({ index: f.index, path: paths[f.index], reason: f.reason }));
  const kept = keptOf(skipped);
  // Close the gaps that bad files left, in place.
  const size = channelsOf(shape.colour) * shape.height * shape.width;
  kept.forEach((from, to) => {
    if (from !== to) pixels.copyWithin(to * size, from * size, (from + 1) * size);
  });
  const compact = pixels.subarray(0, kept.length * size);
  if (key) {
    try {
      writeCache<Header>(key, { header: { count: paths.length, shape, skipped }, bytes: compact }, dir);
    } catch (err) {
      // A cache is an optimisation: failing to write one must not fail the load.
      (opts.onWarning ?? console.warn)(`image cache: not written (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return { pixels: compact, kept, skipped, fromCache: false };
}
