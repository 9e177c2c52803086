import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

function isWorkspaceRoot(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    return 'workspaces' in JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return false;
  }
}

function findUp(start: string): string | null {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isWorkspaceRoot(dir)) return dir;
    if (dirname(dir) === dir) return null;
  }
}

/**
 * The repository root: the nearest folder above this package (else above the working
 * directory) whose package.json declares workspaces; the working directory when neither has one.
 */
export function repoRoot(cwd = process.cwd()): string {
  return findUp(dirname(fileURLToPath(import.meta.url))) ?? findUp(cwd) ?? resolve(cwd);
}

/** Where decoded images are cached: $WEBGRAD_CACHE, else `<repo>/.cache/webgrad`. */
export function defaultCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return env.WEBGRAD_CACHE ? resolve(env.WEBGRAD_CACHE) : join(repoRoot(), '.cache', 'webgrad');
}

/** Where downloads go when no folder is given: `<repo>/data` (git-ignored). */
export function defaultDataDir(): string {
  return join(repoRoot(), 'data');
}
