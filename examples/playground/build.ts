/**
 * Bundles the page for the browser with esbuild, in memory. The packages resolve through
 * their own exports to their browser entries (`webgrad-source` picks src/ over the unbuilt
 * dist/); the repository's tsconfig paths, which point Node tools at the Node entries, are
 * left out.
 */
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));

export interface PageBundle {
  /** Served path → contents. */
  files: Map<string, { type: string; body: Uint8Array }>;
  bytes: number;
}

export async function buildPage(opts: { minify?: boolean } = {}): Promise<PageBundle> {
  const r = await esbuild.build({
    entryPoints: { main: `${here}main.ts` },
    outdir: `${here}out`,
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    conditions: ['webgrad-source'],
    tsconfigRaw: {},
    minify: opts.minify ?? true,
    sourcemap: 'linked',
    write: false,
    logLevel: 'silent',
  });
  const files = new Map<string, { type: string; body: Uint8Array }>();
  let bytes = 0;
  for (const f of r.outputFiles) {
    const name = `/${f.path.split('/').pop()}`;
    const js = name.endsWith('.js');
    if (js) bytes += f.contents.length;
    files.set(name, { type: js ? 'text/javascript' : 'application/json', body: f.contents });
  }
  return { files, bytes };
}
