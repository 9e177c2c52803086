/**
 * Report folders are made with an exclusive create. Two runs started in the same second
 * race: each may look for the folder before the other has made it. node:fs is mocked so that
 * looking always says "not there yet", the worst interleaving: a check-then-create would hand
 * both runs the same folder, an exclusive create cannot.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { newReportDir } from '../examples/lab/store';

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const existsSync = (p: import('node:fs').PathLike) => (String(p).includes('webgrad-report-dir-') ? false : fs.existsSync(p));
  // Below a folder named read-only, mkdir fails as on a read-only mount: a recursive mkdir
  // reports ENOENT for the missing folder, a plain one EROFS.
  const mkdirSync = ((p: import('node:fs').PathLike, o?: import('node:fs').MakeDirectoryOptions) => {
    if (!String(p).includes('/read-only/')) return fs.mkdirSync(p, o);
    const code = o?.recursive ? 'ENOENT' : 'EROFS';
    throw Object.assign(new Error(`${code}: mkdir '${p}'`), { code, path: String(p), syscall: 'mkdir' });
  }) as typeof fs.mkdirSync;
  return { ...fs, default: { ...fs, existsSync, mkdirSync }, existsSync, mkdirSync };
});

const root = mkdtempSync(join(tmpdir(), 'webgrad-report-dir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('newReportDir', () => {
  it('gives every run its own folder even when each looked before the other made it', () => {
    const dirs = Array.from({ length: 4 }, () => newReportDir(join(root, 'reports'), '-quick'));
    expect(new Set(dirs).size).toBe(4);
    expect(readdirSync(join(root, 'reports'))).toHaveLength(4);
    for (const d of dirs) expect(d).toMatch(/\/\d{4}-\d\d-\d\d_\d\d-\d\d-\d\d-quick(-\d+)?$/);
  });

  it('on a read-only file system says EROFS, not the ENOENT a recursive mkdir reports', () => {
    expect(() => newReportDir(join(root, 'read-only', 'reports'))).toThrow(expect.objectContaining({ code: 'EROFS' }));
  });
});
