import type { Colour, Pixels } from './decode-image';

/** A pool of worker threads running the loader's tasks (worker-pool.ts in Node). */
export interface TaskPool {
  run<R>(task: object): Promise<R>;
  close(): Promise<void>;
}

/**
 * What only Node provides, installed by the package's Node entry (node.ts): the browser
 * entry imports nothing from Node, and a page runs without these.
 */
export const nodeOnly: {
  /** Worker threads for a DataLoader with `workers` > 0. */
  workerPool?: (size: number) => TaskPool;
  /** Cores, for the DataLoader's default number of workers. */
  cores?: () => number;
  /** An image file by path, decoded at its own size (compose().apply('cat.jpg')). */
  readImageFile?: (path: string, colour: Colour) => Pixels;
} = {};
