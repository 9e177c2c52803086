/** Decoding one scan of a JPEG into its components' coefficients: baseline and progressive (T.81 F.2, G.1.2). */
import { BitReader, type HuffmanTable } from './jpeg-huffman';

/** Zig-zag position → natural position; 16 extra entries catch corrupt runs past 63, as libjpeg's table does. */
export const NATURAL_ORDER = Int32Array.from([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
  ...new Array<number>(16).fill(63),
]);

/** A frame component: sampling, and its coefficients in blocks of 64 (natural order), MCU-padded. */
export interface JpegComponent {
  id: number;
  h: number;
  v: number;
  quantIndex: number;
  /** Blocks per row and per column as stored (whole MCUs). */
  blocksPerLine: number;
  blocksPerColumn: number;
  /** Blocks that hold image data (a scan of this component alone covers only these). */
  usedBlocksPerLine: number;
  usedBlocksPerColumn: number;
  coefs: Int16Array;
}

export interface ScanComponent {
  component: JpegComponent;
  dc: HuffmanTable | undefined;
  ac: HuffmanTable | undefined;
}

export interface Scan {
  components: ScanComponent[];
  /** Spectral selection and successive approximation (baseline: 0, 63, 0, 0). */
  ss: number;
  se: number;
  ah: number;
  al: number;
  progressive: boolean;
  restartInterval: number;
  mcusPerLine: number;
  mcusPerColumn: number;
}

/** Decodes one block of scan component `i` into coefs at `at`. */
type BlockDecoder = (r: BitReader, sc: ScanComponent, coefs: Int16Array, at: number, i: number) => void;

/** Decodes the scan's entropy-coded data starting at `pos`; returns where the data ended. */
export function decodeScan(data: Uint8Array, pos: number, scan: Scan): number {
  const r = new BitReader(data, pos);
  const preds = new Int32Array(scan.components.length);
  let eobrun = 0;
  const { ss, se, ah, al } = scan;
  const need = (t: HuffmanTable | undefined, kind: string) => {
    if (!t) throw new Error(`JPEG scan uses a ${kind} Huffman table that was never defined`);
    return t;
  };

  const baseline: BlockDecoder = (r, sc, coefs, at, i) => {
    const dc = need(sc.dc, 'DC');
    const ac = need(sc.ac, 'AC');
    const t = r.decode(dc);
    preds[i] += t ? r.signed(t) : 0;
    coefs[at] = preds[i];
    for (let k = 1; k < 64; k++) {
      const rs = r.decode(ac);
      const s = rs & 15;
      const run = rs >> 4;
      if (s) {
        k += run;
        coefs[at + NATURAL_ORDER[k]] = r.signed(s);
      } else {
        if (run !== 15) break;
        k += 15;
      }
    }
  };
  const dcFirst: BlockDecoder = (r, sc, coefs, at, i) => {
    const t = r.decode(need(sc.dc, 'DC'));
    preds[i] += t ? r.signed(t) : 0;
    coefs[at] = preds[i] * (1 << al);
  };
  const dcRefine: BlockDecoder = (r, _sc, coefs, at) => {
    if (r.bit()) coefs[at] |= 1 << al;
  };
  const acFirst: BlockDecoder = (r, sc, coefs, at) => {
    if (eobrun > 0) {
      eobrun--;
      return;
    }
    const ac = need(sc.ac, 'AC');
    for (let k = ss; k <= se; k++) {
      const rs = r.decode(ac);
      const s = rs & 15;
      const run = rs >> 4;
      if (s) {
        k += run;
        coefs[at + NATURAL_ORDER[k]] = r.signed(s) * (1 << al);
      } else if (run === 15) {
        k += 15;
      } else {
        eobrun = (1 << run) - 1;
        if (run) eobrun += r.bits(run);
        break;
      }
    }
  };
  // libjpeg's decode_mcu_AC_refine, step for step: corrections to known coefficients are
  // interleaved with the zero run that leads to the next new one.
  const acRefine: BlockDecoder = (r, sc, coefs, at) => {
    const p1 = 1 << al;
    const m1 = -1 << al;
    const refine = (idx: number) => {
      if (r.bit() && (coefs[idx] & p1) === 0) coefs[idx] += coefs[idx] >= 0 ? p1 : m1;
    };
    let k = ss;
    if (eobrun === 0) {
      const ac = need(sc.ac, 'AC');
      for (; k <= se; k++) {
        const rs = r.decode(ac);
        let s = rs & 15;
        let run = rs >> 4;
        if (s) s = r.bit() ? p1 : m1;
        else if (run !== 15) {
          eobrun = 1 << run;
          if (run) eobrun += r.bits(run);
          break;
        }
        do {
          const idx = at + NATURAL_ORDER[k];
          if (coefs[idx] !== 0) refine(idx);
          else if (--run < 0) break;
          k++;
        } while (k <= se);
        if (s) coefs[at + NATURAL_ORDER[k]] = s;
      }
    }
    if (eobrun > 0) {
      for (; k <= se; k++) {
        const idx = at + NATURAL_ORDER[k];
        if (coefs[idx] !== 0) refine(idx);
      }
      eobrun--;
    }
  };

  const decodeBlock = !scan.progressive ? baseline : ss === 0 ? (ah === 0 ? dcFirst : dcRefine) : ah === 0 ? acFirst : acRefine;
  const single = scan.components.length === 1;
  const only = scan.components[0].component;
  // A scan of one component runs over its own blocks, not whole MCUs.
  const unitsPerLine = single ? only.usedBlocksPerLine : scan.mcusPerLine;
  const units = single ? only.usedBlocksPerLine * only.usedBlocksPerColumn : scan.mcusPerLine * scan.mcusPerColumn;
  const interval = scan.restartInterval || units;
  for (let u = 0; u < units; u++) {
    if (u > 0 && u % interval === 0) {
      r.restart();
      preds.fill(0);
      eobrun = 0;
    }
    const row = Math.floor(u / unitsPerLine);
    const col = u - row * unitsPerLine;
    if (single) {
      decodeBlock(r, scan.components[0], only.coefs, (row * only.blocksPerLine + col) * 64, 0);
      continue;
    }
    scan.components.forEach((sc, i) => {
      const c = sc.component;
      for (let v = 0; v < c.v; v++) {
        for (let h = 0; h < c.h; h++) decodeBlock(r, sc, c.coefs, ((row * c.v + v) * c.blocksPerLine + col * c.h + h) * 64, i);
      }
    });
  }
  return r.pos;
}
