import * as wg from '@webgrad/tensor';
import type { DType, Tensor } from '@webgrad/tensor';
import type { InputSpec } from './op-cases';

/** Deterministic test values (a small LCG, independent of the library's generator). */
function values(spec: InputSpec, seed: number): number[] {
  let s = seed >>> 0 || 1;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const out: number[] = [];
  if (spec.kind === 'distinct') {
    // Well-separated values away from 0, so max/relu/abs have no kink within finite-difference reach.
    const vals = Array.from({ length: n }, (_, i) => (0.1 + (0.9 * i) / Math.max(1, n)) * (i % 2 ? 1 : -1));
    for (let i = n - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [vals[i], vals[j]] = [vals[j], vals[i]];
    }
    return vals;
  }
  if (spec.kind === 'special') {
    // every third value special, the rest normal with repeats (ties for max/min/argmax)
    const specials = [NaN, Infinity, -Infinity, 0, -0, 1, -1];
    return Array.from({ length: n }, (_, i) => (i % 3 === 0 ? specials[(i / 3 + Math.floor(next() * 2)) % specials.length] : i % 5 === 1 ? 0.5 : next() * 4 - 2));
  }
  for (let i = 0; i < n; i++) {
    if (spec.kind === 'int') out.push(Math.floor(next() * (spec.high ?? 2)));
    else if (spec.kind === 'positive') out.push(0.5 + next());
    else out.push(next() * 2 - 1);
  }
  return out;
}

export function makeInputs(specs: InputSpec[], opts: { dtype: DType; device: string; seed?: number }): Tensor[] {
  return specs.map((spec, i) => {
    const v = values(spec, (opts.seed ?? 1234) + 7919 * i);
    if (spec.kind === 'int') return wg.tensor(v, spec.shape, { dtype: 'int32', device: opts.device });
    const t = wg.tensor(v, spec.shape, { dtype: opts.dtype, device: opts.device });
    return spec.noGrad ? t : t.requiresGrad_();
  });
}
