/**
 * Decoding equals PIL 9.4's (libjpeg-turbo 2.1.5) byte for byte: `Image.open(f).convert('RGB')`
 * and convert('L'), on the fixtures of test/fixtures/pil (30 JPEGs of the shared data sets,
 * and made-up JPEGs and PNGs of every kind).
 */
import { describe, expect, it } from 'vitest';
import { decodeImage } from '../src/decode-image';
import { compareWithPil, fixtureBytes, gunzipFixture, pilManifest } from './helpers/pil-fixtures';

const manifest = pilManifest();

describe('decodeImage equals PIL 9.4', () => {
  for (const kind of ['jpeg', 'png']) {
    const entries = manifest.decoded.filter((e) => e.file.startsWith(`${kind}/`));
    it(`${entries.length} ${kind.toUpperCase()} fixtures, as RGB and as grey`, () => {
      const wrong: string[] = [];
      for (const e of entries) {
        const bytes = fixtureBytes(e.file);
        const rgb = decodeImage(bytes, 'rgb');
        expect([rgb.width, rgb.height, rgb.channels], e.file).toEqual([e.width, e.height, 3]);
        const diff = compareWithPil(rgb.data, e.rgb, e.rgbSha256);
        if (diff) wrong.push(`${e.file} (${e.mode}) RGB: ${diff}`);
        if (e.grey) {
          const greyDiff = compareWithPil(decodeImage(bytes, 'grey').data, e.grey, undefined);
          if (greyDiff) wrong.push(`${e.file} (${e.mode}) grey: ${greyDiff}`);
        }
      }
      expect(wrong).toEqual([]);
    });
  }

  it('the fixtures hold what the issue asks: 30 data-set JPEGs, grey, CMYK, YCCK, progressive, restarts, every PNG colour type', () => {
    const names = manifest.decoded.map((e) => e.file);
    expect(names.filter((f) => /^jpeg\/(cifar10|vehicles|dehaze)-/.test(f))).toHaveLength(30);
    const modes = new Set(manifest.decoded.map((e) => `${e.file.split('/')[0]}:${e.mode}`));
    for (const m of ['jpeg:L', 'jpeg:CMYK', 'jpeg:RGB', 'png:1', 'png:L', 'png:LA', 'png:P', 'png:RGB', 'png:RGBA', 'png:I']) expect(modes).toContain(m);
    for (const f of ['synth-ycck', 'synth-progressive', 'synth-restart-blocks', 'synth-422', 'synth-444', 'synth-rgb-adobe', 'rgb-16bit', 'rgb-interlaced', 'palette-trns']) {
      expect(names.some((n) => n.includes(f)), f).toBe(true);
    }
    expect(manifest.pil).toBe('9.4.0');
    // A stored array really is PIL's: not all zero, the right length.
    const first = manifest.decoded[0];
    const want = gunzipFixture(first.rgb!);
    expect(want.length).toBe(3 * first.width * first.height);
    expect(want.some((v) => v > 0)).toBe(true);
  });
});
