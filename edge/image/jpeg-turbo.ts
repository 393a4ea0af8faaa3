/// <reference path="./wasm-modules.d.ts" />
import { Replaceable } from './codec-instance.ts';
import { DECODE_BUDGET_BYTES, scaledSide } from './decode-plan.ts';
import turboWasm from './jpeg-turbo.wasm';
import {
  decodeInHeap,
  instantiateTurbo,
  LibjpegError,
  type ScaledJpeg,
  type TurboExports,
} from './turbo-decode.ts';

// TurboJPEG instances for the edge's JPEG decodes (the module and its decode steps: turbo-decode.ts).
// wrangler compiles the module at deploy time; each instance is made from it here.

/** A fresh TurboJPEG instance (benches time its parts with this). */
export const createTurbo = (): TurboExports => instantiateTurbo(turboWasm);
export type { ScaledJpeg, TurboExports };

const turbo = new Replaceable<TurboExports>(createTurbo);

/** Instances created so far (a new one after every failure or large decode). */
export function jpegInstancesCreated(): number {
  return turbo.created;
}

// An upload can be read straight into the heap of a TurboJPEG instance of its own, so the file is held once
// (not once in JavaScript and once more in the codec heap). The instance is used for that upload only and
// is collected with it. Its heap must never grow while the upload is held: growing a WASM memory detaches
// every view of it, and the request keeps the upload (to send it on to the origin, say). So before the
// upload is placed, the heap is grown once by a reserve (malloc, then free: the allocator keeps the space)
// that holds the decode of a baseline phone photo at the edge's reduction (24 MP at 1/4: 4.5 MB of RGB plus
// libjpeg's state); a decode planned to need more (a progressive file's coefficients, say) runs on a copy
// in the shared instance instead, as every decode did before. The reserve is kept small because V8
// accounts a WASM memory at its full length, written or not, so where an isolate's memory is metered it
// may count in full; and it is taken for every JPEG upload as it arrives, before the decode budget is
// asked. The upload's instance then holds about what the shared one grew to for the same decode.

/** Row buffers, tables and libjpeg's state, beyond the output (decode-plan.ts counts the same). */
const LIBJPEG_WORKING_BYTES = 1024 * 1024;

/** Room for a decode beside an upload, within the per-image budget. */
const UPLOAD_RESERVE_BYTES = 8 * 1024 * 1024;

function uploadReserve(length: number): number {
  return Math.max(Math.min(UPLOAD_RESERVE_BYTES, DECODE_BUDGET_BYTES - length), 2 * LIBJPEG_WORKING_BYTES);
}

interface Upload {
  tj: TurboExports;
  start: number;
  length: number;
  /** Heap bytes a decode may take beside the upload. */
  reserve: number;
  /** Set after libjpeg failed in this instance: its allocator is not trusted again. */
  failed: boolean;
}

const uploads = new WeakMap<ArrayBuffer, Upload>();

/**
 * A buffer of `length` bytes inside a fresh TurboJPEG instance's heap, for reading an upload into.
 * A JPEG decoded from (a view of) it is read in place; anything else treats it as ordinary bytes.
 */
export function codecHeapBuffer(length: number): Uint8Array {
  const tj = createTurbo();
  const reserve = uploadReserve(length);
  const whole = tj.malloc(length + reserve);
  if (!whole) throw new LibjpegError('out of codec memory');
  tj.free(whole);
  const start = tj.malloc(Math.max(length, 1));
  if (!start) throw new LibjpegError('out of codec memory');
  uploads.set(tj.memory.buffer, { tj, start, length, reserve, failed: false });
  return new Uint8Array(tj.memory.buffer, start, length);
}

/** Whether `bytes` lie in an upload buffer of codecHeapBuffer() whose instance can still decode them. */
function uploadHolding(bytes: Uint8Array, heapBytes: number): Upload | undefined {
  const upload = uploads.get(bytes.buffer as ArrayBuffer);
  if (!upload || upload.failed || upload.tj.memory.buffer !== bytes.buffer) return undefined;
  const inside =
    bytes.byteOffset >= upload.start && bytes.byteOffset + bytes.byteLength <= upload.start + upload.length;
  const fits = heapBytes <= upload.reserve;
  return inside && fits ? upload : undefined;
}

/**
 * Decodes with DCT scaling at `scaleEighths`/8 (8: full size): each side times that, rounded up.
 * libjpeg reads the header first; its frame size must equal `expected` before the output is allocated.
 * `take` gets a view into the codec's heap, valid only during the call: it makes the one copy the caller
 * keeps (rotated, or plain), so the pixels are not copied twice. Bytes read into codecHeapBuffer() are
 * decoded where they lie when `heapBytes` (what the decode may allocate, from its plan; by default the
 * output and libjpeg's working memory) fits their instance's reserve; other bytes are copied into the
 * shared instance's heap first. `planar` (decided by the plan, decode-plan.ts) lets a 4:2:0 or 4:4:4 file
 * decode to YCbCr planes (turbo-decode.ts); without a plan, libjpeg's RGB output.
 */
export function decodeJpegScaled<T>(
  bytes: Uint8Array,
  expected: { width: number; height: number },
  scaleEighths: number,
  take: (pixels: ScaledJpeg) => T,
  heapBytes?: number,
  planar = false,
): T {
  if (!Number.isInteger(scaleEighths) || scaleEighths < 1 || scaleEighths > 8)
    throw new RangeError(`DCT scaling is M/8 with M = 1..8, not ${scaleEighths}/8`);
  const out = {
    width: scaledSide(expected.width, scaleEighths),
    height: scaledSide(expected.height, scaleEighths),
  };
  const upload = uploadHolding(bytes, heapBytes ?? out.width * out.height * 3 + LIBJPEG_WORKING_BYTES);
  if (upload) {
    const heap = upload.tj.memory.buffer;
    let kept: T;
    try {
      kept = decodeInHeap(upload.tj, bytes.byteOffset, bytes.length, expected, scaleEighths, take, planar);
    } catch (error) {
      upload.failed = true;
      throw error;
    }
    // The reserve makes this unreachable; were it reached, the request would have lost its upload.
    if (upload.tj.memory.buffer !== heap) throw new Error('the codec heap grew under the upload it holds');
    return kept;
  }
  return turbo.run((tj) => {
    const src = tj.malloc(bytes.length);
    if (!src) throw new LibjpegError('out of codec memory');
    new Uint8Array(tj.memory.buffer, src, bytes.length).set(bytes);
    const kept = decodeInHeap(tj, src, bytes.length, expected, scaleEighths, take, planar);
    tj.free(src);
    return kept;
  });
}
