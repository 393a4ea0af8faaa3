// The fuzzer's own parts, in process: cases are reproducible from (seed, index), structure-aware
// mutations keep lengths and CRCs valid, and the verdicts follow the project's envelope rules.
// (Here next to fuzz.test.ts, which sends the same cases through workerd.)
import { describe, expect, it } from 'vitest';
import { makeBases } from '../../infra/fuzz/bases.ts';
import { crc, u16be, u32be, u32le } from '../../infra/fuzz/bytes.ts';
import { judge } from '../../infra/fuzz/campaign.ts';
import { makeCase } from '../../infra/fuzz/cases.ts';
import { jpegSegments, pngChunks, riffChunks, sniff } from '../../infra/fuzz/formats.ts';
import { MUTATION_NAMES } from '../../infra/fuzz/mutations.ts';
import { jpegBehindShadowFrame, pngClaiming, webpWithCanvas } from '../../infra/fuzz/reproducers.ts';

const bases = await makeBases();
const base = (name: string) => {
  const found = bases.find((b) => b.name === name);
  if (!found) throw new Error(`no base ${name}`);
  return found;
};

describe('fuzz cases', () => {
  it('every base is a valid image of its type, and APNG carries its animation chunks', () => {
    expect(bases).toHaveLength(13);
    for (const b of bases) expect(sniff(b.bytes), b.name).toBe(b.type);
    const names = pngChunks(base('png-apng').bytes).map((c) => c.name);
    // Consecutive IDATs folded: one default image, then a second frame in fdAT.
    expect(names.filter((n, i) => n !== names[i - 1])).toEqual([
      'IHDR',
      'acTL',
      'fcTL',
      'IDAT',
      'fcTL',
      'fdAT',
      'IEND',
    ]);
  });

  it('case i of seed s is the same bytes every time, and 400 cases use every mutation and base', () => {
    const first = Array.from({ length: 400 }, (_, i) => makeCase(bases, 7, i));
    const again = Array.from({ length: 400 }, (_, i) => makeCase(bases, 7, i));
    expect(again.map((c) => Buffer.from(c.bytes).toString('base64'))).toEqual(
      first.map((c) => Buffer.from(c.bytes).toString('base64')),
    );
    expect(new Set(first.map((c) => c.mutation))).toEqual(new Set(MUTATION_NAMES));
    expect(new Set(first.map((c) => c.base))).toEqual(new Set(bases.map((b) => b.name)));
    expect(makeCase(bases, 8, 0).bytes).not.toEqual(first[0]?.bytes);
  });

  it('rewritten PNG dimensions keep a valid CRC', () => {
    const bytes = pngClaiming(base('png-palette'), 'IHDR', 30000, 20000);
    const ihdr = pngChunks(bytes)[0];
    if (!ihdr) throw new Error('no IHDR');
    expect([u32be(bytes, ihdr.data), u32be(bytes, ihdr.data + 4)]).toEqual([30000, 20000]);
    expect(u32be(bytes, ihdr.end - 4)).toBe(crc(bytes.subarray(ihdr.start + 4, ihdr.end - 4)));
  });

  it('a VP8X canvas wrapped around a frame keeps the RIFF size right', () => {
    const bytes = webpWithCanvas(base('webp-lossy'), 16, 16);
    expect(u32le(bytes, 4)).toBe(bytes.length - 8);
    expect(riffChunks(bytes).map((c) => c.name)).toEqual(['VP8X', 'VP8 ']);
  });

  it('a shadow frame header hides behind FF 00 before the real one', () => {
    const bytes = jpegBehindShadowFrame(base('jpeg-baseline'), 6000, 5000);
    // A walker that reads FF 00 as a segment: its first frame header is the 16x16 shadow.
    const names = jpegSegments(bytes).map((s) => s.name);
    expect(names).toContain('FF0');
    const sof = jpegSegments(bytes).find((s) => s.name === 'FFC0');
    expect(sof && [u16be(bytes, sof.data + 1), u16be(bytes, sof.data + 3)]).toEqual([16, 16]);
  });
});

describe('verdicts', () => {
  const envelope = (code: string) => JSON.stringify({ error: { code, message: 'm', request_id: 'r' } });
  it('accepts 200 with predictions and 4xx envelopes whose code maps to the status', () => {
    expect(judge(200, JSON.stringify({ predictions: [] })).verdict).toBe('ok_200');
    expect(judge(422, envelope('invalid_image')).verdict).toBe('rejected_4xx');
    expect(judge(413, envelope('image_too_large')).verdict).toBe('rejected_4xx');
  });
  it('counts 5xx, a 200 without predictions, raw or mismatched 4xx bodies as errors', () => {
    expect(judge(500, envelope('internal')).verdict).toBe('error_5xx');
    expect(judge(200, 'ok').verdict).toBe('error_5xx');
    expect(judge(400, '{"success":false,"error":{"issues":[]}}').verdict).toBe('bad_4xx');
    expect(judge(400, envelope('invalid_image')).verdict).toBe('bad_4xx');
    expect(judge(413, 'Payload Too Large').verdict).toBe('bad_4xx');
  });
});
