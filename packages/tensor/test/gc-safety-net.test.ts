/**
 * The GC safety net (tensor.ts's FinalizationRegistry) frees tensors dropped without
 * dispose(). Tensors made inside tidy() join it only when they leave every scope alive
 * (keep(), or returned from the outermost scope), so those are the paths checked here.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import * as wg from '../src/node';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

/** Collects until the live tensor count falls to `target` (finalizers run as later tasks), or gives up. */
async function collectDownTo(target: number): Promise<number> {
  for (let i = 0; i < 20 && wg.memoryStats().liveTensors > target; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return wg.memoryStats().liveTensors;
}

describe('GC safety net', () => {
  it('frees dropped tensors made outside any scope, kept from a scope, or returned from the outermost one', async () => {
    const start = wg.memoryStats().liveTensors;
    (() => {
      wg.ones([8]);
      wg.tidy(() => {
        wg.ones([8]).keep();
        wg.tidy(() => wg.ones([8]).keep());
      });
      wg.tidy(() => wg.tidy(() => [wg.ones([8]), { t: wg.ones([8]).add(1) }]));
    })();
    expect(wg.memoryStats().liveTensors - start).toBe(5);
    expect(await collectDownTo(start)).toBe(start);
  });

  it('a tensor a scope hands to its parent is still disposed by the parent', () => {
    const start = wg.memoryStats().liveTensors;
    wg.tidy(() => {
      wg.tidy(() => wg.ones([8]));
    });
    expect(wg.memoryStats().liveTensors).toBe(start);
  });
});
