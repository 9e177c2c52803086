/**
 * libjpeg's "slow but accurate" integer inverse DCT (jidctint.c, jpeg_idct_islow), the
 * default of libjpeg-turbo and so of PIL and browsers: the same constants, the same order of
 * operations and the same descaling, so that every sample comes out identical.
 */

const CONST_BITS = 13;
const PASS1_BITS = 2;
// FIX(x) = round(x * 2^13), as jidctint.c spells them out.
const FIX_0_298631336 = 2446;
const FIX_0_390180644 = 3196;
const FIX_0_541196100 = 4433;
const FIX_0_765366865 = 6270;
const FIX_0_899976223 = 7373;
const FIX_1_175875602 = 9633;
const FIX_1_501321110 = 12299;
const FIX_1_847759065 = 15137;
const FIX_1_961570560 = 16069;
const FIX_2_053119869 = 16819;
const FIX_2_562915447 = 20995;
const FIX_3_072711026 = 25172;

/**
 * libjpeg's post-IDCT range limit (jdmaster.c, prepare_range_limit_table), indexed by the
 * descaled value & 1023: values a little out of range clamp to 0 or 255, and wildly out of
 * range values (corrupt data) wrap exactly as libjpeg's do.
 */
const RANGE = (() => {
  const t = new Uint8Array(1024);
  for (let i = 0; i < 1024; i++) t[i] = i < 128 ? i + 128 : i < 512 ? 255 : i < 896 ? 0 : i - 896;
  return t;
})();

const workspace = new Int32Array(64);

/**
 * Dequantizes and inverse-transforms one block of coefficients (natural order) at
 * coefs[offset..offset+63], writing 8×8 samples into out at outOffset with row stride `stride`.
 */
export function idctIslow(coefs: Int16Array, offset: number, quant: Uint16Array, out: Uint8Array, outOffset: number, stride: number): void {
  const ws = workspace;
  // Pass 1: columns from the input into the workspace, scaled up by 2^PASS1_BITS.
  for (let c = 0; c < 8; c++) {
    const i = offset + c;
    if (coefs[i + 8] === 0 && coefs[i + 16] === 0 && coefs[i + 24] === 0 && coefs[i + 32] === 0 && coefs[i + 40] === 0 && coefs[i + 48] === 0 && coefs[i + 56] === 0) {
      const dc = (coefs[i] * quant[c]) << PASS1_BITS;
      for (let r = 0; r < 64; r += 8) ws[c + r] = dc;
      continue;
    }
    let z2 = coefs[i + 16] * quant[c + 16];
    let z3 = coefs[i + 48] * quant[c + 48];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    z2 = coefs[i] * quant[c];
    z3 = coefs[i + 32] * quant[c + 32];
    let tmp0 = (z2 + z3) << CONST_BITS;
    let tmp1 = (z2 - z3) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    tmp0 = coefs[i + 56] * quant[c + 56];
    tmp1 = coefs[i + 40] * quant[c + 40];
    tmp2 = coefs[i + 24] * quant[c + 24];
    tmp3 = coefs[i + 8] * quant[c + 8];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    const half = 1 << (CONST_BITS - PASS1_BITS - 1);
    const shift = CONST_BITS - PASS1_BITS;
    ws[c] = (tmp10 + tmp3 + half) >> shift;
    ws[c + 56] = (tmp10 - tmp3 + half) >> shift;
    ws[c + 8] = (tmp11 + tmp2 + half) >> shift;
    ws[c + 48] = (tmp11 - tmp2 + half) >> shift;
    ws[c + 16] = (tmp12 + tmp1 + half) >> shift;
    ws[c + 40] = (tmp12 - tmp1 + half) >> shift;
    ws[c + 24] = (tmp13 + tmp0 + half) >> shift;
    ws[c + 32] = (tmp13 - tmp0 + half) >> shift;
  }
  // Pass 2: rows from the workspace to samples, removing the 2^PASS1_BITS and the DCT's 8.
  const shift = CONST_BITS + PASS1_BITS + 3;
  const half = 1 << (shift - 1);
  for (let r = 0; r < 64; r += 8) {
    let o = outOffset + (r >> 3) * stride;
    if (ws[r + 1] === 0 && ws[r + 2] === 0 && ws[r + 3] === 0 && ws[r + 4] === 0 && ws[r + 5] === 0 && ws[r + 6] === 0 && ws[r + 7] === 0) {
      const v = RANGE[((ws[r] + (1 << (PASS1_BITS + 2))) >> (PASS1_BITS + 3)) & 1023];
      for (let k = 0; k < 8; k++) out[o++] = v;
      continue;
    }
    let z2 = ws[r + 2];
    let z3 = ws[r + 6];
    let z1 = (z2 + z3) * FIX_0_541196100;
    let tmp2 = z1 + z3 * -FIX_1_847759065;
    let tmp3 = z1 + z2 * FIX_0_765366865;
    let tmp0 = (ws[r] + ws[r + 4]) << CONST_BITS;
    let tmp1 = (ws[r] - ws[r + 4]) << CONST_BITS;
    const tmp10 = tmp0 + tmp3;
    const tmp13 = tmp0 - tmp3;
    const tmp11 = tmp1 + tmp2;
    const tmp12 = tmp1 - tmp2;

    tmp0 = ws[r + 7];
    tmp1 = ws[r + 5];
    tmp2 = ws[r + 3];
    tmp3 = ws[r + 1];
    z1 = tmp0 + tmp3;
    z2 = tmp1 + tmp2;
    z3 = tmp0 + tmp2;
    let z4 = tmp1 + tmp3;
    const z5 = (z3 + z4) * FIX_1_175875602;
    tmp0 *= FIX_0_298631336;
    tmp1 *= FIX_2_053119869;
    tmp2 *= FIX_3_072711026;
    tmp3 *= FIX_1_501321110;
    z1 *= -FIX_0_899976223;
    z2 *= -FIX_2_562915447;
    z3 = z3 * -FIX_1_961570560 + z5;
    z4 = z4 * -FIX_0_390180644 + z5;
    tmp0 += z1 + z3;
    tmp1 += z2 + z4;
    tmp2 += z2 + z3;
    tmp3 += z1 + z4;

    out[o] = RANGE[((tmp10 + tmp3 + half) >> shift) & 1023];
    out[o + 7] = RANGE[((tmp10 - tmp3 + half) >> shift) & 1023];
    out[o + 1] = RANGE[((tmp11 + tmp2 + half) >> shift) & 1023];
    out[o + 6] = RANGE[((tmp11 - tmp2 + half) >> shift) & 1023];
    out[o + 2] = RANGE[((tmp12 + tmp1 + half) >> shift) & 1023];
    out[o + 5] = RANGE[((tmp12 - tmp1 + half) >> shift) & 1023];
    out[o + 3] = RANGE[((tmp13 + tmp0 + half) >> shift) & 1023];
    out[o + 4] = RANGE[((tmp13 - tmp0 + half) >> shift) & 1023];
  }
}
