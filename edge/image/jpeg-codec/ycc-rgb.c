// YCbCr planes, as TurboJPEG's raw decode writes them (chroma at its own sampled size), to packed RGB with
// WebAssembly SIMD. The arithmetic is libjpeg's: triangle ("fancy") upsampling of 4:2:0 chroma with its
// rounding biases, then its 16-bit fixed-point JFIF conversion. So a 4:4:4 decode at any scale, and a
// 4:2:0 decode at full size, equal libjpeg-turbo's own RGB output byte for byte (test/unit checks it).
// A 4:2:0 decode at 5/8 or 6/8 differs slightly: there libjpeg enlarges chroma with a 10x10 or 12x12
// IDCT instead, which (with its table-driven conversion) is what this path saves.
#include <stdint.h>
#include <wasm_simd128.h>

#define FIX_1_402 91881
#define FIX_1_772 116130
#define FIX_0_71414 46802
#define FIX_0_34414 22554
#define HALF 32768

static inline uint8_t clamp255(int v) { return v < 0 ? 0 : v > 255 ? 255 : (uint8_t)v; }

static inline void convert_pixel(int y, int cb, int cr, uint8_t *out) {
  int u = cb - 128, w = cr - 128;
  out[0] = clamp255(y + ((FIX_1_402 * w + HALF) >> 16));
  out[1] = clamp255(y + ((-FIX_0_34414 * u + HALF - FIX_0_71414 * w) >> 16));
  out[2] = clamp255(y + ((FIX_1_772 * u + HALF) >> 16));
}

// Four pixels' channel from 32-bit lanes: y + ((k * c + HALF) >> 16).
static inline v128_t channel(v128_t y, v128_t k_term) {
  return wasm_i32x4_add(y, wasm_i32x4_shr(k_term, 16));
}

// 16 pixels: y, cb, cr as bytes -> 48 bytes of RGB.
static inline void convert16(v128_t y8, v128_t cb8, v128_t cr8, uint8_t *out) {
  v128_t rr[4], gg[4], bb[4];
  v128_t y16[2] = {wasm_u16x8_extend_low_u8x16(y8), wasm_u16x8_extend_high_u8x16(y8)};
  v128_t u16[2] = {wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(cb8), wasm_i16x8_splat(128)),
                   wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(cb8), wasm_i16x8_splat(128))};
  v128_t w16[2] = {wasm_i16x8_sub(wasm_u16x8_extend_low_u8x16(cr8), wasm_i16x8_splat(128)),
                   wasm_i16x8_sub(wasm_u16x8_extend_high_u8x16(cr8), wasm_i16x8_splat(128))};
  const v128_t half = wasm_i32x4_splat(HALF);
  for (int q = 0; q < 4; q++) {
    v128_t y = q & 1 ? wasm_i32x4_extend_high_i16x8(y16[q >> 1]) : wasm_i32x4_extend_low_i16x8(y16[q >> 1]);
    v128_t u = q & 1 ? wasm_i32x4_extend_high_i16x8(u16[q >> 1]) : wasm_i32x4_extend_low_i16x8(u16[q >> 1]);
    v128_t w = q & 1 ? wasm_i32x4_extend_high_i16x8(w16[q >> 1]) : wasm_i32x4_extend_low_i16x8(w16[q >> 1]);
    rr[q] = channel(y, wasm_i32x4_add(wasm_i32x4_mul(w, wasm_i32x4_splat(FIX_1_402)), half));
    gg[q] = channel(y, wasm_i32x4_sub(wasm_i32x4_sub(half, wasm_i32x4_mul(u, wasm_i32x4_splat(FIX_0_34414))),
                                      wasm_i32x4_mul(w, wasm_i32x4_splat(FIX_0_71414))));
    bb[q] = channel(y, wasm_i32x4_add(wasm_i32x4_mul(u, wasm_i32x4_splat(FIX_1_772)), half));
  }
  // Saturating narrows clamp to 0..255, as libjpeg's range limit does.
  v128_t r = wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(rr[0], rr[1]), wasm_i16x8_narrow_i32x4(rr[2], rr[3]));
  v128_t g = wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(gg[0], gg[1]), wasm_i16x8_narrow_i32x4(gg[2], gg[3]));
  v128_t b = wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(bb[0], bb[1]), wasm_i16x8_narrow_i32x4(bb[2], bb[3]));
  // Interleave: rg holds r0 g0 r1 g1 ..., then each 16-byte output takes its pairs and blues.
  v128_t rg_lo = wasm_i8x16_shuffle(r, g, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  v128_t rg_hi = wasm_i8x16_shuffle(r, g, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  v128_t o0 = wasm_i8x16_shuffle(rg_lo, b, 0, 1, 16, 2, 3, 17, 4, 5, 18, 6, 7, 19, 8, 9, 20, 10);
  v128_t o1 = wasm_i8x16_shuffle(rg_lo, b, 11, 21, 12, 13, 22, 14, 15, 23, 0, 0, 24, 0, 0, 25, 0, 0);
  o1 = wasm_i8x16_shuffle(o1, rg_hi, 0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 10, 18, 19, 13, 20, 21);
  v128_t o2 = wasm_i8x16_shuffle(rg_hi, b, 26, 6, 7, 27, 8, 9, 28, 10, 11, 29, 12, 13, 30, 14, 15, 31);
  wasm_v128_store(out, o0);
  wasm_v128_store(out + 16, o1);
  wasm_v128_store(out + 32, o2);
}

// One row of 4:2:0 chroma column sums (3 x near row + far row) enlarged 2x horizontally:
// out[2x] = (3 s[x] + s[x-1] + even_bias) >> shift, out[2x+1] = (3 s[x] + s[x+1] + odd_bias) >> shift,
// the row's ends repeated. `s` has one spare
// element on each side (s[-1], s[cw]) and room to read 8 past the end.
static void widen(uint16_t *s, int cw, int even_bias, int odd_bias, int shift, uint8_t *out) {
  s[-1] = s[0];
  s[cw] = s[cw - 1];
  const v128_t eb = wasm_i16x8_splat(even_bias), ob = wasm_i16x8_splat(odd_bias);
  int x = 0;
  for (; x + 8 <= cw; x += 8) {
    v128_t mid = wasm_v128_load(s + x);
    v128_t three = wasm_i16x8_add(wasm_i16x8_shl(mid, 1), mid);
    v128_t even = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(three, wasm_v128_load(s + x - 1)), eb), shift);
    v128_t odd = wasm_u16x8_shr(wasm_i16x8_add(wasm_i16x8_add(three, wasm_v128_load(s + x + 1)), ob), shift);
    v128_t lo = wasm_i16x8_shuffle(even, odd, 0, 8, 1, 9, 2, 10, 3, 11);
    v128_t hi = wasm_i16x8_shuffle(even, odd, 4, 12, 5, 13, 6, 14, 7, 15);
    wasm_v128_store(out + 2 * x, wasm_u8x16_narrow_i16x8(lo, hi));
  }
  for (; x < cw; x++) {
    out[2 * x] = (uint8_t)((3 * s[x] + s[x - 1] + even_bias) >> shift);
    out[2 * x + 1] = (uint8_t)((3 * s[x] + s[x + 1] + odd_bias) >> shift);
  }
}

// One output row's 4:2:0 chroma at full width into `out`: `near` is the chroma row the output row lies in,
// `far` the neighbouring one it leans towards.
static void upsample_row(const uint8_t *near, const uint8_t *far, int cw, uint16_t *sums, uint8_t *out) {
  if (cw <= 2) {  // libjpeg replicates chroma this narrow instead of filtering it
    for (int x = 0; x < 2 * cw; x++) out[x] = near[x >> 1];
    return;
  }
  int x = 0;
  for (; x + 8 <= cw; x += 8) {
    v128_t n = wasm_u16x8_load8x8(near + x), f = wasm_u16x8_load8x8(far + x);
    wasm_v128_store(sums + x, wasm_i16x8_add(wasm_i16x8_add(wasm_i16x8_shl(n, 1), n), f));
  }
  for (; x < cw; x++) sums[x] = (uint16_t)(3 * near[x] + far[x]);
  widen(sums, cw, 8, 7, 4, out);
}

// Bytes of scratch codec_ycc_to_rgb needs for an output `width` pixels wide: two upsampled chroma rows
// and the column sums, each with room for a vector's overrun.
int codec_ycc_scratch_bytes(int width) { return 4 * (width + 64); }

// `half`: 1 for 4:2:0 chroma (half width and height), 0 for 4:4:4 (read where it lies). cw, ch: the chroma
// planes' size; strides in bytes. Returns 0, or -1 when the planes cannot cover the image.
int codec_ycc_to_rgb(const uint8_t *y, int y_stride, const uint8_t *cb, const uint8_t *cr, int c_stride,
                     int cw, int ch, int width, int height, int half, uint8_t *rgb, uint8_t *scratch) {
  int factor = half ? 2 : 1;
  if (width < 1 || height < 1 || cw < 1 || ch < 1 || width > factor * cw || height > factor * ch) return -1;
  uint8_t *ub = scratch, *vb = scratch + width + 64;
  uint16_t *sums = (uint16_t *)(scratch + 2 * (width + 64)) + 8;
  for (int row = 0; row < height; row++) {
    const uint8_t *u = cb + row * c_stride, *v = cr + row * c_stride;
    if (half) {
      int c = row >> 1;
      int far = (row & 1) ? c + 1 : c - 1;
      if (far < 0) far = 0;
      if (far > ch - 1) far = ch - 1;
      upsample_row(cb + c * c_stride, cb + far * c_stride, cw, sums, ub);
      upsample_row(cr + c * c_stride, cr + far * c_stride, cw, sums, vb);
      u = ub;
      v = vb;
    }
    const uint8_t *yr = y + row * y_stride;
    uint8_t *o = rgb + row * width * 3;
    int x = 0;
    for (; x + 16 <= width; x += 16)
      convert16(wasm_v128_load(yr + x), wasm_v128_load(u + x), wasm_v128_load(v + x), o + 3 * x);
    for (; x < width; x++) convert_pixel(yr[x], u[x], v[x], o + 3 * x);
  }
  return 0;
}
