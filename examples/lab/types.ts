/**
 * The shapes that travel between experiments, the runner and the report. Everything in
 * ExperimentResult is plain JSON: metrics.json is exactly these objects, and --resume reads
 * them back.
 */
import type { EpochRecord } from '@webgrad/nn';

export type Cell = string | number | null;

export interface Table {
  title: string;
  columns: string[];
  rows: Cell[][];
  note?: string;
  /** How many text blocks were recorded before it: the report keeps blocks and tables in recorded order. */
  afterBlock?: number;
}

export interface Figure {
  title: string;
  /** PNG beside the report, relative to the report folder. */
  png: string;
  /** SVG of a chart (inlined in index.html); absent for image grids. */
  svg?: string;
  caption?: string;
}

/** Text printed as the experiment ran (tensors, shapes, verdicts), kept verbatim. */
export interface TextBlock {
  title: string;
  text: string;
}

/** One trained model. */
export interface RunSummary {
  key: string;
  label: string;
  parameters: number;
  epochs: EpochRecord[];
  /** Training seconds, all epochs (evaluation excluded). */
  trainSeconds: number;
  /** Wall seconds including evaluation. */
  wallSeconds: number;
  trainCount: number;
  testCount: number;
  batchSize: number;
  /** Classification runs: the number of classes (chance level is 1 / classes). */
  classes?: number;
  /**
   * Classification runs: which test images the final model got right (bit i of the base64
   * `correct` for image i, in the test set's order) and an id of that test set, so two runs
   * on the same images are compared paired.
   */
  testImages?: { set: string; correct: string };
  /** Anything else the experiment measured on this run (PSNR, extrapolated epoch time...). */
  extra: Record<string, Cell>;
}

/** One row of the lab's headline table. */
export interface HeadlineRow {
  experiment: string;
  model: string;
  device: string;
  data: string;
  epochs: number;
  seconds: number;
  trainLoss: number | null;
  testLoss: number | null;
  trainAccuracy: number | null;
  testAccuracy: number | null;
  /** Test images behind testAccuracy: its 95 % interval comes from this. */
  testCount?: number;
  psnr?: number | null;
  ssim?: number | null;
}

export type Settings = [string, Cell][];

export interface ExperimentResult {
  id: string;
  number: number;
  title: string;
  status: 'done' | 'skipped' | 'failed';
  /** skipped: why, and the one line that would enable it. */
  reason?: string;
  enable?: string;
  /** failed: the error message. */
  error?: string;
  settings: Settings;
  runs: RunSummary[];
  tables: Table[];
  figures: Figure[];
  blocks: TextBlock[];
  analysis: string[];
  headline: HeadlineRow[];
  /** Experiment-specific figures (HDC verdicts, receptive fields...), for machines. */
  metrics: Record<string, unknown>;
  seconds: number;
}

export interface DataUse {
  /** What the set is called in the report. */
  name: string;
  path: string;
  /** Where the path came from: --data, WEBGRAD_DATA, ./data, ../shared/data, download, Debian package. */
  source: string;
}

/** What a --resume run needs to carry on as the interrupted run would have. */
export interface LabRunOptions {
  preset: 'quick' | 'default' | 'full';
  device: 'auto' | 'cpu' | 'webgpu';
  seed: number;
  only?: string[];
  dataDir?: string;
  download: boolean;
}

/** How this run's numbers bear on one of the lab's claims (the report's closing section). */
export type Verdict = 'supported' | 'not supported' | 'undecided' | 'not run';

export interface Conclusion {
  experiment: number;
  question: string;
  verdict: Verdict;
  evidence: string;
}

export interface LabReport {
  title: string;
  preset: string;
  options: LabRunOptions;
  command: string;
  /** What continues this run after an interruption. */
  resumeCommand: string;
  startedAt: string;
  finishedAt: string | null;
  complete: boolean;
  seconds: number;
  device: { device: string; description: string; fallbackReason?: string };
  machine: { cpus: number; cpuModel: string; memoryGiB: number; node: string; platform: string };
  data: DataUse[];
  /** Data sets looked for and not found, with how to get them. */
  missing: { name: string; enable: string }[];
  experiments: ExperimentResult[];
  /** Written with the report, from the experiments (conclusions.ts); absent while none has run. */
  conclusions?: Conclusion[];
}
