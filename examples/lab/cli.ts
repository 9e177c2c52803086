/**
 * Command-line options shared by `npm run lab` and every examples/NN-name.ts, so that one
 * experiment run alone takes the same flags as the whole lab.
 */
import { parseArgs } from 'node:util';
import type { PresetName } from './presets';

export type DeviceChoice = 'auto' | 'cpu' | 'webgpu';

export interface LabOptions {
  preset: PresetName;
  device: DeviceChoice;
  /** --data DIR, else WEBGRAD_DATA (both optional: data.ts searches further). */
  dataDir?: string;
  /** Where report folders go (default ./reports). */
  reportsDir: string;
  /** --resume: continue the newest unfinished report (or the one named). */
  resume: boolean | string;
  /** Experiment numbers or names to run (default all). */
  only?: string[];
  seed: number;
  /** 'bar' on a terminal, one line per epoch otherwise. */
  progress: 'auto' | 'bar' | 'lines' | 'none';
  /** Let CIFAR-10 be downloaded when it is not found (default true). */
  download: boolean;
  /** Stack traces with errors that otherwise take one line. */
  verbose: boolean;
  /** Trace each training step once and replay it (nn.fit's jit; default true); --no-jit runs eagerly. Results are the same bit for bit. */
  jit: boolean;
  help: boolean;
}

export function usage(program: string, experiments: { id: string; title: string }[]): string {
  const list = experiments.map((e) => `  ${e.id.padEnd(28)} ${e.title}`).join('\n');
  return `Usage: ${program} [options]

Presets (the default sits between the two):
  --quick              every experiment on tiny subsets (under 3 minutes on a 2-core CPU)
  --full               the lab's own settings: full sets, LAB.md's epochs and batch sizes (for a GPU)
  --preset NAME        quick | default | full

Options:
  --device D           auto (WebGPU when an adapter exists, else cpu) | cpu | webgpu   [auto]
  --data DIR           data folder (cifar10/, vehicles/, dehaze/); else $WEBGRAD_DATA, ./data,
                       then $WEBGRAD_SHARED_DATA or ../shared/data beside the repository
  --reports DIR        where report folders are written                       [./reports]
  --resume [DIR]       continue the newest unfinished report (or DIR) from its checkpoints
  --only LIST          comma-separated experiment numbers or names, e.g. --only 1,6
  --seed N             random seed                                             [0]
  --progress MODE      auto | bar | lines | none                               [auto]
  --no-download        never download CIFAR-10 (fall back to Fashion-MNIST)
  --no-jit             run every training step eagerly instead of tracing it once and
                       replaying it (same results, bit for bit; slower)
  --verbose            with an error that stops the run, its stack trace too
  -h, --help           this text

Experiments:
${list}
`;
}

export function parseLabArgs(argv: string[]): LabOptions {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: false,
    options: {
      quick: { type: 'boolean' },
      full: { type: 'boolean' },
      preset: { type: 'string' },
      device: { type: 'string' },
      data: { type: 'string' },
      reports: { type: 'string' },
      resume: { type: 'boolean' },
      'resume-from': { type: 'string' },
      only: { type: 'string' },
      seed: { type: 'string' },
      progress: { type: 'string' },
      'no-download': { type: 'boolean' },
      'no-jit': { type: 'boolean' },
      verbose: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const presets = [values.quick && 'quick', values.full && 'full', values.preset].filter(Boolean) as string[];
  if (presets.length > 1) throw new Error(`choose one preset, got ${presets.join(' and ')}`);
  const preset = (presets[0] ?? 'default') as PresetName;
  if (!['quick', 'default', 'full'].includes(preset)) throw new Error(`--preset must be quick, default or full, got '${preset}'`);
  const device = (values.device ?? 'auto') as DeviceChoice;
  if (!['auto', 'cpu', 'webgpu'].includes(device)) throw new Error(`--device must be auto, cpu or webgpu, got '${device}'`);
  const progress = (values.progress ?? 'auto') as LabOptions['progress'];
  if (!['auto', 'bar', 'lines', 'none'].includes(progress)) throw new Error(`--progress must be auto, bar, lines or none, got '${progress}'`);
  const seed = values.seed === undefined ? 0 : Number(values.seed);
  if (values.seed !== undefined && !/^-?\d+$/.test(values.seed.trim())) throw new Error(`--seed must be an integer, got '${values.seed}'`);
  if (!Number.isSafeInteger(seed)) throw new Error(`--seed must be an integer, got '${values.seed}'`);
  for (const name of ['data', 'reports', 'resume-from'] as const) {
    if (values[name] !== undefined && values[name].trim() === '') throw new Error(`--${name === 'resume-from' ? 'resume' : name} needs a folder, got ''`);
  }
  const only = values.only?.split(',').map((s) => s.trim()).filter(Boolean);
  if (values.only !== undefined && !only?.length) throw new Error(`--only needs experiment numbers or names, got '${values.only}'`);
  return {
    preset,
    device,
    dataDir: values.data,
    reportsDir: values.reports ?? 'reports',
    resume: values['resume-from'] ?? values.resume ?? false,
    only,
    seed,
    progress,
    download: !values['no-download'],
    verbose: values.verbose ?? false,
    jit: !values['no-jit'],
    help: values.help ?? false,
  };
}

/** `--resume DIR` reads better than `--resume-from DIR`; parseArgs cannot give a flag an optional value. */
export function normaliseResumeArg(argv: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const next = argv[i + 1];
    if (argv[i] === '--resume' && next !== undefined && !next.startsWith('-')) {
      out.push('--resume-from', next);
      i++;
    } else out.push(argv[i]);
  }
  return out;
}
