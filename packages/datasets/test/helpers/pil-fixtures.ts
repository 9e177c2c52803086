import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

/** test/fixtures/pil: images and PIL 9.4's pixels for them (made by make_pil_fixtures.py there). */
export const PIL_FIXTURES = join(import.meta.dirname, '..', 'fixtures', 'pil');

export interface DecodedFixture {
  file: string;
  /** The mode PIL opens the file in (RGB, L, CMYK, P, I, ...). */
  mode: string;
  width: number;
  height: number;
  /** PIL's convert('RGB') bytes, gzip'd, or for large images their SHA-256. */
  rgb?: string;
  rgbSha256?: string;
  /** PIL's convert('L') bytes, gzip'd, for some files. */
  grey?: string;
}

export interface ResizedFixture {
  filter: 'bilinear' | 'nearest';
  colour: 'rgb' | 'grey';
  width: number;
  height: number;
  sourceWidth: number;
  sourceHeight: number;
  /** The decoded fixture resized, or (sourceRgb) raw RGB bytes stored with the fixtures. */
  source?: string;
  sourceRgb?: string;
  /** PIL's resize, gzip'd, or for large images its SHA-256. */
  file?: string;
  sha256?: string;
}

export interface PilManifest {
  pil: string;
  decoded: DecodedFixture[];
  resized: ResizedFixture[];
}

export const pilManifest = (): PilManifest => JSON.parse(readFileSync(join(PIL_FIXTURES, 'manifest.json'), 'utf8')) as PilManifest;
export const fixtureBytes = (rel: string): Uint8Array => new Uint8Array(readFileSync(join(PIL_FIXTURES, rel)));
export const gunzipFixture = (rel: string): Uint8Array => new Uint8Array(gunzipSync(readFileSync(join(PIL_FIXTURES, rel))));
export const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** How two byte arrays differ: '' when equal, else the count of differing values and the largest difference. */
export function difference(got: Uint8Array, want: Uint8Array): string {
  if (got.length !== want.length) return `${got.length} values, PIL has ${want.length}`;
  let count = 0;
  let max = 0;
  for (let i = 0; i < got.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (d) {
      count++;
      max = Math.max(max, d);
    }
  }
  return count ? `${count} of ${got.length} values differ, by up to ${max}` : '';
}

/** Compares with PIL's stored bytes, or with the SHA-256 of PIL's bytes; '' when identical. */
export function compareWithPil(got: Uint8Array, stored: string | undefined, hash: string | undefined): string {
  if (stored) return difference(got, gunzipFixture(stored));
  return sha256(got) === hash ? '' : 'differs from PIL (SHA-256 of the bytes; tools/compare-with-pil.py shows where)';
}
