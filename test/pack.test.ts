/**
 * The packages as a user gets them: `npm pack` of each (its prepack builds dist/), the
 * tarballs unpacked into a fresh project's node_modules beside ONLY the dependencies they
 * declare (linked from this checkout's node_modules, so no registry is needed), then
 * imported from plain ESM JavaScript and type-checked from TypeScript without skipLibCheck.
 * An undeclared dependency, a missing dist/ or a types error fails here.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, existsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repo = fileURLToPath(new URL('..', import.meta.url));
const PACKAGES = ['kernels-wgsl', 'kernels-wasm', 'tensor', 'nn', 'datasets'];
const work = mkdtempSync(join(tmpdir(), 'webgrad-pack-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

interface PackResult {
  name: string;
  filename: string;
  files: { path: string }[];
}

async function pack(dir: string): Promise<PackResult> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', work], { cwd: join(repo, 'packages', dir), maxBuffer: 1 << 24 });
  // prepack's build output comes before the JSON on stdout.
  return (JSON.parse(stdout.slice(stdout.indexOf('[\n'))) as PackResult[])[0];
}

const app = join(work, 'app');
const modules = join(app, 'node_modules');

/** Unpacks a tarball as node_modules/<name> and links the third-party dependencies it declares. */
async function install(p: PackResult): Promise<void> {
  const dest = join(modules, p.name);
  mkdirSync(dest, { recursive: true });
  await run('tar', ['-xzf', join(work, p.filename), '-C', dest, '--strip-components=1']);
  const manifest = JSON.parse(readFileSync(join(dest, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies ?? {})) {
    if (dep.startsWith('@webgrad/')) continue;
    const link = join(modules, dep);
    if (existsSync(link)) continue;
    mkdirSync(dirname(link), { recursive: true });
    symlinkSync(join(repo, 'node_modules', dep), link, 'dir');
  }
}

const JS = `
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import * as ds from '@webgrad/datasets';
import * as kernels from '@webgrad/kernels-wgsl';
const t = wg.tensor([[1, 2], [3, 4]]);
console.log(String(t.matmul(t)));
wg.manualSeed(0);
const model = new nn.Sequential(new nn.Linear(2, 3), new nn.ReLU());
console.log(model.summary([1, 2]).rows.map((r) => r.outputShape.join('x')).join(' '));
console.log(typeof ds.transforms.compose, typeof kernels === 'object');
// A batch gathered on a worker thread: the published dist/worker.js must load.
const loader = new ds.DataLoader(new ds.TensorDataset(wg.arange(0, 8).reshape([4, 2]), wg.tensor([0, 1, 0, 1], { dtype: 'int32' })), { batchSize: 4, workers: 1 });
for await (const b of loader) console.log(b.x.shape.join('x'), [...b.y.dataSync()].join(','));
await loader.close();
`;

const TS = `
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { DataLoader, TensorDataset, transforms, type Transform } from '@webgrad/datasets';
const x: wg.Tensor = wg.tensor([[1, 2], [3, 4]], { dtype: 'float32' });
const model: nn.Module = new nn.Linear(2, 2);
const loader = new DataLoader(new TensorDataset(x, wg.tensor([0, 1], { dtype: 'int32' })), { batchSize: 2, workers: 0 });
const list: Transform[] = [transforms.resize(8), transforms.toTensor()];
const predictions: Promise<nn.Prediction[]> = nn.classify(model, x.reshape([1, 2, 2]).add(1), { topK: 1 });
export { loader, list, predictions };
`;

const TSCONFIG = {
  compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true, skipLibCheck: false },
  files: ['main.ts'],
};

describe('npm pack: each package builds, installs and imports on its own', () => {
  it('packs, installs the tarballs, imports them from ESM JavaScript and TypeScript', async () => {
    // In parallel: each build resolves the other packages from their sources.
    const packed = await Promise.all(PACKAGES.map(pack));
    const license = readFileSync(join(repo, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License/);
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      expect(files, p.name).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']));
      expect(readFileSync(join(repo, 'packages', p.name.replace('@webgrad/', ''), 'LICENSE'), 'utf8'), `${p.name}'s LICENSE`).toBe(license);
    }
    mkdirSync(modules, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    for (const p of packed) await install(p);

    writeFileSync(join(app, 'main.mjs'), JS);
    const js = await run(process.execPath, ['main.mjs'], { cwd: app });
    expect(js.stdout).toBe('tensor([[ 7., 10.],\n        [15., 22.]])\n1x3 1x3 1x3\nfunction true\n4x2 0,1,0,1\n');

    writeFileSync(join(app, 'main.ts'), TS);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', app], { cwd: app }).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(result.stdout).toBe('');
  }, 600_000);
});
