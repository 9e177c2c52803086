/**
 * Resizing equals PIL 9.4's `resize(size, BILINEAR)` and `resize(size, NEAREST)` byte for byte
 * (what torchvision's Resize does to a PIL image), on the fixtures of test/fixtures/pil:
 * 310×230→128×96, 100×100→64×64, 32→24, 7×5→3×2, and enlargements.
 */
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/decode-image';
import { resizePixels, resizeToPlanar } from '../src/resize';
import { compareWithPil, fixtureBytes, gunzipFixture, pilManifest, type ResizedFixture } from './helpers/pil-fixtures';

const manifest = pilManifest();

function source(e: ResizedFixture) {
  if (e.sourceRgb) return { width: e.sourceWidth, height: e.sourceHeight, channels: 3, data: gunzipFixture(e.sourceRgb) };
  const file = manifest.decoded.find((d) => d.file.endsWith(`/${e.source}`))!.file;
  return decodeImage(fixtureBytes(file), e.colour);
}

describe('resize equals PIL 9.4', () => {
  for (const filter of ['bilinear', 'nearest'] as const) {
    const entries = manifest.resized.filter((e) => e.filter === filter);
    it(`${filter}: ${entries.length} resizes, identical bytes`, () => {
      const wrong: string[] = [];
      for (const e of entries) {
        const src = source(e);
        expect([src.width, src.height]).toEqual([e.sourceWidth, e.sourceHeight]);
        const got = resizePixels(src, e.height, e.width, filter);
        const diff = compareWithPil(got.data, e.file, e.sha256);
        if (diff) wrong.push(`${e.source ?? e.sourceRgb} ${e.colour} ${e.sourceWidth}×${e.sourceHeight}→${e.width}×${e.height}: ${diff}`);
      }
      expect(wrong).toEqual([]);
    });
  }

  it('covers the sizes the issue names, in both colours', () => {
    const sizes = new Set(manifest.resized.map((e) => `${e.sourceWidth}x${e.sourceHeight}->${e.width}x${e.height}`));
    for (const s of ['310x230->128x96', '100x100->64x64', '32x32->24x24', '7x5->3x2']) expect(sizes).toContain(s);
    expect(new Set(manifest.resized.map((e) => e.colour))).toEqual(new Set(['rgb', 'grey']));
  });

  it("bilinear is resizeToPlanar's default: the planes are PIL's bilinear resize", () => {
    const e = manifest.resized.find((r) => r.filter === 'bilinear' && r.sourceWidth === 100 && r.colour === 'rgb')!;
    const want = gunzipFixture(e.file!);
    const planar = resizeToPlanar(source(e), e.height, e.width);
    const plane = e.width * e.height;
    const back = new Uint8Array(3 * plane);
    for (let i = 0; i < plane; i++) for (let c = 0; c < 3; c++) back[3 * i + c] = planar[c * plane + i];
    expect(Buffer.from(back).equals(Buffer.from(want))).toBe(true);
  });
});
