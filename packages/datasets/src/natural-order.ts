const chunks = (s: string) => s.match(/\d+|\D+/g) ?? [];

/**
 * Compares file names so that `car2.jpg` sorts before `car10.jpg`, the order a person (and the
 * lab's test split) reads them in; locale-independent so the split is the same everywhere.
 */
export function naturalCompare(a: string, b: string): number {
  const x = chunks(a);
  const y = chunks(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === q) continue;
    const numeric = /^\d/.test(p) && /^\d/.test(q);
    if (numeric) {
      const d = Number(p) - Number(q);
      if (d !== 0) return d;
      return p.length - q.length;
    }
    return p < q ? -1 : 1;
  }
  return x.length - y.length;
}
