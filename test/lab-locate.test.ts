/** Where the lab looks for its data sets (examples/lab/locate.ts); the library knows no shared folder. */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import * as ds from '@webgrad/datasets';
import { dataRoots, sharedDataRoot } from '../examples/lab/locate';

describe('the lab\'s data roots', () => {
  it('finds the shared data beside the repository, unless the environment says otherwise', () => {
    const repo = ds.repoRoot();
    expect(sharedDataRoot({})).toBe(join(repo, '..', 'shared', 'data'));
    expect(sharedDataRoot({ WEBGRAD_SHARED_DATA: '/somewhere/data' })).toBe('/somewhere/data');
    expect(dataRoots(undefined, {}, repo).at(-1)).toEqual({ path: join(repo, '..', 'shared', 'data'), source: '../shared/data beside the repository' });
    expect('sharedDataRoot' in ds).toBe(false);
  });
});
