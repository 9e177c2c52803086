/**
 * For tools/compare-with-pil.py: reads lines "path<TAB>width<TAB>height" on stdin and writes,
 * per line, the SHA-256 of webgrad's RGB decode of the file and of its bilinear resize to
 * width×height (or an error line), so the two can be compared with PIL's without moving pixels.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { decodeImage, resizePixels } from '@webgrad/datasets';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const [path, w, h] = line.split('\t');
  try {
    const px = decodeImage(readFileSync(path));
    process.stdout.write(`${sha(px.data)}\t${sha(resizePixels(px, Number(h), Number(w), 'bilinear').data)}\n`);
  } catch (err) {
    process.stdout.write(`error\t${(err instanceof Error ? err.message : String(err)).replace(/\s+/g, ' ')}\n`);
  }
}
