/** Huffman tables and the bit reader of a JPEG's entropy-coded data (ITU T.81 Annex C and F.2.2). */

const LOOKAHEAD = 9;

export interface HuffmanTable {
  /** For the next LOOKAHEAD bits: (code length << 8) | symbol, or 0 when the code is longer. */
  lookup: Uint16Array;
  /** Largest code of each length (index 1..16), -1 when there is none; [17] ends the search. */
  maxcode: Int32Array;
  /** values[code + valoffset[length]] is the symbol of a code of that length. */
  valoffset: Int32Array;
  values: Uint8Array;
}

/** A table from a DHT segment's 16 code counts and its symbols. */
export function buildHuffmanTable(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const lookup = new Uint16Array(1 << LOOKAHEAD);
  const maxcode = new Int32Array(18).fill(-1);
  const valoffset = new Int32Array(18);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    valoffset[len] = k - code;
    for (let i = 0; i < counts[len - 1]; i++, k++, code++) {
      if (len <= LOOKAHEAD) {
        const first = code << (LOOKAHEAD - len);
        lookup.fill((len << 8) | values[k], first, first + (1 << (LOOKAHEAD - len)));
      }
    }
    if (counts[len - 1]) maxcode[len] = code - 1;
    // A complete code of this length would be all ones; more codes than that is no prefix code.
    if (code > 1 << len) throw new Error('bad Huffman table (more codes than a prefix code allows)');
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { lookup, maxcode, valoffset, values };
}

/**
 * Reads bits from entropy-coded data, dropping the 0x00 that follows each stuffed 0xFF. At a
 * marker it stops and feeds zeros, as libjpeg does with data that ends early.
 */
export class BitReader {
  /** Position of the next unread byte. */
  pos: number;
  private buf = 0;
  private count = 0;
  /** Set once a marker stopped the reading. */
  hitMarker = false;

  constructor(private readonly data: Uint8Array, pos: number) {
    this.pos = pos;
  }

  private fill(): void {
    const d = this.data;
    while (this.count <= 24) {
      let byte = 0;
      if (!this.hitMarker && this.pos < d.length) {
        byte = d[this.pos];
        if (byte === 0xff) {
          const next = this.pos + 1 < d.length ? d[this.pos + 1] : 0xd9;
          if (next === 0) this.pos += 2;
          else if (next === 0xff) {
            // Fill bytes before a marker: skip one and look again.
            this.pos++;
            continue;
          } else {
            this.hitMarker = true;
            byte = 0;
          }
        } else this.pos++;
      }
      this.buf = (this.buf << 8) | byte;
      this.count += 8;
    }
  }

  /** The next Huffman-coded symbol; a code that is in no table reads as 0, as libjpeg's does. */
  decode(t: HuffmanTable): number {
    if (this.count < 16) this.fill();
    const entry = t.lookup[(this.buf >>> (this.count - LOOKAHEAD)) & ((1 << LOOKAHEAD) - 1)];
    if (entry) {
      this.count -= entry >> 8;
      return entry & 255;
    }
    let len = LOOKAHEAD + 1;
    let code = (this.buf >>> (this.count - len)) & ((1 << len) - 1);
    while (code > t.maxcode[len]) {
      len++;
      code = (this.buf >>> (this.count - len)) & ((1 << len) - 1);
    }
    if (len > 16) {
      this.count -= 1;
      return 0;
    }
    this.count -= len;
    return t.values[(code + t.valoffset[len]) & 255];
  }

  /** n raw bits (n <= 16) as an unsigned number. */
  bits(n: number): number {
    if (n === 0) return 0;
    if (this.count < n) this.fill();
    this.count -= n;
    return (this.buf >>> this.count) & ((1 << n) - 1);
  }

  bit(): number {
    if (this.count < 1) this.fill();
    this.count--;
    return (this.buf >>> this.count) & 1;
  }

  /** n bits read as a JPEG signed magnitude (F.2.2.1 EXTEND). */
  signed(n: number): number {
    const v = this.bits(n);
    return v < 1 << (n - 1) ? v - (1 << n) + 1 : v;
  }

  /**
   * At a restart interval's end: drop the partial byte and the RSTn marker. A missing marker
   * is searched for (libjpeg resynchronises the same way) so one bad interval stays local.
   */
  restart(): void {
    const d = this.data;
    this.buf = 0;
    this.count = 0;
    this.hitMarker = false;
    let p = this.pos;
    while (p + 1 < d.length && !(d[p] === 0xff && d[p + 1] >= 0xd0 && d[p + 1] <= 0xd7)) {
      if (d[p] === 0xff && d[p + 1] !== 0 && d[p + 1] !== 0xff) break; // another marker: stop here
      p++;
    }
    if (p + 1 < d.length && d[p] === 0xff && d[p + 1] >= 0xd0 && d[p + 1] <= 0xd7) p += 2;
    this.pos = p;
  }
}
