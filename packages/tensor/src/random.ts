/**
 * One seeded generator drives every random creation op. Numbers are drawn on the host,
 * so the same seed gives the same values on every device.
 * xoshiro128** seeded through splitmix32.
 */
let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
let spareNormal: number | null = null;

function splitmix32(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (x + 0x9e3779b9) >>> 0;
    let z = x;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export function manualSeed(seed: number): void {
  const next = splitmix32(seed);
  s0 = next(); s1 = next(); s2 = next(); s3 = next();
  spareNormal = null;
}
manualSeed(Date.now() & 0xffffffff);

export function nextUint32(): number {
  const result = Math.imul(rotl(Math.imul(s1, 5) >>> 0, 7), 9) >>> 0;
  const t = (s1 << 9) >>> 0;
  s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3;
  s2 = (s2 ^ t) >>> 0;
  s3 = rotl(s3, 11);
  return result;
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}

/** Uniform in [0, 1) with 24 random bits, exactly representable in float32. */
export function nextFloat(): number {
  return (nextUint32() >>> 8) / 16777216;
}

export function nextNormal(): number {
  if (spareNormal !== null) {
    const v = spareNormal;
    spareNormal = null;
    return v;
  }
  let u = 0;
  while (u === 0) u = nextFloat();
  const v = nextFloat();
  const r = Math.sqrt(-2 * Math.log(u));
  spareNormal = r * Math.sin(2 * Math.PI * v);
  return r * Math.cos(2 * Math.PI * v);
}

/** Generator state, for checkpoints that resume bit-for-bit. */
export function getRngState(): number[] {
  // Unsigned, as setRngState stores them: a saved and restored state compares equal.
  return [s0 >>> 0, s1 >>> 0, s2 >>> 0, s3 >>> 0, spareNormal ?? Number.NaN];
}

export function setRngState(state: readonly number[]): void {
  if (state.length !== 5) throw new Error(`setRngState: expected 5 numbers, got ${state.length}`);
  [s0, s1, s2, s3] = state.map((v) => v >>> 0);
  spareNormal = Number.isNaN(state[4]) ? null : state[4];
}
