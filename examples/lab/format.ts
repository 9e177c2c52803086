/** How numbers read in the report, the console and the analyses, kept in one place so they agree. */

export const pct = (v: number | null | undefined, digits = 1): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : `${(100 * v).toFixed(digits)} %`);

export const num = (v: number | null | undefined, digits = 4): string => (v === null || v === undefined || !Number.isFinite(v) ? '–' : v.toFixed(digits));

export function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '–';
  if (seconds < 10) return `${seconds.toFixed(2)} s`;
  if (seconds < 60) return `${seconds.toFixed(1)} s`;
  const m = Math.floor(seconds / 60);
  const s = Math.round(seconds - 60 * m);
  if (m < 60) return `${m} min ${String(s).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** "1:05" style, for the progress bar's ETA. */
export function clock(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '–:––';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** Percentage points between two accuracies, signed. */
export const points = (a: number, b: number): string => `${((a - b) * 100).toFixed(1)} points`;

export const int = (v: number): string => v.toLocaleString('en-US');

/** A fixed-width text table (console and report text blocks). */
export function textTable(columns: string[], rows: (string | number | null)[][]): string {
  const cells = [columns, ...rows.map((r) => r.map((c) => (c === null ? '–' : String(c))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '─'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}

/** 'cpu (JavaScript typed arrays)' or 'webgpu (llvmpipe …)': the device and what it runs on, said once. */
export function deviceLabel(d: { device: string; description: string }): string {
  return d.description.startsWith(d.device) ? d.description : `${d.device} (${d.description})`;
}
