import cliProgress from 'cli-progress';

/** Reports progress of one long job. */
export interface Progress {
  update(done: number): void;
  stop(): void;
}

const mib = (n: number) => (n / 2 ** 20).toFixed(1);

/**
 * A progress bar (cli-progress) on a terminal; elsewhere (CI, logs) a plain line every 10 %,
 * since a redrawn bar would flood a log with control characters.
 */
export function byteProgress(label: string, total: number, stream: NodeJS.WriteStream = process.stderr): Progress {
  if (stream.isTTY) {
    const bar = new cliProgress.SingleBar(
      { stream, format: `${label} [{bar}] {percentage}% | {doneMiB}/{totalMiB} MiB`, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total || 1, 0, { doneMiB: '0.0', totalMiB: total ? mib(total) : '?' });
    return {
      update: (done) => bar.update(Math.min(done, total || done), { doneMiB: mib(done) }),
      stop: () => bar.stop(),
    };
  }
  let shown = -1;
  return {
    update(done) {
      const tenth = total ? Math.floor((10 * done) / total) : Math.floor(done / 2 ** 24);
      if (tenth === shown) return;
      shown = tenth;
      stream.write(total ? `${label}: ${10 * tenth} % of ${mib(total)} MiB\n` : `${label}: ${mib(done)} MiB\n`);
    },
    stop() {},
  };
}
