/** One number for every layer, or one per layer; the default comes from `fallback(i)`. */
export function channelList(op: string, channels: number | number[] | undefined, n: number, fallback: (i: number) => number): number[] {
  if (channels === undefined) return Array.from({ length: n }, (_, i) => fallback(i));
  const list = typeof channels === 'number' ? new Array<number>(n).fill(channels) : channels;
  if (list.length !== n) throw new Error(`${op}: ${list.length} channel counts [${list}] for ${n} layers`);
  if (list.some((c) => !Number.isInteger(c) || c < 1)) throw new Error(`${op}: channel counts must be positive integers, got [${list}]`);
  return list;
}

export function spatialPair(size: number | [number, number]): [number, number] {
  return typeof size === 'number' ? [size, size] : size;
}
