/**
 * Dawn prints two lines straight to file descriptor 2 the first time it enumerates
 * adapters on a Vulkan driver that reports huge dynamic-buffer limits (lavapipe does):
 * "Warning: maxDynamic{Uniform,Storage}BuffersPerPipelineLayout artificially reduced ...".
 * They are native fprintf calls, so no JavaScript hook sees them, and they carry no
 * information for a user. Node only (this module is loaded beside Dawn).
 */
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const DAWN_NOISE = /^Warning: maxDynamic(Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/;

/** The captured output without Dawn's known startup warnings; everything else is kept. */
export function withoutDawnNoise(text: string): string {
  return text
    .split(/(?<=\n)/)
    .filter((line) => !DAWN_NOISE.test(line.replace(/\r?\n$/, '')))
    .join('');
}

/**
 * Runs the synchronous `fn` with fd 2 pointed at a temporary file, then puts fd 2 back and
 * writes what was captured, minus Dawn's known warnings, to the real stderr. It works on
 * file-descriptor numbers (close 2, and the next open takes 2) because Node has no dup2;
 * where /dev/fd cannot reopen stderr (a socket, Windows) fn simply runs unfiltered.
 */
export function filterNativeStderr<T>(fn: () => T): T {
  let saved: number;
  try {
    saved = fs.openSync('/dev/fd/2', 'a');
  } catch {
    return fn();
  }
  const capturePath = join(tmpdir(), `webgrad-dawn-stderr-${process.pid}-${Date.now()}.log`);
  let captured = -1;
  try {
    fs.closeSync(2);
    captured = fs.openSync(capturePath, 'w+');
  } catch {
    // fall through to the restore below
  }
  if (captured !== 2) {
    // Something else took fd 2 (or the file did not open): restore and run unfiltered.
    if (captured >= 0) fs.closeSync(captured);
    restore(saved);
    fs.rmSync(capturePath, { force: true });
    return fn();
  }
  try {
    return fn();
  } finally {
    fs.closeSync(2);
    restore(saved);
    const text = fs.readFileSync(capturePath, 'utf8');
    fs.rmSync(capturePath, { force: true });
    const kept = withoutDawnNoise(text);
    if (kept) fs.writeSync(2, kept);
  }
}

function restore(saved: number): void {
  const fd = fs.openSync(`/dev/fd/${saved}`, 'a');
  fs.closeSync(saved);
  if (fd !== 2) {
    // fd 2 was taken in between by another thread; keep stderr reachable at least here.
    fs.closeSync(fd);
    throw new Error('webgpu: could not restore stderr after filtering Dawn startup warnings');
  }
}
