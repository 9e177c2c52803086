/**
 * The PyTorch column of `npm run bench -- peers`: finds a Python that imports torch and runs
 * bench/peers_torch.py on the given workloads as a child process, which answers in JSON.
 * No such Python is a reason to skip the column (returned as `unavailable`), never a failure.
 */
import { spawn, spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const script = join(dirname(fileURLToPath(import.meta.url)), 'peers_torch.py');
/**
 * Tried in order, as bench/gpu.sh does: the PATH's python3 may be a virtualenv or pyenv shim
 * without torch, Debian's python3-torch lives under /usr/bin/python3. BENCH_PYTHON names the
 * one interpreter to use instead.
 */
const candidates = () => (process.env.BENCH_PYTHON ? [process.env.BENCH_PYTHON] : ['python3', '/usr/bin/python3']);
const TIMEOUT_MS = 10 * 60_000;

export interface TorchSpec {
  threads: number;
  budgetS: number;
  convs: { name: string; cin: number; cout: number; size: number; k: number; pad: number; dilation: number; batch: number }[];
  matmuls: number[];
  models: { name: string; batch: number }[];
}

export interface TorchResult {
  torch: string;
  threads: number;
  /** torch's BLAS_INFO (what its matmul runs on; "generic" is the reference BLAS). */
  blas: string;
  conv: { name: string; batch: number; forwardMs: number; bothMs: number }[];
  matmul: { n: number; ms: number }[];
  train: { name: string; batch?: number; msPerStep?: number; paramShapes?: number[][]; error?: string }[];
}

/** The first candidate Python whose `import torch` works, or why none does. */
export function findTorchPython(): { python: string } | { unavailable: string } {
  const tried: string[] = [];
  for (const python of candidates()) {
    const r = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status === 0) return { python };
    const why = r.error ? r.error.message : (r.stderr.trim().split('\n').pop() ?? `exit ${r.status}`);
    tried.push(`${python}: ${why}`);
  }
  return { unavailable: `no Python with torch (${tried.join('; ')}), so no PyTorch column` };
}

/** Runs the PyTorch side on `spec`; rejects with the child's own words when it fails. */
export function runTorch(python: string, spec: TorchSpec): Promise<TorchResult> {
  return new Promise((resolve, reject) => {
    // stderr (progress lines) goes straight to the terminal; stdout carries the one JSON answer.
    const child = spawn(python, [script], { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), TIMEOUT_MS);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`${python} ${script}: ${err.message}`));
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`${python} ${script} ${signal === 'SIGKILL' ? `stopped after ${TIMEOUT_MS / 60_000} min` : `exited with ${code ?? signal}`}`));
        return;
      }
      try {
        resolve(JSON.parse(stdout.trim().split('\n').pop() ?? '') as TorchResult);
      } catch {
        reject(new Error(`${python} ${script} printed no JSON result: ${stdout.slice(0, 200)}`));
      }
    });
    child.stdin.end(JSON.stringify(spec));
  });
}
