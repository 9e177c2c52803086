/** Shared timing helpers: medians of repeated runs after warm-up, and a plain table printer. */

export interface Timing {
  medianMs: number;
  runs: number;
}

/** Runs fn `warmup` times, then `repeats` times (or until `budgetMs` is spent, at least 3), and reports the median. */
export async function time(fn: () => unknown | Promise<unknown>, opts: { warmup?: number; repeats?: number; budgetMs?: number } = {}): Promise<Timing> {
  const warmup = opts.warmup ?? 1;
  const repeats = opts.repeats ?? 7;
  const budget = opts.budgetMs ?? 10_000;
  for (let i = 0; i < warmup; i++) await fn();
  const times: number[] = [];
  const start = performance.now();
  while (times.length < repeats && (times.length < 3 || performance.now() - start < budget)) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)], runs: times.length };
}

/** FLOPs of one convolution forward: 2·N·Cout·Hout·Wout·Cin·kh·kw (backward is twice that). */
export function convFlops(n: number, cin: number, cout: number, outHW: readonly number[], kernel: readonly number[]): number {
  return 2 * n * cout * outHW.reduce((a, b) => a * b, 1) * cin * kernel.reduce((a, b) => a * b, 1);
}

export const gflops = (flops: number, ms: number) => flops / (ms * 1e6);

export function printTable(title: string, rows: Record<string, string | number>[]): void {
  if (rows.length === 0) return;
  const cols = Object.keys(rows[0]);
  const cell = (v: string | number) => (typeof v === 'number' ? (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3)) : v);
  const widths = cols.map((c) => Math.max(c.length, ...rows.map((r) => String(cell(r[c] ?? '')).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padStart(widths[i])).join('  ');
  console.log(`\n${title}`);
  console.log(line(cols));
  console.log(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) console.log(line(cols.map((c) => String(cell(r[c] ?? '')))));
}
