#!/bin/bash
# Builds edge/image/jpeg-turbo.wasm: libjpeg-turbo's TurboJPEG decoder plus edge/image/jpeg-codec/ycc-rgb.c,
# as one standalone WebAssembly module the Worker imports. Needs Emscripten (Debian: apt-get install
# emscripten) and a libjpeg-turbo source tree; the committed .wasm was built from tag 3.1.4.1 with
# Debian's emscripten 3.1.6.
#
#   git clone --depth 1 --branch 3.1.4.1 https://github.com/libjpeg-turbo/libjpeg-turbo /tmp/libjpeg-turbo
#   npm run build:jpeg -- /tmp/libjpeg-turbo
#
# The same source and toolchain give the same bytes (checked twice).
#
# libjpeg reports errors with longjmp; sjlj.h turns setjmp/longjmp into two imports (setjmp returns 0,
# longjmp throws in JavaScript), so no Emscripten JavaScript glue is needed. An instance that threw is
# never used again (edge/image/jpeg-turbo.ts).
set -euo pipefail
src=${1:?usage: build-jpeg.sh LIBJPEG_TURBO_SOURCE_DIR}
src=$(cd "$src" && pwd)
root=$(cd "$(dirname "$0")/../.." && pwd)
codec="$root/edge/image/jpeg-codec"
version=$(sed -n 's/^set(VERSION \([0-9.]*\)).*/\1/p' "$src/CMakeLists.txt")
[ "$version" = 3.1.4.1 ] || echo "warning: libjpeg-turbo $version, the committed build is 3.1.4.1" >&2
command -v emcc >/dev/null || { echo "emcc not found: apt-get install emscripten" >&2; exit 1; }

build=$(mktemp -d)
trap 'rm -rf "$build"' EXIT
cd "$build"
emcmake cmake "$src" -DWITH_SIMD=0 -DENABLE_SHARED=0 -DENABLE_STATIC=1 -DWITH_TURBOJPEG=1 \
  -DCMAKE_BUILD_TYPE=Release -DCMAKE_C_FLAGS_RELEASE="-O3 -include $codec/sjlj.h" >cmake.log 2>&1 || { cat cmake.log; exit 1; }
# CMake's size_t probe fails under Emscripten's toolchain file; wasm32's size_t is 4 bytes.
sed -i 's/#define SIZEOF_SIZE_T .*/#define SIZEOF_SIZE_T  4/' jconfigint.h
emmake make -j"$(nproc)" turbojpeg-static >make.log 2>&1 || { tail -40 make.log; exit 1; }
emcc -O3 -msimd128 -c "$codec/ycc-rgb.c" -o ycc-rgb.o
exports=_malloc,_free,_tjInitDecompress,_tjDestroy,_tjDecompressHeader3,_tjDecompress2
exports=$exports,_tjDecompressToYUVPlanes,_tjPlaneWidth,_tjPlaneHeight,_codec_ycc_to_rgb,_codec_ycc_scratch_bytes
# The imports left undefined (codec_setjmp, codec_longjmp, a few WASI calls) are given by turbo-decode.ts.
# Memory starts at 1 MiB (Emscripten's default is 16 MiB, and an upload gets an instance of its own; V8
# accounts a memory at its full length) and grows on demand. The 512 KiB stack is many times what libjpeg
# uses, and sits first in memory, so an overflow traps instead of overwriting static data.
emcc -O3 -msimd128 libturbojpeg.a ycc-rgb.o -o "$root/edge/image/jpeg-turbo.wasm" --no-entry \
  -sSTANDALONE_WASM=1 -sALLOW_MEMORY_GROWTH=1 -sFILESYSTEM=0 -sERROR_ON_UNDEFINED_SYMBOLS=0 \
  -sINITIAL_MEMORY=1MB -sTOTAL_STACK=512KB -Wl,--stack-first \
  -sEXPORTED_FUNCTIONS="$exports" 2> >(grep -v 'undefined symbol: codec_' >&2)
ls -l "$root/edge/image/jpeg-turbo.wasm"
