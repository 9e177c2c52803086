/**
 * The lab's progress display: one bar on a terminal with the current experiment, the model,
 * the epoch, the running loss and the ETA of the current training run; plain lines (one per
 * epoch) when the output is a pipe or a log, so CI logs stay readable.
 */
import { clock } from './format';

export type ProgressMode = 'auto' | 'bar' | 'lines' | 'none';

interface RunState {
  label: string;
  epochs: number;
  batches: number;
  epoch: number;
  batch: number;
  loss: number;
  done: number;
  startedAt: number;
}

export class LabProgress {
  private readonly mode: 'bar' | 'lines' | 'none';
  private experimentText = '';
  private run: RunState | null = null;
  private lastDraw = 0;
  private drawn = false;
  private lastTenth = -1;

  constructor(
    mode: ProgressMode,
    private readonly out: (line: string) => void = (l) => console.log(l),
  ) {
    this.mode = mode === 'auto' ? (process.stderr.isTTY ? 'bar' : 'lines') : mode;
  }

  /** `short` names the experiment on the bar, where the title would not fit. */
  experiment(number: number, total: number, title: string, short: string): void {
    this.experimentText = `${number}/${total} ${short}`;
    this.log(`\n━━ ${number}/${total} ${title} ━━`);
  }

  /** A message above the bar (the bar is redrawn under it). */
  log(line: string): void {
    if (this.mode === 'none') return;
    this.clear();
    this.out(line);
    this.draw(true);
  }

  /** A download: the bar on a terminal, a line per tenth otherwise. */
  bytes(label: string, done: number, total: number): void {
    const mib = (n: number) => (n / 2 ** 20).toFixed(0);
    const text = total ? `${label}: ${mib(done)} / ${mib(total)} MiB` : `${label}: ${mib(done)} MiB`;
    if (this.mode === 'bar') {
      const now = performance.now();
      if (now - this.lastDraw < 200 && done < total) return;
      this.lastDraw = now;
      process.stderr.write(`\r\x1b[2K▶ ${this.experimentText} · ${text}`);
      this.drawn = true;
    } else if (this.mode === 'lines' && total && Math.floor((10 * done) / total) > this.lastTenth) {
      this.lastTenth = Math.floor((10 * done) / total);
      this.out(text);
    }
  }

  startRun(label: string, epochs: number, batchesPerEpoch: number, epochsDone = 0): void {
    this.run = { label, epochs, batches: Math.max(1, batchesPerEpoch), epoch: epochsDone, batch: 0, loss: Number.NaN, done: 0, startedAt: performance.now() };
    this.draw(true);
  }

  batch(epoch: number, batch: number, loss: number): void {
    const r = this.run;
    if (!r) return;
    r.epoch = epoch;
    r.batch = batch;
    r.loss = loss;
    r.done++;
    if (batch > r.batches) r.batches = batch;
    this.draw(false);
  }

  endRun(): void {
    this.clear();
    this.run = null;
  }

  stop(): void {
    this.clear();
    this.run = null;
  }

  /** Seconds left in the current run, from this run's own pace so far. */
  private eta(r: RunState): number {
    if (r.done === 0) return Number.NaN;
    const perBatch = (performance.now() - r.startedAt) / 1000 / r.done;
    const left = (r.epochs - r.epoch - 1) * r.batches + (r.batches - r.batch);
    return left * perBatch;
  }

  private line(): string {
    const r = this.run;
    if (!r) return `▶ ${this.experimentText}`;
    const width = 20;
    const filled = Math.min(width, Math.round((width * r.batch) / r.batches));
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    const loss = Number.isFinite(r.loss) ? r.loss.toFixed(4) : '–';
    return `▶ ${this.experimentText} · ${r.label} · epoch ${Math.min(r.epoch + 1, r.epochs)}/${r.epochs} ${bar} ${r.batch}/${r.batches} · loss ${loss} · ETA ${clock(this.eta(r))}`;
  }

  private draw(force: boolean): void {
    if (this.mode !== 'bar') return;
    const now = performance.now();
    if (!force && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const cols = process.stderr.columns || 120;
    const text = this.line();
    process.stderr.write(`\r\x1b[2K${text.length > cols - 1 ? text.slice(0, cols - 2) + '…' : text}`);
    this.drawn = true;
  }

  private clear(): void {
    if (this.mode === 'bar' && this.drawn) {
      process.stderr.write('\r\x1b[2K');
      this.drawn = false;
    }
  }
}
