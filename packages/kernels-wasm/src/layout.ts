/**
 * Parameter blocks: a kernel takes one pointer to a block of i32 words in the shared
 * memory. The field list is declared once; the JS writer and the wasm reader both derive
 * their offsets from it.
 */
import { get, i32, type Code, type Local } from './emitter';

export interface Layout<F extends string> {
  readonly fields: readonly F[];
  /** Byte offset of each field. */
  readonly offset: Record<F, number>;
  readonly bytes: number;
  /** Writes values (pointers in bytes, sizes in elements) as i32 words at byte address `at`. */
  write(view: Int32Array, at: number, values: Record<F, number>): void;
  /** The wasm load of one field from the block at `base`. */
  load(base: Local, field: F): Code;
}

export function layout<const F extends string>(fields: readonly F[]): Layout<F> {
  const offset = Object.fromEntries(fields.map((f, i) => [f, i * 4])) as Record<F, number>;
  return {
    fields,
    offset,
    bytes: fields.length * 4,
    write(view, at, values) {
      if (at % 4 !== 0) throw new RangeError(`parameter block at ${at} is not 4-byte aligned`);
      for (const f of fields) {
        const v = values[f];
        if (!Number.isInteger(v) || v < -(2 ** 31) || v >= 2 ** 31) throw new RangeError(`parameter ${f} = ${v} is not an i32`);
        view[at / 4 + offset[f] / 4] = v;
      }
    },
    load: (base, field) => i32.load(get(base), offset[field]),
  };
}
