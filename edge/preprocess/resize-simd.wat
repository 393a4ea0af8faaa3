;; The two passes of the separable 8-bit resize (shared/preprocess/resample.ts) in WebAssembly SIMD.
;; The arithmetic is the reference's: i32 sums starting at 1 << 21, fixed-point weights (22 fractional
;; bits) computed by the caller with shared/preprocess/kernels.ts, an arithmetic shift right by 22, then
;; a clip to 0..255 (the saturating narrows i32 -> i16 -> u8 clip exactly like that). Integer sums in any
;; order are the same sums, so the bytes equal the reference's.
;;
;; The caller lays everything out in this memory and grows it. Every vector load may read up to 15 bytes
;; past the data it needs, and the vertical pass writes up to 15 bytes past its output: the caller pads
;; each buffer by 16 bytes.
(module
  (memory (export "memory") 1)

;; Horizontal pass over interleaved pixels of `ch` (3 or 4) bytes, two source rows at a time, two taps
  ;; at a time. i32x4.dot_i16x8_s multiplies 16-bit lanes, and a 22-bit weight does not fit one, so each
  ;; weight w is split into w >> 11 and w & 2047 (both fit); the two partial sums, the first shifted left
  ;; by 11 and added to the second, give the sum of the pixels times w exactly (the total fits in i32, so
  ;; wrapping arithmetic cannot change it). Two neighbouring source pixels are loaded together and
  ;; `mask` (i8x16.swizzle; indices of 16 and up give zero) spreads their bytes into 16-bit lanes
  ;; r0 r1 g0 g1 b0 b1 0 0, so each dot lane is one channel's two products.
  ;; `first` holds each output pixel's first source byte within a row (i32), `pairs` its tap pairs (i32),
  ;; `weights` `pairStride` bytes per output pixel: per pair, an i32 of the two high halves (16 bits each,
  ;; first tap low) and one of the two low halves. Output: `rows` rows of `width` RGB pixels, packed.
  (func (export "horizontal")
    (param $src i32) (param $stride i32) (param $ch i32) (param $rows i32) (param $width i32)
    (param $pairStride i32) (param $first i32) (param $pairs i32) (param $weights i32) (param $mask i32)
    (param $out i32)
    (local $y i32) (local $x i32) (local $row i32) (local $next i32) (local $o i32) (local $o2 i32)
    (local $s i32) (local $wp i32) (local $wEnd i32) (local $outStride i32) (local $step i32)
    (local $hi v128) (local $lo v128) (local $hi2 v128) (local $lo2 v128) (local $wh v128) (local $wl v128)
    (local $px v128) (local $px2 v128) (local $spread v128)
    (local.set $outStride (i32.mul (local.get $width) (i32.const 3)))
    (local.set $step (i32.shl (local.get $ch) (i32.const 1)))
    (local.set $spread (v128.load (local.get $mask)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_s (local.get $y) (local.get $rows)))
        (local.set $row (i32.add (local.get $src) (i32.mul (local.get $y) (local.get $stride))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $y) (local.get $outStride))))
        ;; The last row of an odd count is computed twice and stored twice in the same place.
        (if (i32.lt_s (i32.add (local.get $y) (i32.const 1)) (local.get $rows))
          (then
            (local.set $next (local.get $stride))
            (local.set $o2 (i32.add (local.get $o) (local.get $outStride))))
          (else
            (local.set $next (i32.const 0))
            (local.set $o2 (local.get $o))))
        (local.set $x (i32.const 0))
        (block $pixelsDone
          (loop $pixelLoop
            (br_if $pixelsDone (i32.ge_s (local.get $x) (local.get $width)))
            (local.set $s (i32.add (local.get $row)
              (i32.load (i32.add (local.get $first) (i32.shl (local.get $x) (i32.const 2))))))
            (local.set $wp (i32.add (local.get $weights) (i32.mul (local.get $x) (local.get $pairStride))))
            (local.set $wEnd (i32.add (local.get $wp) (i32.shl
              (i32.load (i32.add (local.get $pairs) (i32.shl (local.get $x) (i32.const 2))))
              (i32.const 3))))
            (local.set $hi (v128.const i32x4 0 0 0 0))
            (local.set $lo (v128.const i32x4 0 0 0 0))
            (local.set $hi2 (v128.const i32x4 0 0 0 0))
            (local.set $lo2 (v128.const i32x4 0 0 0 0))
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $wp) (local.get $wEnd)))
                (local.set $wh (v128.load32_splat (local.get $wp)))
                (local.set $wl (v128.load32_splat offset=4 (local.get $wp)))
                (local.set $px (i8x16.swizzle (v128.load64_zero (local.get $s)) (local.get $spread)))
                (local.set $px2 (i8x16.swizzle
                  (v128.load64_zero (i32.add (local.get $s) (local.get $next))) (local.get $spread)))
                (local.set $hi (i32x4.add (local.get $hi) (i32x4.dot_i16x8_s (local.get $px) (local.get $wh))))
                (local.set $lo (i32x4.add (local.get $lo) (i32x4.dot_i16x8_s (local.get $px) (local.get $wl))))
                (local.set $hi2 (i32x4.add (local.get $hi2) (i32x4.dot_i16x8_s (local.get $px2) (local.get $wh))))
                (local.set $lo2 (i32x4.add (local.get $lo2) (i32x4.dot_i16x8_s (local.get $px2) (local.get $wl))))
                (local.set $s (i32.add (local.get $s) (local.get $step)))
                (local.set $wp (i32.add (local.get $wp) (i32.const 8)))
                (br $tapLoop)))
            ;; (hi << 11) + lo + (1 << 21), shifted right by 22; row y in bytes 0-2, row y + 1 in bytes 4-6.
            (local.set $px (i8x16.narrow_i16x8_u
              (i16x8.narrow_i32x4_s
                (i32x4.shr_s (i32x4.add (i32x4.add (i32x4.shl (local.get $hi) (i32.const 11)) (local.get $lo))
                  (v128.const i32x4 0x200000 0x200000 0x200000 0x200000)) (i32.const 22))
                (i32x4.shr_s (i32x4.add (i32x4.add (i32x4.shl (local.get $hi2) (i32.const 11)) (local.get $lo2))
                  (v128.const i32x4 0x200000 0x200000 0x200000 0x200000)) (i32.const 22)))
              (local.get $hi)))
            ;; Exactly three bytes per pixel, so that no store reaches into a pixel already written.
            (v128.store16_lane 0 (local.get $o) (local.get $px))
            (v128.store8_lane offset=2 2 (local.get $o) (local.get $px))
            (v128.store16_lane 2 (local.get $o2) (local.get $px))
            (v128.store8_lane offset=2 6 (local.get $o2) (local.get $px))
            (local.set $o (i32.add (local.get $o) (i32.const 3)))
            (local.set $o2 (i32.add (local.get $o2) (i32.const 3)))
            (local.set $x (i32.add (local.get $x) (i32.const 1)))
            (br $pixelLoop)))
        (local.set $y (i32.add (local.get $y) (i32.const 2)))
        (br $rowLoop))))

  ;; Vertical pass: each output row sums whole source rows (`stride` bytes each, from `rows`), 16 bytes at a
  ;; time in four i32x4 sums. `start` holds each output row's first source row (relative to `rows`),
  ;; `count` its taps, `weights` `size` i32 weights per output row. Output: `height` rows of `stride` bytes.
  (func (export "vertical")
    (param $rows i32) (param $stride i32) (param $height i32) (param $size i32) (param $start i32)
    (param $count i32) (param $weights i32) (param $out i32)
    (local $y i32) (local $i i32) (local $base i32) (local $wFirst i32) (local $wEnd i32) (local $wp i32)
    (local $p i32) (local $o i32) (local $kStride i32)
    (local $a0 v128) (local $a1 v128) (local $a2 v128) (local $a3 v128) (local $w v128) (local $v v128)
    (local $lo v128) (local $hi v128)
    (local.set $kStride (i32.shl (local.get $size) (i32.const 2)))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_s (local.get $y) (local.get $height)))
        (local.set $base (i32.add (local.get $rows) (i32.mul (local.get $stride)
          (i32.load (i32.add (local.get $start) (i32.shl (local.get $y) (i32.const 2)))))))
        (local.set $wFirst (i32.add (local.get $weights) (i32.mul (local.get $y) (local.get $kStride))))
        (local.set $wEnd (i32.add (local.get $wFirst) (i32.shl
          (i32.load (i32.add (local.get $count) (i32.shl (local.get $y) (i32.const 2))))
          (i32.const 2))))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $y) (local.get $stride))))
        (local.set $i (i32.const 0))
        (block $chunksDone
          (loop $chunkLoop
            (br_if $chunksDone (i32.ge_s (local.get $i) (local.get $stride)))
            (local.set $a0 (v128.const i32x4 0x200000 0x200000 0x200000 0x200000))
            (local.set $a1 (local.get $a0))
            (local.set $a2 (local.get $a0))
            (local.set $a3 (local.get $a0))
            (local.set $p (i32.add (local.get $base) (local.get $i)))
            (local.set $wp (local.get $wFirst))
            (block $tapsDone
              (loop $tapLoop
                (br_if $tapsDone (i32.ge_u (local.get $wp) (local.get $wEnd)))
                (local.set $w (v128.load32_splat (local.get $wp)))
                (local.set $v (v128.load (local.get $p)))
                (local.set $lo (i16x8.extend_low_i8x16_u (local.get $v)))
                (local.set $hi (i16x8.extend_high_i8x16_u (local.get $v)))
                (local.set $a0 (i32x4.add (local.get $a0)
                  (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $lo)) (local.get $w))))
                (local.set $a1 (i32x4.add (local.get $a1)
                  (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $lo)) (local.get $w))))
                (local.set $a2 (i32x4.add (local.get $a2)
                  (i32x4.mul (i32x4.extend_low_i16x8_u (local.get $hi)) (local.get $w))))
                (local.set $a3 (i32x4.add (local.get $a3)
                  (i32x4.mul (i32x4.extend_high_i16x8_u (local.get $hi)) (local.get $w))))
                (local.set $p (i32.add (local.get $p) (local.get $stride)))
                (local.set $wp (i32.add (local.get $wp) (i32.const 4)))
                (br $tapLoop)))
            (v128.store (i32.add (local.get $o) (local.get $i))
              (i8x16.narrow_i16x8_u
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a0) (i32.const 22))
                  (i32x4.shr_s (local.get $a1) (i32.const 22)))
                (i16x8.narrow_i32x4_s
                  (i32x4.shr_s (local.get $a2) (i32.const 22))
                  (i32x4.shr_s (local.get $a3) (i32.const 22)))))
            (local.set $i (i32.add (local.get $i) (i32.const 16)))
            (br $chunkLoop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop))))

  ;; Normalise: each byte of the `width` x `height` RGB window at `pixels` becomes its channel's float32 from
  ;; `tables` (three 256-entry tables, shared/preprocess/normalize.ts), stored planar: a row's first value
  ;; at `out` + row * `rowBytes`, the green and blue planes `planeBytes` and twice that further on.
  (func (export "normalize")
    (param $pixels i32) (param $width i32) (param $height i32) (param $tables i32) (param $out i32)
    (param $rowBytes i32) (param $planeBytes i32)
    (local $y i32) (local $p i32) (local $pEnd i32) (local $o i32) (local $plane2 i32)
    (local.set $plane2 (i32.shl (local.get $planeBytes) (i32.const 1)))
    (local.set $p (local.get $pixels))
    (block $rowsDone
      (loop $rowLoop
        (br_if $rowsDone (i32.ge_s (local.get $y) (local.get $height)))
        (local.set $o (i32.add (local.get $out) (i32.mul (local.get $y) (local.get $rowBytes))))
        (local.set $pEnd (i32.add (local.get $p) (i32.mul (local.get $width) (i32.const 3))))
        (block $pixelsDone
          (loop $pixelLoop
            (br_if $pixelsDone (i32.ge_u (local.get $p) (local.get $pEnd)))
            (f32.store (local.get $o)
              (f32.load (i32.add (local.get $tables) (i32.shl (i32.load8_u (local.get $p)) (i32.const 2)))))
            (f32.store (i32.add (local.get $o) (local.get $planeBytes))
              (f32.load offset=1024
                (i32.add (local.get $tables) (i32.shl (i32.load8_u offset=1 (local.get $p)) (i32.const 2)))))
            (f32.store (i32.add (local.get $o) (local.get $plane2))
              (f32.load offset=2048
                (i32.add (local.get $tables) (i32.shl (i32.load8_u offset=2 (local.get $p)) (i32.const 2)))))
            (local.set $p (i32.add (local.get $p) (i32.const 3)))
            (local.set $o (i32.add (local.get $o) (i32.const 4)))
            (br $pixelLoop)))
        (local.set $y (i32.add (local.get $y) (i32.const 1)))
        (br $rowLoop))))
)
