/**
 * Training progress: a bar with loss, rate and ETA on a terminal, one plain line per epoch
 * otherwise (logs, CI, a pipe, a browser), or nothing. The bar is Node-only
 * (./progress-bar.ts, cli-progress); the Node entry point installs it in nodeOnly.
 */
import { nodeOnly } from '../platform';

export const PROGRESS_MODES = ['auto', 'bar', 'lines', 'none'] as const;
export type ProgressMode = (typeof PROGRESS_MODES)[number];

export interface Progress {
  startEpoch(epoch: number, epochs: number, totalBatches: number | undefined): void;
  update(batches: number, loss: number, imagesPerSecond: number): void;
  endEpoch(summary: string): void;
  stop(): void;
}

export async function createProgress(mode: ProgressMode, log: (line: string) => void): Promise<Progress> {
  const tty = typeof process !== 'undefined' && !!process.stderr?.isTTY;
  const chosen = mode === 'auto' ? (tty && nodeOnly.progressBar ? 'bar' : 'lines') : mode;
  if (chosen === 'none') return { startEpoch() {}, update() {}, endEpoch() {}, stop() {} };
  if (chosen === 'lines') return { startEpoch() {}, update() {}, endEpoch: (s) => log(s), stop() {} };
  if (!nodeOnly.progressBar) throw new Error("fit: progress 'bar' needs a terminal and @webgrad/nn's Node entry; use 'lines' or 'none' here");
  return nodeOnly.progressBar(log);
}
