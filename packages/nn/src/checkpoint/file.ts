/** Safetensors files in Node (the browser saves and loads through ./bytes.ts). */
import { type Tensor, tensor } from '@webgrad/tensor';
import { type LoadedSafetensors, safetensorsBytes } from './bytes';
import { decodeSafetensors, nameRecord, type SafetensorsContent } from './safetensors';

/** A temporary file of writeFileAtomic: `.<name>.<pid>.<time>.tmp`. */
const TEMP_FILE = /^\.(.+)\.(\d+)\.(\d+)\.tmp$/;

/**
 * Writes bytes so that a crash never leaves a half-written file under `path`: a temporary
 * file in the same folder, flushed to disk, then renamed over the old one (rename is atomic).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
  await removeStaleTemps(dir);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Date.now()}.tmp`);
  const fh = await fs.open(tmp, 'w');
  try {
    await fh.writeFile(bytes);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  try {
    await fs.rename(tmp, path);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  // The rename itself reaches the disk when the folder is flushed (not possible everywhere).
  try {
    const d = await fs.open(dir, 'r');
    await d.sync().finally(() => d.close());
  } catch {
    /* best effort */
  }
}

/**
 * A process killed between writing its temporary file and the rename leaves that file
 * behind; the next save in the folder removes those whose process is gone (never the
 * temporaries of a live process, which may be writing them now).
 */
async function removeStaleTemps(dir: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const { join } = await import('node:path');
  let names: string[];
  try {
    names = await fs.readdir(dir);
  } catch {
    return; // the open below reports a missing folder
  }
  for (const name of names) {
    const m = TEMP_FILE.exec(name);
    if (m && !processAlive(Number(m[2]))) await fs.rm(join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: it exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Reads every tensor (from any device) and writes a safetensors file atomically. */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, await safetensorsBytes(tensors, metadata));
}

/** Reads a safetensors file into tensors on `device` (cpu by default); the caller owns them. Errors name the file. */
export async function loadSafetensors(path: string, opts: { device?: string } = {}): Promise<LoadedSafetensors> {
  const { content } = await readSafetensorsAt(path);
  const out = nameRecord<Tensor>();
  for (const [name, t] of content.tensors) out[name] = tensor(t.data, t.shape, { dtype: t.dtype, device: opts.device ?? 'cpu' });
  return { tensors: out, metadata: content.metadata };
}

/** A safetensors file that could not be read (`damaged`: read, but not a valid file); names the file. */
export class SafetensorsFileError extends Error {
  constructor(
    readonly path: string,
    readonly damaged: boolean,
    readonly detail: string,
  ) {
    super(damaged ? `${path} is not a readable safetensors file: ${detail}` : `cannot read ${path}: ${detail}`);
    this.name = 'SafetensorsFileError';
  }
}

/** The decoded file and its bytes (for checksums); a missing or damaged file is a SafetensorsFileError. */
export async function readSafetensorsAt(path: string): Promise<{ content: SafetensorsContent; bytes: Uint8Array }> {
  const { readFile } = await import('node:fs/promises');
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (err) {
    throw new SafetensorsFileError(path, false, (err as Error).message);
  }
  try {
    return { content: decodeSafetensors(bytes), bytes };
  } catch (err) {
    throw new SafetensorsFileError(path, true, `${(err as Error).message} (${bytes.length} bytes)`);
  }
}
