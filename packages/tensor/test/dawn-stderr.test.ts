import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const child = fileURLToPath(new URL('./fixtures/stderr-filter.ts', import.meta.url));
const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
/**
 * Runs the child with its stderr on a real pipe (`2>&1 >/dev/null | cat`), as a terminal
 * or a shell pipeline gives it; Node's own spawn pipes are sockets, which /dev/fd cannot reopen.
 */
function run(mode: string): { status: number | null; stderr: string; stdout: string } {
  const node = `${quote(process.execPath)} --import tsx ${quote(child)} ${mode}`;
  const err = spawnSync('sh', ['-c', `${node} 2>&1 >/dev/null | cat`], { encoding: 'utf8', timeout: 60_000 });
  const out = spawnSync('sh', ['-c', `${node} 2>/dev/null`], { encoding: 'utf8', timeout: 60_000 });
  return { status: out.status, stderr: err.stdout, stdout: out.stdout };
}

describe("Dawn's startup warnings do not reach the user's terminal", () => {
  it('the filter drops exactly the two warnings and keeps real errors and later output', () => {
    const r = run('filter');
    expect(r.status).toBe(0);
    expect(r.stderr).toBe('Error: a real problem\nafter 42\n');
  });

  it('opening WebGPU prints nothing to stderr', () => {
    const r = run('webgpu');
    expect(r.status, r.stderr).toBe(0);
    if (process.env.CI === 'true') expect(r.stdout).toContain('device=webgpu');
    expect(r.stderr).not.toMatch(/artificially reduced/);
  });
});
