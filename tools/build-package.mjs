/**
 * Builds one package (run from its folder by its `build` script; `prepack` runs it for
 * `npm pack`): each source file as an ES module with a source map, the declarations
 * (tsc, from the entries given as arguments) one file per source file with declaration maps (so
 * go-to-definition lands in the shipped src/), and dist/require.cjs, which the "require"
 * condition of the exports points at so that require() says the package is ESM-only.
 *
 * The other @webgrad packages resolve to their built dist/ types, so packages build in
 * dependency order (the root's `npm run build` does).
 */
import { execFile } from 'node:child_process';
import { existsSync, readdirSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { createRequire } from 'node:module';
import * as esbuild from 'esbuild';

const run = promisify(execFile);
const entries = process.argv.slice(2);
if (entries.length === 0) throw new Error('build-package: name the entry files, e.g. src/index.ts src/node.ts');
const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
rmSync('dist', { recursive: true, force: true });

// The declarations (tsc) and the modules (esbuild) are made side by side.
const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
const declarations = run(process.execPath, [
  tsc, '--declaration', '--emitDeclarationOnly', '--declarationMap', '--rootDir', 'src', '--outDir', 'dist',
  '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--lib', 'es2022,dom',
  '--types', 'node,@webgpu/types', '--strict', '--skipLibCheck', '--esModuleInterop', '--resolveJsonModule',
  '--isolatedModules', '--noImplicitOverride', '--noCheck', ...entries,
]).catch((err) => {
  throw new Error(`${pkg.name}: tsc failed to write the declarations:\n${err.stdout}${err.stderr}`);
});
// One ES module per source file, imports kept as they are (with .js added), so a consumer's
// bundler drops the modules a page does not use: a pre-bundled chunk is one module, whose
// top-level statements keep all of it alive.
const bundles = esbuild.build({
  entryPoints: listFiles('src', (f) => f.endsWith('.ts') && !f.endsWith('.d.ts')),
  outdir: 'dist',
  outbase: 'src',
  bundle: true,
  packages: 'external',
  format: 'esm',
  platform: 'neutral',
  target: 'es2022',
  sourcemap: true,
  // Not the repository's tsconfig, whose paths point the sibling packages at their sources.
  tsconfigRaw: { compilerOptions: { useDefineForClassFields: true } },
  logLevel: 'warning',
  plugins: [{
    name: 'relative-imports-as-js',
    setup(b) {
      b.onResolve({ filter: /^\.\.?\// }, (args) => {
        if (args.kind === 'entry-point') return undefined;
        const js = jsPath(args.path, (p) => existsSync(`${join(args.resolveDir, p)}.ts`), (p) => existsSync(join(args.resolveDir, p, 'index.ts')));
        return js ? { path: js, external: true } : undefined;
      });
    },
  }],
});
await Promise.all([bundles, declarations]);
for (const file of listFiles('dist', (f) => f.endsWith('.d.ts'))) writeFileSync(file, withExtensions(file, readFileSync(file, 'utf8')));

writeFileSync('dist/require.cjs', `throw new Error(${JSON.stringify(
  `${pkg.name} is an ES module only: use \`import ... from '${pkg.name}'\`, or from CommonJS \`const m = await import('${pkg.name}')\`; a CommonJS require() cannot load it.`,
)});\n`);

function listFiles(dir, keep) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? listFiles(join(dir, e.name), keep) : keep(e.name) ? [join(dir, e.name)] : []);
}

/** './x' → './x.js' when x is a module, './x/index.js' when a folder; undefined otherwise. */
function jsPath(spec, isFile, isFolder) {
  if (isFile(spec)) return `${spec}.js`;
  if (isFolder(spec)) return `${spec}/index.js`;
  return undefined;
}

/**
 * The sources import without extensions (bundler resolution); a consumer's NodeNext
 * resolution needs them, so each relative specifier of a declaration gets its .js.
 */
function withExtensions(file, text) {
  return text.replace(/(\bfrom\s*|\bimport\s*\(\s*)(['"])(\.\.?\/[^'"]*)\2/g, (match, lead, quote, spec) => {
    const base = (p) => join(dirname(file), p);
    const js = jsPath(spec, (p) => existsSync(`${base(p)}.d.ts`), (p) => existsSync(join(base(p), 'index.d.ts')));
    return js ? `${lead}${quote}${js}${quote}` : match;
  });
}
