/**
 * The page of browser-decode.test.ts: webgrad's browser-safe decode path (decodeImage, its
 * JPEG and PNG decoders over fflate, and resizePixels), bundled for a browser with no Node
 * built-in, taking and giving bytes as base64.
 */
import { decodeImage, type Colour } from '../../packages/datasets/src/decode-image';
import { resizePixels, type ResizeFilter } from '../../packages/datasets/src/resize';

const fromBase64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
function toBase64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

export interface PageImage {
  width: number;
  height: number;
  channels: number;
  data: string;
}

const page = {
  decode(file: string, colour: Colour): PageImage {
    const px = decodeImage(fromBase64(file), colour);
    return { ...px, data: toBase64(px.data) };
  },
  decodeAndResize(file: string, colour: Colour, height: number, width: number, filter: ResizeFilter): PageImage {
    const px = resizePixels(decodeImage(fromBase64(file), colour), height, width, filter);
    return { ...px, data: toBase64(px.data) };
  },
  error(file: string): string {
    try {
      decodeImage(fromBase64(file));
      return '';
    } catch (err) {
      return err instanceof Error ? err.message : String(err);
    }
  },
};

export type DecodeGlobal = { decodePage: typeof page };
(globalThis as unknown as DecodeGlobal).decodePage = page;
