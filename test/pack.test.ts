/**
 * The packages as a user gets them: `npm pack` of each (its prepack builds dist/), the
 * tarballs unpacked into a fresh project's node_modules beside ONLY the dependencies they
 * declare (linked from this checkout's node_modules, so no registry is needed, offline too),
 * then imported from plain ESM JavaScript, require()d from CommonJS, type-checked from
 * TypeScript without skipLibCheck and bundled for a browser. `webgpu` (Dawn), an optional
 * peer dependency, is not installed. An undeclared dependency, a missing dist/ or export
 * target, a types error or a bundle that pulls in what it does not use fails here.
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
// Without the optional 'webgpu' package: cpu works, 'auto' says why it chose cpu, 'webgpu' names the package.
console.log((await wg.useDevice('cpu')).device);
const auto = await wg.useDevice('auto');
console.log(auto.device, auto.fallbackReason);
console.log(await wg.useDevice('webgpu').catch((err) => err.message));
const { default: manifest } = await import('@webgrad/nn/package.json', { with: { type: 'json' } });
console.log(manifest.name, manifest.version);
// Installed in a project with workspaces of its own: downloads go to the user's cache folder.
console.log(ds.defaultDataDir());
`;

const NO_WEBGPU = "WebGPU in Node needs the 'webgpu' package (Dawn for Node), which is not installed: `npm install webgpu`. Without it the cpu device works: useDevice('cpu').";

const CJS = `
for (const name of ['@webgrad/tensor', '@webgrad/nn', '@webgrad/datasets']) {
  try { require(name); console.log(name, 'loaded'); } catch (err) { console.log(err.message); }
}
`;

/** Every file path an exports map points at. */
function exportTargets(exports: unknown): string[] {
  if (typeof exports === 'string') return [exports];
  return exports && typeof exports === 'object' ? Object.values(exports).flatMap(exportTargets) : [];
}

/** esbuild, for a browser, minified, from the installed tarballs: the bytes and the errors. */
async function bundle(code: string): Promise<{ bytes: number; js: string; errors: string[] }> {
  const esbuild = await import('esbuild');
  try {
    const r = await esbuild.build({
      stdin: { contents: code, resolveDir: app, loader: 'js' }, bundle: true, platform: 'browser', format: 'esm',
      target: 'es2022', minify: true, write: false, logLevel: 'silent',
    });
    return { bytes: r.outputFiles[0].contents.length, js: r.outputFiles[0].text, errors: [] };
  } catch (err) {
    return { bytes: 0, js: '', errors: (err as { errors?: { text: string }[] }).errors?.map((e) => e.text) ?? [String(err)] };
  }
}

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
    // In dependency order (a package's declarations are built against the others' dist/),
    // packages that do not depend on each other side by side.
    const packed: PackResult[] = [];
    for (const wave of [['kernels-ir'], ['kernels-wgsl', 'kernels-wasm'], ['tensor'], ['nn', 'datasets']]) packed.push(...(await Promise.all(wave.map(pack))));
    const license = readFileSync(join(repo, 'LICENSE'), 'utf8');
    expect(license).toMatch(/^MIT License/);
    for (const p of packed) {
      const files = p.files.map((f) => f.path);
      expect(files, p.name).toEqual(expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'src/index.ts', 'dist/require.cjs',
        ...['index.js', 'index.js.map', 'index.d.ts', 'index.d.ts.map'].map((f) => `dist/${f}`)]));
      // Declarations one per source file, as tsc writes them: no hash-named chunks to land in.
      expect(files.filter((f) => /chunk-.*\.d\.ts$/.test(f)), p.name).toEqual([]);
      const manifest = JSON.parse(readFileSync(join(repo, 'packages', p.name.replace('@webgrad/', ''), 'package.json'), 'utf8')) as Record<string, unknown>;
      for (const field of ['description', 'keywords', 'repository', 'engines', 'sideEffects']) expect(manifest[field], `${p.name} ${field}`).toBeDefined();
      for (const target of exportTargets(manifest.exports)) expect(files, `${p.name} exports ${target}`).toContain(target.replace(/^\.\//, ''));
      expect(readFileSync(join(repo, 'packages', p.name.replace('@webgrad/', ''), 'LICENSE'), 'utf8'), `${p.name}'s LICENSE`).toBe(license);
    }
    mkdirSync(modules, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module', workspaces: [] }));
    for (const p of packed) await install(p);

    writeFileSync(join(app, 'main.mjs'), JS);
    const xdg = join(work, 'cache');
    const js = await run(process.execPath, ['main.mjs'], { cwd: app, env: { ...process.env, XDG_CACHE_HOME: xdg, WEBGRAD_CACHE: '' } });
    expect(existsSync(join(modules, 'webgpu'))).toBe(false);
    expect(js.stdout).toBe(`tensor([[ 7., 10.],\n        [15., 22.]])\n1x3 1x3 1x3\nfunction true\n4x2 0,1,0,1\ncpu\ncpu ${NO_WEBGPU}\n${NO_WEBGPU}\n@webgrad/nn 0.1.0\n${xdg}/webgrad/data\n`);
    // Declaration maps point into the shipped sources.
    const map = JSON.parse(readFileSync(join(modules, '@webgrad/nn/dist/module.d.ts.map'), 'utf8')) as { sources: string[] };
    expect(map.sources.map((f) => existsSync(join(modules, '@webgrad/nn/dist', f)))).toEqual([true]);

    // CommonJS: the "require" condition says the packages are ESM-only.
    writeFileSync(join(app, 'main.cjs'), CJS);
    const cjs = await run(process.execPath, ['main.cjs'], { cwd: app });
    expect(cjs.stdout.trim().split('\n')).toEqual(['tensor', 'nn', 'datasets'].map((n) =>
      `@webgrad/${n} is an ES module only: use \`import ... from '@webgrad/${n}'\`, or from CommonJS \`const m = await import('@webgrad/${n}')\`; a CommonJS require() cannot load it.`));

    writeFileSync(join(app, 'main.ts'), TS);
    writeFileSync(join(app, 'tsconfig.json'), JSON.stringify(TSCONFIG));
    const tsc = join(repo, 'node_modules', 'typescript', 'bin', 'tsc');
    const result = await run(process.execPath, [tsc, '-p', app], { cwd: app }).catch((err: { stdout: string }) => ({ stdout: err.stdout, failed: true }));
    expect(result.stdout).toBe('');

    // A page from the tarballs: tensor and nn bundle whole, datasets' browser entry too; a page that takes one function
    // gets that function, not the package (tree-shaking through the side-effect-free entries).
    const whole = await bundle("export * as wg from '@webgrad/tensor'; export * as nn from '@webgrad/nn';");
    const onlyTensor = await bundle("import { tensor } from '@webgrad/tensor'; console.log(String(tensor([1, 2]).add(1)));");
    const onlyHdc = await bundle("import { checkHDC } from '@webgrad/nn'; console.log(checkHDC([1, 2, 5], 3).ok);");
    const images = await bundle("import { DataLoader, imageSetFromSources } from '@webgrad/datasets'; console.log(DataLoader, imageSetFromSources);");
    for (const b of [whole, onlyTensor, onlyHdc, images]) expect(b.errors).toEqual([]);
    expect(onlyHdc.bytes).toBeLessThan(8 * 1024);
    expect(onlyTensor.bytes).toBeLessThan(whole.bytes / 2);
    // The one-function bundles run (as an ES module in Node): the cpu device is there.
    writeFileSync(join(app, 'only-tensor.mjs'), onlyTensor.js);
    writeFileSync(join(app, 'only-hdc.mjs'), onlyHdc.js);
    expect((await run(process.execPath, ['only-tensor.mjs'], { cwd: app })).stdout).toBe('tensor([2., 3.])\n');
    expect((await run(process.execPath, ['only-hdc.mjs'], { cwd: app })).stdout).toBe('true\n');
    const kib = (n: number) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(`browser bundles from the tarballs, minified (esbuild): tensor + nn ${kib(whole.bytes)}, only tensor() ${kib(onlyTensor.bytes)}, only checkHDC ${kib(onlyHdc.bytes)}`);
  }, 600_000);
});
