/** One number for every layer, or one per layer; the default comes from `fallback(i)`. */
export function channelList(op: string, channels: number | number[] | undefined, n: number, fallback: (i: number) => number): number[] {
  if (channels === undefined) return Array.from({ length: n }, (_, i) => fallback(i));
  const list = typeof channels === 'number' ? new Array<number>(n).fill(channels) : channels;
  if (list.length !== n) throw new Error(`${op}: ${list.length} channel counts [${list}] for ${n} layers`);
  if (list.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`${op}: channel counts must be positive integers, got [${list}]`);
  return list;
}

/** An input size as [h, w], each a positive integer. */
export function spatialPair(op: string, size: number | [number, number]): [number, number] {
  const pair: [number, number] = typeof size === 'number' ? [size, size] : size;
  if (!Array.isArray(pair) || pair.length !== 2 || !pair.every((s) => Number.isInteger(s) && s >= 1)) {
    throw new Error(`${op}: inputSize must be a positive integer or [h, w] of them, got ${JSON.stringify(size)}`);
  }
  return pair;
}

/** A count of layers or blocks: a positive integer. */
export function layerCount(op: string, what: string, n: number): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${op}: ${what} must be a positive integer, got ${n}`);
  return n;
}
