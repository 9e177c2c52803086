/**
 * The layering of DESIGN.md, checked on the sources: the packages are a library (they import
 * neither the lab's programs in examples/ nor the bench, and know no LAB.md or ../shared data
 * folder), each package imports only the packages below it, and the bench measures the
 * library without importing the lab's programs.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const SOURCE = /\.(ts|tsx|mts|cts|js|mjs|cjs)$/;

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' || e.name === 'results' ? [] : filesUnder(path);
    return [path];
  });
}

/** Every module specifier of a source: static and type imports, re-exports, import(), require(). */
function moduleSpecifiers(source: string): string[] {
  const patterns = [/\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g, /\bimport\s*['"]([^'"]+)['"]/g, /\b(?:import|require)\s*\(\s*['"]([^'"]+)['"]\s*\)/g];
  return patterns.flatMap((p) => [...source.matchAll(p)].map((m) => m[1]));
}

/** The top-level folder of the repository a specifier in `file` lands in, or null for a package. */
function targetFolder(file: string, specifier: string): string | null {
  // Relative paths, and bare ones that tsconfig's baseUrl "." would resolve from the root.
  const target = specifier.startsWith('.') ? resolve(dirname(file), specifier) : resolve(root, specifier);
  const rel = relative(root, target);
  if (rel.startsWith('..') || (!specifier.startsWith('.') && !/^(examples|bench|test|tools|packages)\//.test(specifier))) return null;
  return rel.split(sep)[0];
}

/** `file: specifier` for each import of a file under dirs that lands in one of the forbidden top-level folders. */
function importsInto(dirs: string[], forbidden: string[]): string[] {
  return dirs.flatMap((dir) =>
    filesUnder(dir)
      .filter((f) => SOURCE.test(f))
      .flatMap((f) =>
        moduleSpecifiers(readFileSync(f, 'utf8'))
          .filter((s) => forbidden.includes(targetFolder(f, s) ?? ''))
          .map((s) => `${relative(root, f)}: ${s}`),
      ),
  );
}

const packageSources = () =>
  readdirSync(join(root, 'packages'), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => join(root, 'packages', e.name, 'src'));

/** Mentions of the lab's text or of the lab's shared data folder beside the repository. */
const LAB_MENTIONS = [/LAB\.md/, /\.\.[/\\]shared\b/, /['"]\.\.['"]\s*,\s*['"]shared['"]/];

describe('layering', () => {
  it('finds every form of import it guards against', () => {
    const src = [
      `import { a } from '../examples/lab/models';`,
      `import type { B } from "../bench/util";`,
      `export * from './x';`,
      `import '../examples/side-effect';`,
      `const m = await import('../examples/lab/render');`,
      `const r = require('bench/loops');`,
    ].join('\n');
    expect(moduleSpecifiers(src)).toEqual(['../examples/lab/models', '../bench/util', './x', '../examples/side-effect', '../examples/lab/render', 'bench/loops']);
    const file = join(root, 'bench', 'chart.ts');
    expect(targetFolder(file, '../examples/lab/render')).toBe('examples');
    expect(targetFolder(file, '../tools/vega-render')).toBe('tools');
    expect(targetFolder(file, './util')).toBe('bench');
    expect(targetFolder(file, 'examples/lab/models')).toBe('examples');
    expect(targetFolder(file, '@webgrad/tensor')).toBeNull();
    expect(targetFolder(file, 'node:fs')).toBeNull();
  });

  it('bench/ imports no module of examples/', () => {
    expect(importsInto([join(root, 'bench')], ['examples'])).toEqual([]);
  });

  it('packages/*/src import nothing from examples/ or bench/', () => {
    expect(importsInto(packageSources(), ['examples', 'bench'])).toEqual([]);
  });

  it('each package imports only the @webgrad packages below it (the kernel generators share kernels-ir, not each other)', () => {
    const below: Record<string, string[]> = {
      'kernels-ir': [],
      'kernels-wgsl': ['kernels-ir'],
      'kernels-wasm': ['kernels-ir'],
      tensor: ['kernels-ir', 'kernels-wgsl', 'kernels-wasm'],
      nn: ['tensor'],
      datasets: ['tensor'],
    };
    expect(packageSources().map((dir) => relative(join(root, 'packages'), dirname(dir))).sort()).toEqual(Object.keys(below).sort());
    const crossings = Object.entries(below).flatMap(([pkg, allowed]) =>
      filesUnder(join(root, 'packages', pkg, 'src'))
        .filter((f) => SOURCE.test(f))
        .flatMap((f) => moduleSpecifiers(readFileSync(f, 'utf8')).map((s) => [f, s.match(/^@webgrad\/([^/]+)/)?.[1]] as const))
        .filter(([, dep]) => dep !== undefined && dep !== pkg && !allowed.includes(dep))
        .map(([f, dep]) => `${relative(root, f)}: @webgrad/${dep}`),
    );
    expect(crossings).toEqual([]);
  });

  it('packages/*/src mention neither LAB.md nor a ../shared folder', () => {
    const hits = packageSources().flatMap((dir) =>
      filesUnder(dir).flatMap((f) => {
        const text = readFileSync(f, 'utf8');
        return LAB_MENTIONS.filter((p) => p.test(text)).map((p) => `${relative(root, f)}: ${p}`);
      }),
    );
    expect(hits).toEqual([]);
  });
});
