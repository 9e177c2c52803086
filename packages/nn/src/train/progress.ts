/**
 * Training progress: a bar with loss, rate and ETA on a terminal (cli-progress), one plain
 * line per epoch otherwise (logs, CI, a pipe), or nothing.
 */
export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

export interface Progress {
  startEpoch(epoch: number, epochs: number, totalBatches: number | undefined): void;
  update(batches: number, loss: number, imagesPerSecond: number): void;
  endEpoch(summary: string): void;
  stop(): void;
}

interface BarLike {
  start(total: number, value: number, payload: object): void;
  update(value: number, payload: object): void;
  setTotal(total: number): void;
  stop(): void;
}

export async function createProgress(mode: ProgressMode, log: (line: string) => void): Promise<Progress> {
  const tty = typeof process !== 'undefined' && !!process.stderr?.isTTY;
  const chosen = mode === 'auto' ? (tty ? 'bar' : 'lines') : mode;
  if (chosen === 'none') return { startEpoch() {}, update() {}, endEpoch() {}, stop() {} };
  if (chosen === 'lines') return { startEpoch() {}, update() {}, endEpoch: (s) => log(s), stop() {} };
  const mod = (await import('cli-progress')) as unknown as { default?: unknown };
  const cli = (mod.default ?? mod) as {
    SingleBar: new (opts: object, preset: object) => BarLike;
    Presets: { shades_classic: object };
  };
  let bar: BarLike | null = null;
  let total = 0;
  return {
    startEpoch(epoch, epochs, totalBatches) {
      total = totalBatches ?? 0;
      bar = new cli.SingleBar(
        {
          format: `epoch ${epoch}/${epochs} {bar} {value}/{total} | loss {loss} | {rate} img/s | ETA {eta_formatted}`,
          hideCursor: true,
          clearOnComplete: true,
          etaBuffer: 20,
        },
        cli.Presets.shades_classic,
      );
      bar.start(total, 0, { loss: '-', rate: '-' });
    },
    update(batches, loss, rate) {
      if (batches > total) bar?.setTotal((total = batches));
      bar?.update(batches, { loss: loss.toFixed(4), rate: rate.toFixed(0) });
    },
    endEpoch(summary) {
      bar?.stop();
      bar = null;
      log(summary);
    },
    stop() {
      bar?.stop();
      bar = null;
    },
  };
}
