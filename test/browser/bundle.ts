/**
 * Bundling for a browser as a web developer would: esbuild and Vite, browser platform, no
 * flags beyond `webgrad-source`, the development condition in the packages' exports that
 * points at src/ instead of the unbuilt dist/. The repository's tsconfig paths (which point
 * Node tools at the Node entries) are left out, so the packages' own exports decide.
 */
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

export const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
export const SOURCE_CONDITION = 'webgrad-source';

export interface BundleResult {
  errors: string[];
  bytes: number;
  inputs: string[];
}

/** esbuild, browser platform, minified, in memory: the errors (unresolved modules among them), the size and the files read. */
export async function esbuildForBrowser(entry: { file: string } | { code: string }): Promise<BundleResult> {
  const input = 'file' in entry ? { entryPoints: [entry.file] } : { stdin: { contents: entry.code, resolveDir: repoRoot, loader: 'ts' as const } };
  try {
    const r = await esbuild.build({
      ...input,
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      conditions: [SOURCE_CONDITION],
      tsconfigRaw: {},
      minify: true,
      write: false,
      metafile: true,
      logLevel: 'silent',
    });
    return { errors: [], bytes: r.outputFiles[0].contents.length, inputs: Object.keys(r.metafile.inputs) };
  } catch (err) {
    const failure = err as esbuild.BuildFailure;
    if (!failure.errors) throw err;
    return { errors: failure.errors.map((e) => `${e.location?.file ?? ''}: ${e.text}`), bytes: 0, inputs: [] };
  }
}

/**
 * Vite's production build (Rolldown) of one entry for the client. Vite does not fail on a
 * Node built-in in a browser build: it stubs it out with a `__vite-browser-external` module
 * (and warns, outside vitest), so the stubs are read from the unminified output.
 */
export async function viteForBrowser(file: string): Promise<{ stubbed: string[]; bytes: number }> {
  const { build, defaultClientConditions } = await import('vite');
  const result = await build({
    configFile: false,
    root: repoRoot,
    logLevel: 'silent',
    resolve: { conditions: [SOURCE_CONDITION, ...defaultClientConditions] },
    build: { write: false, minify: false, rollupOptions: { input: file } },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as { output: { fileName: string; code?: string }[] }[];
  const files = outputs.flatMap((o) => o.output);
  const text = files.map((o) => `${o.fileName}\n${o.code ?? ''}`).join('\n');
  const stubbed = new Set([...text.matchAll(/__vite-browser-external:([\w:/.-]+)/g)].map((m) => m[1]));
  return { stubbed: [...stubbed].sort(), bytes: files.reduce((a, o) => a + (o.code?.length ?? 0), 0) };
}
