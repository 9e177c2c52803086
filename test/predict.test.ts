import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import * as wg from '@webgrad/tensor';
import * as nn from '@webgrad/nn';
import { transforms } from '@webgrad/datasets';
import jpeg from 'jpeg-js';
import { writeFileSync } from 'node:fs';
import { gunzipFixture, PIL_FIXTURES, pilManifest } from '../packages/datasets/test/helpers/pil-fixtures';

const dir = mkdtempSync(join(tmpdir(), 'webgrad-predict-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function writeImage(name: string, seed: number): string {
  const w = 6, h = 5;
  const data = Buffer.alloc(w * h * 4);
  for (let i = 0; i < w * h; i++) data.set([(i * 9 + seed * 40) & 255, (i * 3 + seed * 90) & 255, (255 - i * 7) & 255, 255], i * 4);
  const path = join(dir, name);
  writeFileSync(path, jpeg.encode({ data, width: w, height: h }, 95).data);
  return path;
}

const classes = ['cat', 'dog', 'bird'];
const preprocess = transforms.compose([transforms.resize(4), transforms.toTensor(), transforms.normalize([0.5], [0.5])]);

function model(): nn.Module {
  wg.manualSeed(3);
  return new nn.Sequential(new nn.Flatten(), new nn.Linear(3 * 4 * 4, 3), new nn.Dropout(0.5));
}

function softmaxOf(logits: ArrayLike<number>): number[] {
  const m = Math.max(...Array.from(logits));
  const e = Array.from(logits, (v) => Math.exp(v - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / s);
}

describe('classify: class names with probabilities from a path, bytes or a tensor', () => {
  const a = writeImage('a.jpg', 1);
  const b = writeImage('b.jpg', 2);

  it('a tensor: every class, most likely first, with the softmax of the logits, in eval mode', async () => {
    const m = model();
    m.train();
    const x = preprocess.apply(a);
    const expected = softmaxOf(wg.noGrad(() => m.eval().forward(x.reshape([1, 3, 4, 4]))).dataSync());
    m.train();
    const got = await nn.classify(m, x, { classes });
    expect(got.map((p) => p.label)).toEqual([...classes].sort((p, q) => expected[classes.indexOf(q)] - expected[classes.indexOf(p)]));
    for (const p of got) expect(p.probability).toBeCloseTo(expected[p.index], 6);
    expect(m.modules().every((mod) => mod.training)).toBe(true);
    expect((await nn.classify(m, x, { topK: 1 })).map((p) => p.label)).toEqual([String(got[0].index)]);
  });

  it('a path and bytes go through preprocess; a list of paths is a batch', async () => {
    const m = model();
    const fromTensor = await nn.classify(m, preprocess.apply(a), { classes });
    expect(await nn.classify(m, a, { classes, preprocess })).toEqual(fromTensor);
    expect(await nn.classify(m, readFileSync(a), { classes, preprocess: (s) => preprocess.apply(s) })).toEqual(fromTensor);
    const both = await nn.classifyBatch(m, [a, b], { classes, preprocess });
    expect(both).toHaveLength(2);
    expect(both[0]).toEqual(fromTensor);
    expect(both[1]).toEqual(await nn.classify(m, b, { classes, preprocess }));
  });

  it('misuse names the fix', async () => {
    const m = model();
    await expect(nn.classify(m, a)).rejects.toThrow(/classify: a path or bytes needs \{ preprocess \}/);
    await expect(nn.classify(m, preprocess.apply(a), { classes: ['x', 'y'] })).rejects.toThrow(/the model has 3 outputs but 2 class names were given/);
    await expect(nn.classify(m, preprocess.apply([a, b]))).rejects.toThrow(/got a batch of 2 images \[2,3,4,4\]; use classifyBatch/);
    await expect(nn.classify(m, join(dir, 'none.jpg'), { preprocess })).rejects.toThrow(/none\.jpg/);
  });
});

describe("classify's preprocess resizes as PIL does", () => {
  it("transforms.resize defaults to the 'bilinear' filter, PIL 9.4's BILINEAR: the model sees PIL's pixels", async () => {
    const manifest = pilManifest();
    const e = manifest.resized.find((r) => r.source === 'vehicles-car-car101.jpg' && r.filter === 'bilinear' && r.colour === 'rgb' && r.width === 64)!;
    const resize = transforms.resize(64);
    expect(resize).toMatchObject({ kind: 'resize', filter: 'bilinear' });
    const file = join(PIL_FIXTURES, 'jpeg', 'vehicles-car-car101.jpg');
    const pre = transforms.compose([resize, transforms.toTensor()]);
    const x = pre.apply(file);
    const pil = gunzipFixture(e.file!);
    const plane = 64 * 64;
    const fromPil = Float32Array.from({ length: 3 * plane }, (_, i) => pil[3 * (i % plane) + Math.floor(i / plane)] / 255);
    expect(Array.from(x.dataSync())).toEqual(Array.from(fromPil));
    wg.manualSeed(5);
    const m = new nn.Sequential(new nn.Flatten(), new nn.Linear(3 * plane, 2));
    expect(await nn.classify(m, file, { preprocess: pre })).toEqual(await nn.classify(m, wg.tensor(fromPil, { shape: [3, 64, 64] })));
  });
});
