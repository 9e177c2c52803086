/** mulberry32: a small seeded generator, so failures reproduce. */
export function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (lo: number, hi: number) => lo + Math.floor(next() * (hi - lo + 1)), // inclusive
    pick: <T>(xs: readonly T[]) => xs[Math.floor(next() * xs.length)],
  };
}

/** n float32 values uniform in [-1, 1) from their own seeded generator. */
export function randomF32(n: number, seed: number): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: n }, () => r.next() * 2 - 1);
}

/**
 * n float32 values from their own seeded generator: with probability `rate` one of
 * `specials` (NaN, ±Infinity, −0...), else `draw(r, i)` (default uniform in [-1, 1)).
 */
export function randomWithSpecials(n: number, seed: number, specials: readonly number[], rate: number,
  draw: (r: ReturnType<typeof rng>, i: number) => number = (r) => r.next() * 2 - 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = rate > 0 && r.next() < rate ? r.pick(specials) : draw(r, i);
  return out;
}
