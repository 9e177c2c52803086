import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { loadCifar10 } from '../src/cifar10';
import { defaultCacheDir, defaultDataDir, findRepoRoot, repoRoot } from '../src/paths';
import { makeCifarBinary } from './helpers/cifar';
import { tempDir } from './helpers/tmp';

const root = tempDir();

describe('data locations', () => {
  it('finds the repository root; $WEBGRAD_CACHE names the cache folder', () => {
    const repo = repoRoot();
    expect(resolve(repo, 'packages', 'datasets')).toBe(fileURLToPath(new URL('..', import.meta.url)).replace(/\/$/, ''));
    expect(defaultCacheDir({ WEBGRAD_CACHE: '/tmp/c' })).toBe('/tmp/c');
  });
  it("inside this repository, downloads go to <repo>/data; installed in another project (a monorepo too), to the user's cache folder", () => {
    expect(defaultDataDir()).toBe(join(repoRoot(), 'data'));
    // A user's monorepo with the package installed in it, run from its root.
    const app = join(root, 'monorepo');
    const installed = join(app, 'node_modules', '@webgrad', 'datasets', 'dist');
    mkdirSync(installed, { recursive: true });
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'monorepo', workspaces: ['packages/*'] }));
    expect(findRepoRoot(app, installed)).toBe(null);
    expect(defaultDataDir({}, '/home/ann', findRepoRoot(app, installed))).toBe('/home/ann/.cache/webgrad/data');
    expect(defaultDataDir({ XDG_CACHE_HOME: '/var/cache/ann' }, '/home/ann', null)).toBe('/var/cache/ann/webgrad/data');
    expect(() => repoRoot(app, installed)).toThrow(`repoRoot: ${installed} is not inside the webgrad repository`);
  });
  it("caches in the user's cache folder, not in the directory a program runs from", () => {
    expect(defaultCacheDir({}, '/home/ann')).toBe('/home/ann/.cache/webgrad');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/var/cache/ann' }, '/home/ann')).toBe('/var/cache/ann/webgrad');
    expect(defaultCacheDir({ XDG_CACHE_HOME: 'relative' }, '/home/ann')).toBe('/home/ann/.cache/webgrad');
    expect(defaultCacheDir({ WEBGRAD_CACHE: '/tmp/c', XDG_CACHE_HOME: '/var/cache/ann' })).toBe('/tmp/c');
  });
});

describe('loadCifar10', () => {
  it('reads a binary folder it is given, then one in the data folder', async () => {
    const bin = makeCifarBinary(join(root, 'given', 'cifar-10-batches-bin'), 2);
    const fromGiven = await loadCifar10({ binaryDir: bin, download: false });
    expect([fromGiven.source, fromGiven.train.count, fromGiven.test.count]).toEqual([bin, 10, 2]);
    const dataDir = join(root, 'data');
    makeCifarBinary(join(dataDir, 'cifar-10-batches-bin'), 1);
    const fromData = await loadCifar10({ dataDir, sharedRoot: join(root, 'none'), download: false });
    expect([fromData.source, fromData.train.count]).toEqual([join(dataDir, 'cifar-10-batches-bin'), 5]);
  });

  it('names every place it looked when there is no copy and no download', async () => {
    const empty = join(root, 'empty');
    mkdirSync(empty);
    await expect(loadCifar10({ dataDir: empty, sharedRoot: empty, download: false })).rejects.toThrow(
      `CIFAR-10: not found in ${join(empty, 'cifar-10-batches-bin')}, ${join(empty, 'cifar10')}, and download is off`,
    );
  });
});
