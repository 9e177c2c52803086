/** Safetensors files in Node (the browser saves and loads through ./bytes.ts). */
import type { Tensor } from '@webgrad/tensor';
import { type LoadedSafetensors, safetensorsBytes, tensorsFromSafetensors } from './bytes';

/**
 * Writes bytes so that a crash never leaves a half-written file under `path`: a temporary
 * file in the same folder, flushed to disk, then renamed over the old one (rename is atomic).
 */
export async function writeFileAtomic(path: string, bytes: Uint8Array): Promise<void> {
  const fs = await import('node:fs/promises');
  const { dirname, basename, join } = await import('node:path');
  const dir = dirname(path);
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

/** Reads every tensor (from any device) and writes a safetensors file atomically. */
export async function saveSafetensors(path: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(path, await safetensorsBytes(tensors, metadata));
}

/** Reads a safetensors file into tensors on `device` (cpu by default); the caller owns them. */
export async function loadSafetensors(path: string, opts: { device?: string } = {}): Promise<LoadedSafetensors> {
  const { readFile } = await import('node:fs/promises');
  return tensorsFromSafetensors(new Uint8Array(await readFile(path)), opts);
}
