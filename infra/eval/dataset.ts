import { existsSync, readFileSync } from 'node:fs';
import { join, normalize } from 'node:path';
import sharp, { type OutputInfo } from 'sharp';
import type { RgbImage } from '../../shared/preprocess/index.ts';
import { EvalInputError } from './catalog.ts';

// A labelled image folder: <dir>/labels.tsv with a header row and columns file, index (0-999), wnid, name.

export interface LabelledImage {
  readonly file: string;
  readonly label: number;
}

export function readLabels(dir: string, limit?: number): LabelledImage[] {
  const tsv = join(dir, 'labels.tsv');
  if (!existsSync(tsv)) throw new EvalInputError(`no labels.tsv in ${dir}`);
  const lines = readFileSync(tsv, 'utf8')
    .split(/\r?\n/)
    .filter((l) => l.trim() !== '');
  const [header, ...rows] = lines;
  const columns = header?.split('\t') ?? [];
  if (columns[0] !== 'file' || columns[1] !== 'index') {
    throw new EvalInputError(`${tsv}: expected a header "file<TAB>index<TAB>...", got "${header ?? ''}"`);
  }
  const images = rows.map((row, i) => {
    const [file, index] = row.split('\t');
    const label = Number(index);
    if (!file || !Number.isInteger(label) || label < 0 || label > 999) {
      throw new EvalInputError(`${tsv} line ${i + 2}: expected a file and a class index 0-999`);
    }
    // Paths stay inside the data folder.
    if (normalize(file).startsWith('..') || file.startsWith('/')) {
      throw new EvalInputError(`${tsv} line ${i + 2}: image path leaves the data folder: ${file}`);
    }
    return { file: join(dir, file), label };
  });
  if (images.length === 0) throw new EvalInputError(`${tsv} lists no images`);
  const picked = limit === undefined ? images : images.slice(0, limit);
  for (const image of picked)
    if (!existsSync(image.file)) throw new EvalInputError(`image missing: ${image.file}`);
  return picked;
}

/**
 * Decodes to 8-bit RGB the way PIL's Image.open(...).convert('RGB') sees the pixels, except that the EXIF
 * orientation is applied (a phone photo should be classified upright). Embedded ICC profiles are not
 * applied, matching PIL.
 */
export async function decodeImage(file: string): Promise<RgbImage> {
  let decoded: { data: Buffer; info: OutputInfo };
  try {
    decoded = await sharp(file, { failOn: 'error' })
      .autoOrient()
      .toColourspace('srgb')
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (e) {
    throw new EvalInputError(`cannot decode ${file}: ${(e as Error).message}`);
  }
  const { data, info } = decoded;
  if (info.channels !== 3)
    throw new EvalInputError(`${file}: decoded to ${info.channels} channels, expected 3`);
  return {
    width: info.width,
    height: info.height,
    channels: 3,
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
  };
}
