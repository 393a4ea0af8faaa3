/* Included before every libjpeg-turbo source (infra/wasm/build-jpeg.sh). libjpeg reports errors by longjmp:
   here longjmp is an import that throws in JavaScript, unwinding the WASM frames, and setjmp always
   returns 0. An instance that threw is never used again (edge/image/jpeg-turbo.ts). */
#include <setjmp.h>
#undef setjmp
#undef longjmp
int codec_setjmp(void *env);
_Noreturn void codec_longjmp(void *env, int value);
#define setjmp(env) codec_setjmp(env)
#define longjmp(env, value) codec_longjmp(env, value)
