/** The playground's server side: the lab's data search and its fallbacks, and the format the page reads. */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { decodeImages, encodeImages } from '../examples/playground/core';
import { loadSubset, syntheticShapes } from '../examples/playground/data';

const saved = { ...process.env };
afterEach(() => {
  process.env = { ...saved };
});

describe('playground data', () => {
  it('the synthetic set is balanced, labelled, and survives the trip to the page', () => {
    const d = syntheticShapes({ trainPerClass: 3, testPerClass: 2 }, 'test');
    const { meta } = d;
    expect(meta.trainCount).toBe(3 * meta.classes.length);
    expect(meta.testCount).toBe(2 * meta.classes.length);
    expect(meta.fallback).toMatch(/synthetic shapes/);
    const counts = new Array(meta.classes.length).fill(0);
    for (const l of d.labels.subarray(0, meta.trainCount)) counts[l]++;
    expect(counts).toEqual(new Array(meta.classes.length).fill(3));
    const back = decodeImages(meta, encodeImages(d));
    expect(back.pixels).toEqual(d.pixels);
    expect(back.labels).toEqual(d.labels);
    expect(() => decodeImages(meta, encodeImages(d).subarray(1))).toThrow(/images\.bin: .* bytes, expected/);
  });

  it('without CIFAR-10 anywhere the lab looks, falls back to Fashion-MNIST or the synthetic set and says why', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'webgrad-nodata-'));
    delete process.env.WEBGRAD_DATA;
    process.env.WEBGRAD_SHARED_DATA = empty;
    process.env.WEBGRAD_FASHION_MNIST = empty;
    const d = await loadSubset({ trainPerClass: 2, testPerClass: 1, dataDir: empty });
    expect(['Fashion-MNIST', 'synthetic shapes']).toContain(d.meta.name);
    expect(d.meta.fallback).toMatch(/CIFAR-10/);
    expect(d.meta.fallback).toContain('--data');
    // The folders searched go to the server's console only, not to the page.
    expect(d.local.fallback).toContain(empty);
    expect(JSON.stringify(d.meta)).not.toContain(empty);
    expect(d.pixels.length).toBe((d.meta.trainCount + d.meta.testCount) * d.meta.channels * d.meta.height * d.meta.width);
  });
});
