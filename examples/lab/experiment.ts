/**
 * What an experiment is given and how it reports: an ExperimentContext carries the preset,
 * the device, the data catalogue, its own folder and resume store, and collects what the
 * report shows (settings, text, tables, charts, analysis, headline rows) into one
 * ExperimentResult.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as wg from '@webgrad/tensor';
import type { DeviceInfo } from '@webgrad/tensor';
import type { PresetName } from './presets';
import type { DataCatalog } from './data';
import type { LabProgress } from './progress';
import { RunStore } from './store';
import { type Spec, renderChart } from './render';
import { deviceLabel } from './format';
import type { Cell, ExperimentResult, HeadlineRow, RunSummary, Table } from './types';

export interface Experiment {
  /** File-name stem, e.g. '06-dilated'. */
  id: string;
  number: number;
  title: string;
  /** A few words for the headline table. */
  short: string;
  /** One line for --help. */
  summary: string;
  run(ctx: ExperimentContext): Promise<void>;
}

/** Thrown by ctx.skip(): the experiment is listed as skipped with the line that would enable it. */
export class SkipExperiment extends Error {
  constructor(
    readonly reason: string,
    readonly enable: string,
  ) {
    super(reason);
  }
}

export interface ContextInit {
  experiment: Experiment;
  preset: PresetName;
  seed: number;
  device: DeviceInfo;
  data: DataCatalog;
  reportDir: string;
  progress: LabProgress;
  /** nn.fit's jit for every training run (the lab's --no-jit turns it off). */
  jit: boolean;
  /** Called after each epoch's checkpoint: the runner rewrites the report, so --resume finds it. */
  onEpochSaved?: () => void;
}

export class ExperimentContext {
  readonly preset: PresetName;
  readonly seed: number;
  readonly device: DeviceInfo;
  readonly data: DataCatalog;
  readonly reportDir: string;
  /** This experiment's folder (charts, grids), inside the report folder. */
  readonly dir: string;
  readonly store: RunStore;
  readonly progress: LabProgress;
  readonly jit: boolean;
  readonly result: ExperimentResult;
  /** The options every checkpoint of this experiment records, so another run's is refused. */
  readonly runIdentity: { experiment: string; preset: string; seed: number };
  private readonly short: string;
  private readonly onEpochSaved: () => void;

  constructor(init: ContextInit) {
    const e = init.experiment;
    this.preset = init.preset;
    this.seed = init.seed;
    this.device = init.device;
    this.data = init.data;
    this.reportDir = init.reportDir;
    this.dir = join(init.reportDir, e.id);
    mkdirSync(this.dir, { recursive: true });
    this.store = new RunStore(init.reportDir, e.id);
    this.progress = init.progress;
    this.jit = init.jit;
    this.short = e.short;
    this.onEpochSaved = init.onEpochSaved ?? (() => {});
    this.runIdentity = { experiment: e.id, preset: init.preset, seed: init.seed };
    this.result = {
      id: e.id,
      number: e.number,
      title: e.title,
      status: 'done',
      settings: [['device', deviceText(init.device)]],
      runs: [],
      tables: [],
      figures: [],
      blocks: [],
      analysis: [],
      headline: [],
      metrics: {},
      seconds: 0,
    };
  }

  /** The short device name for tables: 'cpu' or 'webgpu'. */
  get deviceName(): string {
    return this.device.device;
  }

  /** A run's epoch is checkpointed: the report follows. */
  epochSaved(): void {
    this.onEpochSaved();
  }

  log(line: string): void {
    this.progress.log(line);
  }

  skip(reason: string, enable: string): never {
    throw new SkipExperiment(reason, enable);
  }

  setting(name: string, value: Cell): void {
    const i = this.result.settings.findIndex(([k]) => k === name);
    if (i >= 0) this.result.settings[i] = [name, value];
    else this.result.settings.push([name, value]);
  }

  /** Text shown verbatim in the report, and printed now. */
  block(title: string, text: string): void {
    this.result.blocks.push({ title, text });
    this.log(`${title}\n${text}`);
  }

  table(t: Table): void {
    this.result.tables.push({ ...t, afterBlock: this.result.blocks.length });
  }

  analysis(paragraph: string): void {
    this.result.analysis.push(paragraph);
  }

  headline(row: Omit<HeadlineRow, 'experiment' | 'device'> & { device?: string }): void {
    this.result.headline.push({ experiment: this.short, device: this.deviceName, ...row });
  }

  metric(name: string, value: unknown): void {
    this.result.metrics[name] = value;
  }

  addRun(run: RunSummary): void {
    this.result.runs.push(run);
  }

  /** Renders a Vega-Lite chart into this experiment's folder (SVG and PNG) and adds it to the report. */
  async chart(name: string, title: string, spec: Spec, caption?: string): Promise<void> {
    const files = await renderChart(spec, this.dir, name);
    this.result.figures.push({ title, png: `${this.result.id}/${files.png}`, svg: `${this.result.id}/${files.svg}`, caption });
  }

  /** A PNG made elsewhere (image grids). */
  image(name: string, title: string, png: Buffer, caption?: string): void {
    writeFileSync(join(this.dir, `${name}.png`), png);
    this.result.figures.push({ title, png: `${this.result.id}/${name}.png`, caption });
  }
}

export function deviceText(d: DeviceInfo): string {
  return `${deviceLabel(d)}${d.fallbackReason ? ` — WebGPU unavailable: ${d.fallbackReason}` : ''}`;
}
