// `npm run classify -- <file|url>… [options]`: classifies image files and image URLs through the typed
// client (shared/client) and prints a table, or JSON with --json. A URL is sent as image_url: the service
// fetches it (and decides which URLs it fetches), not this command. Several images go in batch calls
// (POST /v1/classify/batch, up to 16 each); one image in a plain POST /v1/classify. Exit codes: 0 all
// answered, 1 the API (or the
// network) failed for at least one image, 2 usage error (nothing was sent).
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  type ClassifyParams,
  type ClassifyResponse,
  isBatchError,
  MAX_BATCH_IMAGES,
} from '../../shared/api/classify.ts';
import {
  ApiClientError,
  type ClassifierClient,
  createClient,
  type ImageContentType,
} from '../../shared/client/client.ts';
import { TIERS, type Tier } from '../../shared/policy/tiers.ts';

export const EXIT_OK = 0;
export const EXIT_API_ERROR = 1;
export const EXIT_USAGE = 2;

export const DEFAULT_BASE_URL = 'http://127.0.0.1:8787';

export const USAGE = `usage: npm run -s classify -- <file|url>… [options]
  --tier T        ${TIERS.join(' | ')} (default: the API's, auto)
  --top-k N       predictions per image, 1-20 (default 5)
  --json          print the answers as JSON instead of a table
  --base-url URL  the edge (default $CLASSIFY_BASE_URL or ${DEFAULT_BASE_URL})
  --api-key K     sent as "Authorization: Bearer K" (default $CLASSIFY_API_KEY)
  -h, --help      this text
Images are JPEG, PNG or WebP files, or https URLs that the service fetches.`;

export interface CommandIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: Readonly<Record<string, string | undefined>>;
}

class UsageError extends Error {}
/** A usage error about one file: the message is enough, without the whole usage text. */
class FileError extends UsageError {}

interface Options {
  files: string[];
  params: Partial<ClassifyParams>;
  json: boolean;
  baseUrl: string;
  apiKey: string | undefined;
}

type Outcome =
  | { file: string; response: ClassifyResponse }
  | { file: string; error: { status: number; code: string; message: string; request_id?: string } };

export async function runClassify(argv: readonly string[], io: CommandIo): Promise<number> {
  let options: Options | 'help';
  let images: ImageInput[];
  try {
    options = parseOptions(argv, io.env);
    if (options === 'help') {
      io.stdout(`${USAGE}\n`);
      return EXIT_OK;
    }
    images = await Promise.all(
      options.files.map((arg) => (isUrl(arg) ? { file: arg, url: arg } : readImage(arg))),
    );
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    io.stderr(`classify: ${error.message}\n${error instanceof FileError ? '' : `${USAGE}\n`}`);
    return EXIT_USAGE;
  }

  const client = createClient({
    baseUrl: options.baseUrl,
    ...(options.apiKey ? { apiKey: options.apiKey } : {}),
    fetch: (url, init) => fetch(url, init),
  });
  const outcomes: Outcome[] = [];
  for (let at = 0; at < images.length; at += MAX_BATCH_IMAGES) {
    const chunk = images.slice(at, at + MAX_BATCH_IMAGES);
    outcomes.push(...(await classifyChunk(client, chunk, options)));
  }

  if (options.json) io.stdout(`${JSON.stringify(outcomes, null, 2)}\n`);
  for (const outcome of outcomes) {
    if ('error' in outcome) io.stderr(formatError(outcome));
    else if (!options.json) io.stdout(formatTable(outcome.file, outcome.response));
  }
  return outcomes.some((outcome) => 'error' in outcome) ? EXIT_API_ERROR : EXIT_OK;
}

/** One image: POST /v1/classify. Several: one batch call whose entries answer or fail one by one. */
async function classifyChunk(
  client: ClassifierClient,
  images: readonly ImageInput[],
  options: Options,
): Promise<Outcome[]> {
  try {
    if (images.length === 1) {
      const [image] = images as [ImageInput];
      const response =
        'url' in image
          ? await client.classifyUrl(image.url, options.params)
          : await client.classify(image.bytes, image.type, options.params);
      return [{ file: image.file, response }];
    }
    const batch = await client.classifyBatch(
      images.map((image) =>
        'url' in image ? { imageUrl: image.url } : { image: image.bytes, contentType: image.type },
      ),
      options.params,
    );
    return images.map((image, i): Outcome => {
      const entry = batch.results[i];
      if (!entry)
        return {
          file: image.file,
          error: { status: 0, code: 'invalid_response', message: 'no entry for this image' },
        };
      if (!isBatchError(entry)) return { file: image.file, response: entry };
      const { code, message, request_id } = entry.error;
      return { file: image.file, error: { status: entry.status, code, message, request_id } };
    });
  } catch (error) {
    // The whole call failed: every image of it shares the failure.
    const failure = describeFailure(error, options.baseUrl);
    return images.map((image) => ({ file: image.file, error: failure }));
  }
}

function parseOptions(argv: readonly string[], env: CommandIo['env']): Options | 'help' {
  let parsed: ReturnType<typeof parseWithNode>;
  try {
    parsed = parseWithNode(argv);
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (positionals.length === 0) throw new UsageError('no image given');
  const otherUrl = positionals.find((arg) => /^[a-z][a-z0-9+.-]*:/i.test(arg) && !isUrl(arg));
  if (otherUrl && /^[a-z][a-z0-9+.-]*:\/\//i.test(otherUrl))
    throw new FileError(`${otherUrl}: only http(s) URLs can be classified`);

  const params: Partial<ClassifyParams> = {};
  if (values.tier !== undefined) {
    if (!(TIERS as readonly string[]).includes(values.tier))
      throw new UsageError(`--tier must be one of ${TIERS.join(', ')} (got "${values.tier}")`);
    params.tier = values.tier as Tier;
  }
  if (values['top-k'] !== undefined) {
    const topK = Number(values['top-k']);
    if (!Number.isInteger(topK) || topK < 1 || topK > 20)
      throw new UsageError(`--top-k must be an integer from 1 to 20 (got "${values['top-k']}")`);
    params.top_k = topK;
  }
  const baseUrl = values['base-url'] ?? env.CLASSIFY_BASE_URL ?? DEFAULT_BASE_URL;
  if (!/^https?:\/\/[^/]/i.test(baseUrl) || !URL.canParse(baseUrl))
    throw new UsageError(`--base-url must be an http(s) URL (got "${baseUrl}")`);
  return {
    files: positionals,
    params,
    json: values.json === true,
    baseUrl,
    apiKey: values['api-key'] ?? env.CLASSIFY_API_KEY,
  };
}

function parseWithNode(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      tier: { type: 'string' },
      'top-k': { type: 'string' },
      json: { type: 'boolean' },
      'base-url': { type: 'string' },
      'api-key': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}

type ImageInput =
  | { file: string; bytes: Uint8Array<ArrayBuffer>; type: ImageContentType }
  | { file: string; url: string };

/** An http(s) URL goes to the service as image_url; anything else is a file name. */
function isUrl(arg: string): boolean {
  return /^https?:\/\/[^/]/i.test(arg) && URL.canParse(arg);
}

async function readImage(file: string): Promise<ImageInput> {
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = new Uint8Array(await readFile(file));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new FileError(`${file}: no such file`);
    if (code === 'EISDIR') throw new FileError(`${file}: is a directory`);
    throw new FileError(`${file}: cannot read (${code ?? String(error)})`);
  }
  const type = sniffImageType(bytes);
  if (!type) throw new FileError(`${file}: not a JPEG, PNG or WebP image`);
  return { file, bytes, type };
}

/** By magic bytes, as the edge checks them; the file name's extension is not trusted. */
export function sniffImageType(bytes: Uint8Array): ImageContentType | undefined {
  const at = (offset: number, ...expected: number[]) => expected.every((b, i) => bytes[offset + i] === b);
  if (at(0, 0xff, 0xd8, 0xff)) return 'image/jpeg';
  if (at(0, 0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a)) return 'image/png';
  if (at(0, 0x52, 0x49, 0x46, 0x46) && at(8, 0x57, 0x45, 0x42, 0x50)) return 'image/webp';
  return undefined;
}

function describeFailure(error: unknown, baseUrl: string): Extract<Outcome, { error: unknown }>['error'] {
  if (error instanceof ApiClientError) {
    return {
      status: error.status,
      code: error.code,
      message: error.message,
      ...(error.requestId ? { request_id: error.requestId } : {}),
    };
  }
  // fetch() rejects with a TypeError whose cause names the socket error (ECONNREFUSED, ENOTFOUND…).
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : '';
  const message = error instanceof Error ? error.message : String(error);
  return { status: 0, code: 'network_error', message: `cannot reach ${baseUrl}: ${cause || message}` };
}

function formatError(outcome: Extract<Outcome, { error: unknown }>): string {
  const { status, code, message, request_id } = outcome.error;
  const details = [
    status ? `HTTP ${status}` : 'no response',
    ...(request_id ? [`request ${request_id}`] : []),
  ];
  return `${outcome.file}: error ${code}: ${message} (${details.join(', ')})\n`;
}

const BAR_WIDTH = 20;

export function formatTable(file: string, response: ClassifyResponse): string {
  const t = response.timings_ms;
  const lines = [
    `${file}: ${response.model} (tier ${response.tier}, ${explain(response)})`,
    `  timings ms: decode ${t.decode}, preprocess ${t.preprocess}, inference ${t.inference}, total ${t.total}`,
  ];
  if (response.weights === 'untrained') lines.push('  untrained weights: the labels are meaningless');
  const width = Math.max(5, ...response.predictions.map((p) => p.label.length));
  response.predictions.forEach((p, i) => {
    const bar = '#'.repeat(Math.round(p.score * BAR_WIDTH)).padEnd(BAR_WIDTH, '.');
    lines.push(
      `  ${String(i + 1).padStart(2)}. ${p.label.padEnd(width)}  ${(p.score * 100).toFixed(1).padStart(5)}%  ${bar}`,
    );
  });
  lines.push(`  request ${response.request_id}`);
  return `${lines.join('\n')}\n`;
}

function explain(response: ClassifyResponse): string {
  const edge = response.edge;
  if (response.degraded) return `degraded: ${response.degraded_reason ?? 'origin unavailable'}`;
  if (response.escalated && edge) return `escalated from ${edge.model}, top-1 ${edge.top1_score.toFixed(3)}`;
  if (edge) return `${edge.model} was confident, top-1 ${edge.top1_score.toFixed(3)}`;
  return response.tier === 'fast' || response.tier === 'balanced' ? 'edge' : 'origin';
}
