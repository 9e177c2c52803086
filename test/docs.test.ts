/**
 * `npm run docs`: TypeDoc builds the API reference from the doc comments of the packages'
 * entries (typedoc.json) with warnings as errors, among them an exported function whose
 * signature names a type the package does not export, and a broken {@link}.
 */
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const repo = fileURLToPath(new URL('..', import.meta.url));

describe('API reference', () => {
  it('TypeDoc converts every entry with no warning', async () => {
    const typedoc = fileURLToPath(new URL('../node_modules/typedoc/bin/typedoc', import.meta.url));
    const result = await promisify(execFile)(process.execPath, [typedoc, '--emit', 'none'], { cwd: repo, maxBuffer: 1 << 24 })
      .then((r) => ({ ok: true, out: r.stdout + r.stderr }))
      .catch((err: { stdout: string; stderr: string }) => ({ ok: false, out: err.stdout + err.stderr }));
    expect(result.out.replace(/\x1b\[[0-9;]*m/g, '')).not.toMatch(/\[warning\]|\[error\]/);
    expect(result.ok).toBe(true);
  }, 300_000);
});
