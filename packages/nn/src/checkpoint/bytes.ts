/**
 * Safetensors through bytes, for every platform: what a browser saves as a Blob download and
 * loads from a File input, and what the Node file functions (./file.ts) write and read.
 */
import { type Tensor, tensor } from '@webgrad/tensor';
import { decodeSafetensors, encodeSafetensors, nameRecord, type RawTensor } from './safetensors';

export interface LoadedSafetensors {
  /** By the file's names, in a record with no prototype (a tensor may be named `__proto__`). */
  tensors: Record<string, Tensor>;
  metadata: Record<string, string>;
}

/** Reads every tensor (from any device) into one safetensors buffer. */
export async function safetensorsBytes(tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<Uint8Array> {
  const raw = nameRecord<RawTensor>();
  for (const [name, t] of Object.entries(tensors)) raw[name] = { dtype: t.dtype, shape: [...t.shape], data: await t.data() };
  return encodeSafetensors(raw, metadata);
}

/** Tensors on `device` (cpu by default) from a safetensors buffer; the caller owns them. */
export function tensorsFromSafetensors(bytes: Uint8Array, opts: { device?: string } = {}): LoadedSafetensors {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const out = nameRecord<Tensor>();
  for (const [name, t] of tensors) out[name] = tensor(t.data, t.shape, { dtype: t.dtype, device: opts.device ?? 'cpu' });
  return { tensors: out, metadata };
}

/** Offers the tensors to the browser's user as a download named `filename` (a Blob and an <a download>). */
export async function downloadSafetensors(filename: string, tensors: Record<string, Tensor>, metadata: Record<string, string> = {}): Promise<void> {
  const doc = (globalThis as { document?: Document }).document;
  if (!doc) throw new Error(`downloadSafetensors(${filename}): needs a browser page (no document here); in Node use saveSafetensors`);
  const bytes = await safetensorsBytes(tensors, metadata);
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = doc.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  // The click starts the download asynchronously; the URL must outlive it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Reads a safetensors File (from an <input type=file> or a drop) or any Blob into tensors on `device`. */
export async function readSafetensorsFile(file: Blob, opts: { device?: string } = {}): Promise<LoadedSafetensors> {
  const name = (file as Blob & { name?: string }).name ?? 'blob';
  try {
    return tensorsFromSafetensors(new Uint8Array(await file.arrayBuffer()), opts);
  } catch (err) {
    throw new Error(`readSafetensorsFile(${name}): ${(err as Error).message}`);
  }
}

export { fromPyTorchNames, toPyTorchNames } from './names';
