/**
 * Output sizes, receptive fields and the Hybrid Dilated Convolution rules of Wang et al.
 * (WACV 2018), with the working shown step by step.
 */
import { convOutputLength } from '@webgrad/tensor';

/**
 * O = ⌊(I − k_eff + 2P) / S⌋ + 1 with the dilated extent k_eff = (k − 1)·d + 1, in the
 * textbook's argument order (the rule itself is the tensor package's convOutputLength).
 */
export function convOutputSize(I: number, k: number, P = 0, S = 1, d = 1): number {
  return convOutputLength(I, k, P, P, S, d);
}

export interface ReceptiveLayer {
  kernelSize: number;
  stride?: number;
  dilation?: number;
}

export interface ReceptiveField {
  /** Input positions that one output position sees, along one dim. */
  size: number;
  /** Input distance between neighbouring outputs (the product of the strides). */
  jump: number;
  /** size and jump after each layer. */
  layers: { size: number; jump: number }[];
}

/**
 * Receptive field of stacked layers: r ← r + (k_eff − 1)·j, j ← j·s.
 * WaveNet's kernel-2 stack: dilations 1, 1, 1, 1 → 5; dilations 1, 2, 4, 8 → 16.
 */
export function receptiveField(layers: readonly ReceptiveLayer[]): ReceptiveField {
  let size = 1;
  let jump = 1;
  const out: { size: number; jump: number }[] = [];
  for (const l of layers) {
    const extent = (l.kernelSize - 1) * (l.dilation ?? 1) + 1;
    size += (extent - 1) * jump;
    jump *= l.stride ?? 1;
    out.push({ size, jump });
  }
  return { size, jump, layers: out };
}

export interface HdcRule {
  rule: 1 | 2 | 3;
  name: string;
  ok: boolean;
  /** The working, in words and numbers. */
  detail: string;
}

export interface HdcVerdict {
  dilations: number[];
  kernelSize: number;
  ok: boolean;
  rules: [HdcRule, HdcRule, HdcRule];
  /** M_i of the first group by 1-based layer index, from M_n = r_n down to M_2. */
  M: Record<number, number>;
  /** M_2 of the first group (null for a single layer). */
  M2: number | null;
  /** Each step of the M chains, e.g. 'M_2 = max(5 − 2·2, 5 − 2·(5 − 2), 2) = max(1, -1, 2) = 2'. */
  chain: string[];
  /** Rule 3 per rising group of a sawtooth (one group otherwise). */
  groups: { dilations: number[]; M: Record<number, number>; M2: number | null; chain: string[]; ok: boolean }[];
}

const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

function sawtoothRuns(r: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (const v of r) {
    const last = runs[runs.length - 1];
    if (last && v > last[last.length - 1]) last.push(v);
    else runs.push([v]);
  }
  return runs;
}

/** Rule 3 for one group r_1..r_n: M_n = r_n, M_i = max(M_{i+1} − 2r_i, M_{i+1} − 2(M_{i+1} − r_i), r_i). */
function maxDistanceChain(r: readonly number[], k: number): { M: Record<number, number>; M2: number | null; chain: string[]; ok: boolean } {
  const n = r.length;
  const M: Record<number, number> = { [n]: r[n - 1] };
  const chain = [`M_${n} = r_${n} = ${r[n - 1]}`];
  for (let i = n - 1; i >= 2; i--) {
    const next = M[i + 1];
    const ri = r[i - 1];
    const terms = [next - 2 * ri, next - 2 * (next - ri), ri];
    M[i] = Math.max(...terms);
    chain.push(`M_${i} = max(${next} − 2·${ri}, ${next} − 2·(${next} − ${ri}), ${ri}) = max(${terms.join(', ')}) = ${M[i]}`);
  }
  const M2 = n >= 2 ? M[2] : null;
  return { M, M2, chain, ok: M2 === null || M2 <= k };
}

/** Checks dilation rates r_1..r_n of stacked k×k convolutions against the three HDC rules. */
export function checkHDC(dilations: readonly number[], kernelSize: number): HdcVerdict {
  const r = [...dilations];
  if (r.length === 0 || r.some((d) => !Number.isInteger(d) || d < 1)) throw new Error(`checkHDC: dilations must be positive integers, got [${r}]`);
  const n = r.length;

  const g = r.reduce(gcd);
  const rule1: HdcRule = {
    rule: 1,
    name: 'no common factor greater than 1',
    ok: g === 1,
    detail: `gcd(${r.join(', ')}) = ${g}${g === 1 ? '' : `: every layer skips inputs that are not multiples of ${g} (gridding)`}`,
  };

  const runs = sawtoothRuns(r);
  const last = runs[runs.length - 1];
  const lastIsPrefix = last.every((v, i) => runs[0][i] === v);
  const sawOk = n === 1 || runs.every((run, i) => run.length >= 2 || (i === runs.length - 1 && i > 0 && lastIsPrefix));
  const rule2: HdcRule = {
    rule: 2,
    name: 'sawtooth pattern (rising groups, e.g. [1, 2, 5, 1, 2, 5])',
    ok: sawOk,
    detail: `rising groups: ${runs.map((x) => `[${x.join(', ')}]`).join(' ')}`,
  };

  // The M chain belongs to one rising group (Wang et al. repeat the group, e.g. [1, 2, 5, 1, 2, 5]);
  // a sequence that is not a sawtooth is checked as one group.
  const groups = (sawOk && runs.length > 1 ? runs : [r]).map((g) => ({ dilations: g, ...maxDistanceChain(g, kernelSize) }));
  const first = groups[0];
  const rule3: HdcRule = {
    rule: 3,
    name: 'M_2 ≤ kernel size',
    ok: groups.every((g) => g.ok),
    detail: groups
      .map((g) => (g.M2 === null ? `[${g.dilations.join(', ')}]: one layer, nothing to check` : `M_2 = ${g.M2} ${g.ok ? '≤' : '>'} k = ${kernelSize}${groups.length > 1 ? ` for [${g.dilations.join(', ')}]` : ''}`))
      .join('; '),
  };
  const chain = groups.length > 1 ? groups.flatMap((g) => g.chain.map((c) => `[${g.dilations.join(', ')}] ${c}`)) : first.chain;
  return { dilations: r, kernelSize, ok: rule1.ok && rule2.ok && rule3.ok, rules: [rule1, rule2, rule3], M: first.M, M2: first.M2, chain, groups };
}
