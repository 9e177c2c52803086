/** The terminal progress bar of fit (cli-progress): Node-only, installed by the Node entry point. */
import type { Progress } from './progress';

interface BarLike {
  start(total: number, value: number, payload: object): void;
  update(value: number, payload: object): void;
  setTotal(total: number): void;
  stop(): void;
}

export async function cliProgressBar(log: (line: string) => void): Promise<Progress> {
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
