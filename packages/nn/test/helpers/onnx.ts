/** Running an exported model in onnxruntime-node and comparing it with webgrad's own output. */
import * as ort from 'onnxruntime-node';
import * as wg from '@webgrad/tensor';
import type * as nn from '@webgrad/nn';

/** onnxruntime's output for `x` (batched as given), as one Float32Array. */
export async function runOrt(session: ort.InferenceSession, x: Float32Array, shape: number[], batch = 100): Promise<Float32Array> {
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  const parts: Float32Array[] = [];
  for (let i = 0; i < shape[0]; i += batch) {
    const n = Math.min(batch, shape[0] - i);
    const input = new ort.Tensor('float32', x.subarray(i * per, (i + n) * per), [n, ...shape.slice(1)]);
    const out = await session.run({ [session.inputNames[0]]: input });
    parts.push(out[session.outputNames[0]].data as Float32Array);
  }
  return concat(parts);
}

/** webgrad's eval-mode output for `x`, in batches. */
export async function runWebgrad(model: nn.Module, x: Float32Array, shape: number[], batch = 100): Promise<Float32Array> {
  const per = shape.slice(1).reduce((a, b) => a * b, 1);
  model.eval();
  const parts: Float32Array[] = [];
  for (let i = 0; i < shape[0]; i += batch) {
    const n = Math.min(batch, shape[0] - i);
    const y = wg.tidy(() => wg.noGrad(() => model.forward(wg.tensor(x.slice(i * per, (i + n) * per), [n, ...shape.slice(1)]))));
    parts.push((await y.data()) as Float32Array);
    y.dispose();
  }
  return concat(parts);
}

function concat(parts: Float32Array[]): Float32Array {
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** max |a − b| over max |b|: the error relative to the output's scale. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relativeError: ${a.length} values against ${b.length}`);
  let err = 0;
  let scale = 0;
  for (let i = 0; i < b.length; i++) {
    err = Math.max(err, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return err / (scale || 1);
}

/** The row-wise argmax of [n, classes] scores. */
export function top1(scores: ArrayLike<number>, classes: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < scores.length; i += classes) {
    let best = i;
    for (let j = i + 1; j < i + classes; j++) if (scores[j] > scores[best]) best = j;
    out.push(best - i);
  }
  return out;
}

export const session = (bytes: Uint8Array) => ort.InferenceSession.create(bytes);
