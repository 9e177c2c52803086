import { runDecodeTask, type DecodeFailure } from './decode-task';
import { sharedBytes } from './image-set';
import { channelsOf, type ImageShape } from './load-image';
import { WorkerPool, defaultWorkers } from './worker-pool';

export interface DecodeOptions {
  /** Worker threads; 0 decodes on the calling thread. Default: one per core. */
  workers?: number;
  /** Called after each chunk with the number of files done so far. */
  onProgress?: (done: number, total: number) => void;
}

export interface Decoded {
  /** [paths.length, C, H, W] in shared memory; slots of failed files are zero. */
  pixels: Uint8Array;
  failures: DecodeFailure[];
}

// Below this many files, starting threads costs more than it saves.
const MIN_FILES_FOR_WORKERS = 256;
const CHUNK = 500;

/** Decodes and resizes image files in parallel on worker threads. */
export async function decodeFiles(paths: string[], shape: ImageShape, opts: DecodeOptions = {}): Promise<Decoded> {
  const size = channelsOf(shape.colour) * shape.height * shape.width;
  const pixels = sharedBytes(paths.length * size);
  const workers = Math.min(opts.workers ?? defaultWorkers(), Math.ceil(paths.length / CHUNK));
  const chunks: { first: number; paths: string[] }[] = [];
  for (let first = 0; first < paths.length; first += CHUNK) chunks.push({ first, paths: paths.slice(first, first + CHUNK) });
  let done = 0;
  const failures: DecodeFailure[] = [];
  if (workers < 1 || paths.length < MIN_FILES_FOR_WORKERS) {
    for (const c of chunks) {
      failures.push(...runDecodeTask({ kind: 'decode', ...c, shape, pixels }));
      opts.onProgress?.((done += c.paths.length), paths.length);
    }
    return { pixels, failures };
  }
  const pool = new WorkerPool(workers);
  try {
    await Promise.all(
      chunks.map(async (c) => {
        failures.push(...(await pool.run<DecodeFailure[]>({ kind: 'decode', ...c, shape, pixels })));
        opts.onProgress?.((done += c.paths.length), paths.length);
      }),
    );
  } finally {
    await pool.close();
  }
  failures.sort((a, b) => a.index - b.index);
  return { pixels, failures };
}
