import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Environment variables (process.env's shape, without needing Node's types in the published ones). */
export type Environment = Record<string, string | undefined>;

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

/**
 * Where decoded images are cached: $WEBGRAD_CACHE, else the user's cache folder
 * ($XDG_CACHE_HOME/webgrad, else ~/.cache/webgrad), never the directory a program runs from.
 */
export function defaultCacheDir(env: Environment = process.env, home = homedir()): string {
  if (env.WEBGRAD_CACHE) return resolve(env.WEBGRAD_CACHE);
  const base = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(home, '.cache');
  return join(base, 'webgrad');
}

/** Where downloads go when no folder is given: `<repo>/data` (git-ignored). */
export function defaultDataDir(): string {
  return join(repoRoot(), 'data');
}
