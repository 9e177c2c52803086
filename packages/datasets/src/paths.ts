import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Environment variables (process.env's shape, without needing Node's types in the published ones). */
export type Environment = Record<string, string | undefined>;

/** This repository: a package.json named "webgrad" whose workspaces hold this package. */
function isWebgradRepository(dir: string): boolean {
  const file = join(dir, 'package.json');
  if (!existsSync(file)) return false;
  try {
    const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; workspaces?: unknown };
    return manifest.name === 'webgrad' && Array.isArray(manifest.workspaces) && manifest.workspaces.includes('packages/datasets');
  } catch {
    return false;
  }
}

function findUp(start: string): string | null {
  for (let dir = resolve(start); ; dir = dirname(dir)) {
    if (isWebgradRepository(dir)) return dir;
    if (dirname(dir) === dir) return null;
  }
}

const packageDir = (): string => dirname(fileURLToPath(import.meta.url));

/**
 * The webgrad repository this package sits in (else the one the working directory is in), or
 * null: a copy installed in another project, even one with workspaces of its own.
 */
export function findRepoRoot(cwd = process.cwd(), from = packageDir()): string | null {
  return findUp(from) ?? findUp(cwd);
}

/** The webgrad repository's root (see findRepoRoot); an error outside it. */
export function repoRoot(cwd = process.cwd(), from = packageDir()): string {
  const root = findRepoRoot(cwd, from);
  if (!root) throw new Error(`repoRoot: ${from} is not inside the webgrad repository (a package.json named "webgrad" with workspaces), nor is ${cwd}; name the folders explicitly`);
  return root;
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

/**
 * Where downloads go when no folder is given: `<repo>/data` (git-ignored) inside the webgrad
 * repository; elsewhere (an installed package) `data` in the user's cache folder, defaultCacheDir().
 */
export function defaultDataDir(env: Environment = process.env, home = homedir(), root = findRepoRoot()): string {
  return root ? join(root, 'data') : join(defaultCacheDir(env, home), 'data');
}
