/**
 * ONNX in and out, for every platform: bytes (and Blobs) anywhere, file paths where the Node
 * entry has installed file access (platform.ts's nodeOnly), as checkpoints do.
 */
import { nodeOnly } from '../platform';
import type { Module } from '../module';
import { type ExportOnnxOptions, exportOnnxBytes } from './export';
import { type ImportOnnxOptions, type OnnxModel, importOnnxBytes } from './import';

export { OnnxExportError, buildOnnxModel, type ExportOnnxOptions } from './export';
export { OnnxImportError, OnnxModel, OnnxScope, type ImportOnnxOptions } from './import';

export interface ExportOnnxFileOptions extends ExportOnnxOptions {
  /** Also write the model to this file (Node; written atomically). */
  path?: string;
}

/**
 * The model as ONNX (opset 17 by default): `const bytes = await nn.exportOnnx(model, { inputShape: [1, 3, 32, 32] })`,
 * or `{ ..., path: 'model.onnx' }` in Node to write the file as well.
 */
export async function exportOnnx(model: Module, opts: ExportOnnxFileOptions): Promise<Uint8Array> {
  const bytes = await exportOnnxBytes(model, opts);
  if (opts.path !== undefined) {
    if (!nodeOnly.writeFile) throw new Error(`exportOnnx(${opts.path}): writing files needs Node; in a browser use the returned bytes (e.g. a Blob download)`);
    await nodeOnly.writeFile(opts.path, bytes);
  }
  return bytes;
}

/**
 * A webgrad module from an ONNX model: bytes, a Blob/File (browser), or a file path (Node).
 * Errors name the file (or 'bytes') and what in it is wrong.
 */
export async function importOnnx(source: Uint8Array | ArrayBuffer | Blob | string, opts: ImportOnnxOptions = {}): Promise<OnnxModel> {
  if (typeof source === 'string') {
    if (!nodeOnly.readFile) throw new Error(`importOnnx(${source}): reading files needs Node; in a browser pass the bytes or a File`);
    return importOnnxBytes(await nodeOnly.readFile(source), { source, ...opts });
  }
  if (source instanceof Uint8Array) return importOnnxBytes(source, { source: 'the ONNX bytes', ...opts });
  if (source instanceof ArrayBuffer) return importOnnxBytes(new Uint8Array(source), { source: 'the ONNX bytes', ...opts });
  const name = (source as Blob & { name?: string }).name ?? 'the ONNX blob';
  return importOnnxBytes(new Uint8Array(await source.arrayBuffer()), { source: name, ...opts });
}
