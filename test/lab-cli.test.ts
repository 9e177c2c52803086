/**
 * The lab's command line refuses bad input before anything is written: exit code 2, the
 * problem, then the usage. And --resume never skips a damaged metrics.json: it names it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const root = resolve(__dirname, '..');
const scratch = mkdtempSync(join(tmpdir(), 'webgrad-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function lab(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/lab.ts', '--device', 'cpu', '--progress', 'none', ...args], { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('npm run lab: bad input exits 2 with the usage, having written nothing', () => {
  const cases: [string[], string][] = [
    [['--only', '42'], '--only: no experiment 42 (known: 01-basics'],
    [['--only', ''], "--only needs experiment numbers or names, got ''"],
    [['--seed', ''], "--seed must be an integer, got ''"],
    [['--seed', '1.5'], "--seed must be an integer, got '1.5'"],
    [['--data', '/nonexistent/webgrad-data'], '--data: /nonexistent/webgrad-data does not exist'],
    [['--device', 'tpu'], "--device must be auto, cpu or webgpu, got 'tpu'"],
    [['--preset', 'huge'], "--preset must be quick, default or full, got 'huge'"],
    [['--frobnicate'], "Unknown option '--frobnicate'"],
    [['--resume'], '--resume: no unfinished report under'],
    [['--resume', '/nonexistent/report'], '(looked for /nonexistent/report/metrics.json)'],
  ];
  for (const [args, message] of cases) {
    it(args.join(' ') || "''", () => {
      const reports = join(scratch, `r${cases.findIndex((c) => c[0] === args)}`);
      const r = lab([...args, '--reports', reports]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain('Usage: npm run lab -- [options]');
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(existsSync(reports)).toBe(false);
    });
  }
});

describe('--resume and a damaged metrics.json', () => {
  const unfinished = { options: { preset: 'quick', device: 'cpu', seed: 0, download: false }, complete: false, experiments: [], command: 'npm run lab --', startedAt: '2026-01-01T00:00:00Z' };
  const damaged: [string, string, string][] = [
    ['not JSON', '{"opt', 'is damaged and cannot be resumed'],
    ['an empty object', '{}', "is not a lab report ('options' is missing)"],
    ['null', 'null', 'is not a lab report (it holds null, not an object)'],
    ['options without a preset', JSON.stringify({ ...unfinished, options: { device: 'cpu', seed: 0 } }), "is not a lab report ('options.preset' is undefined)"],
  ];
  for (const [name, text, message] of damaged) {
    it(`${name}: names the file instead of resuming an older report`, () => {
      const reports = join(scratch, `damaged-${name.replace(/\W/g, '')}`);
      const older = join(reports, '2026-01-01_00-00-00-quick');
      const newest = join(reports, '2026-01-02_00-00-00-quick');
      mkdirSync(older, { recursive: true });
      mkdirSync(newest, { recursive: true });
      writeFileSync(join(older, 'metrics.json'), JSON.stringify(unfinished));
      writeFileSync(join(newest, 'metrics.json'), text);
      const r = lab(['--resume', '--reports', reports]);
      expect(r.status, r.stderr).toBe(2);
      expect(r.stderr).toContain(`${join(newest, 'metrics.json')} ${message}`);
      expect(r.stderr).toContain('or name another report folder with --resume DIR');
      expect(r.stdout).not.toContain('Resuming');
      expect(readdirSync(older)).toEqual(['metrics.json']);
    });
  }
});
