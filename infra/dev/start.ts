// `npm start`: the whole product on one machine. Builds missing models, starts the GPU origin (on CPU when
// there is no GPU) and the edge Worker in local workerd with R2 filled, waits for both, prints the URLs.
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { unstable_startWorker } from 'wrangler';
import { MODEL_IDS, type ModelId } from '../../shared/catalog/models.ts';
import { PROFILE_RUNTIMES } from '../../shared/catalog/profile.ts';
import { REPO_ROOT } from '../models/build.ts';
import { ensureModels, type WantedModel, type WeightsPreference } from './ensure-models.ts';
import { fillLocalStorage, type ProfileFile } from './local-r2.ts';
import { spawnOrigin, waitForOrigin } from './origin-process.ts';

const log = (line: string) => console.log(`[start] ${line}`);

const EDGE_MODELS: WantedModel[] = [
  { id: 'efficientnet-b0', split: true, optimize: true },
  { id: 'efficientnet-b1', split: true, optimize: true },
];
/** The origin serves any of B2-B7; locally B5 and B7 unless ORIGIN_VARIANTS (e.g. b2,b3,b4,b5,b6,b7) says. */
const DEFAULT_ORIGIN_VARIANTS = 'b5,b7';
const ORIGIN_READY_TIMEOUT_MS = 10 * 60_000;

/** Set once spawned, so that a failed start does not leave the origin running. */
let originProcess: ChildProcess | undefined;

function port(name: string, fallback: number): number {
  const raw = process.env[name];
  const value = raw ? Number(raw) : fallback;
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    console.error(`[start] ${name} must be a port number, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return value;
}

function originModels(): WantedModel[] {
  const raw = process.env.ORIGIN_VARIANTS || DEFAULT_ORIGIN_VARIANTS;
  const ids = raw.split(',').map((v) => `efficientnet-${v.trim().toLowerCase()}`);
  const edge = new Set(EDGE_MODELS.map((m) => m.id));
  const bad = ids.filter((id) => !(MODEL_IDS as readonly string[]).includes(id) || edge.has(id as ModelId));
  if (bad.length > 0 || ids.length === 0) {
    console.error(
      `[start] ORIGIN_VARIANTS must list origin variants among b2..b7, got ${JSON.stringify(raw)}`,
    );
    process.exit(2);
  }
  return [...new Set(ids)].map((id) => ({ id: id as ModelId, split: false }));
}

/** profiles/<runtime>.json as `npm run profile` writes them; deployed with the models when present. */
function measuredProfiles(): ProfileFile[] {
  return PROFILE_RUNTIMES.map((runtime) => ({
    runtime,
    file: path.join(REPO_ROOT, 'profiles', `${runtime}.json`),
  })).filter((profile) => existsSync(profile.file));
}

function weightsPreference(): WeightsPreference {
  const raw = process.env.MODELS_WEIGHTS ?? 'auto';
  if (raw === 'auto' || raw === 'pretrained' || raw === 'random') return raw;
  console.error(`[start] MODELS_WEIGHTS must be auto, pretrained or random, got ${JSON.stringify(raw)}`);
  process.exit(2);
}

async function main(): Promise<void> {
  const edgePort = port('EDGE_PORT', 8787);
  const originPort = port('ORIGIN_PORT', 8788);
  const modelsDir = path.resolve(process.env.MODELS_DIR ?? path.join(REPO_ROOT, 'models'));
  const ORIGIN_MODELS = originModels();
  const profiles = measuredProfiles();
  const originProfile = profiles.find((p) => p.runtime === 'origin');

  const models = await ensureModels(modelsDir, [...EDGE_MODELS, ...ORIGIN_MODELS], weightsPreference(), log);
  const untrained = models.filter((m) => m.weights === 'untrained').map((m) => m.id);

  // A fresh signing secret per start: only this edge can call this origin.
  const keyId = 'local';
  const secret = randomBytes(32).toString('hex');

  const origin = spawnOrigin({
    port: originPort,
    modelsDir,
    models: ORIGIN_MODELS.map((m) => m.id),
    // Signed even locally (never ORIGIN_ALLOW_UNSIGNED): the edge gets the secret as a hidden binding.
    hmacKeys: `${keyId}:${secret}`,
    // Its latencies and best batches; models the profile lacks are timed at warm-up.
    ...(originProfile && !process.env.ORIGIN_PROFILE ? { env: { ORIGIN_PROFILE: originProfile.file } } : {}),
    output: 'inherit',
  });
  originProcess = origin;
  const originUrl = `http://127.0.0.1:${originPort}`;
  let worker: Awaited<ReturnType<typeof unstable_startWorker>> | undefined;

  let stopping = false;
  const stop = async (code: number) => {
    if (stopping) return;
    stopping = true;
    log('stopping…');
    await worker?.dispose().catch(() => undefined);
    if (origin.exitCode === null) {
      origin.kill('SIGTERM');
      await new Promise((resolve) => origin.once('exit', resolve));
    }
    process.exit(code);
  };
  process.on('SIGINT', () => void stop(0));
  process.on('SIGTERM', () => void stop(0));
  origin.on('exit', (code) => {
    if (!stopping) {
      console.error(`[start] the origin exited unexpectedly (code ${code})`);
      void stop(1);
    }
  });

  log(`waiting for the origin to load and warm up ${ORIGIN_MODELS.map((m) => m.id).join(', ')}…`);
  await waitForOrigin(originUrl, origin, ORIGIN_READY_TIMEOUT_MS);

  const persist = path.join(REPO_ROOT, '.wrangler', 'state');
  await fillLocalStorage(persist, {
    models: models.filter((m) => EDGE_MODELS.some((e) => e.id === m.id)),
    // The origin's model.json only: its weights checksums key the edge's cached origin answers.
    manifests: models.filter((m) => ORIGIN_MODELS.some((o) => o.id === m.id)),
    profiles,
  });
  log(
    profiles.length > 0
      ? `measured profiles in local R2: ${profiles.map((p) => path.relative(REPO_ROOT, p.file)).join(', ')}`
      : 'no profiles/*.json: /v1/models reports no latencies (`npm run profile -- --json --runtime edge` makes one)',
  );
  process.env.CLOUDFLARE_CF_FETCH_ENABLED ??= 'false';
  process.env.WRANGLER_SEND_METRICS ??= 'false';
  worker = await unstable_startWorker({
    config: path.join(REPO_ROOT, 'wrangler.toml'),
    bindings: {
      ORIGIN_URL: { type: 'plain_text', value: originUrl },
      ORIGIN_KEY_ID: { type: 'plain_text', value: keyId },
      // A secret binding, so wrangler's binding table shows "(hidden)" instead of its first characters.
      ORIGIN_SECRET: { type: 'secret_text', value: secret },
      // Development only: no API keys locally. Deployments fail closed without them.
      ALLOW_OPEN_API: { type: 'plain_text', value: '1' },
    },
    dev: { persist, server: { hostname: '127.0.0.1', port: edgePort }, inspector: false, watch: false },
  });
  await worker.ready;

  const edgeUrl = `http://127.0.0.1:${edgePort}`;
  log(`edge:   ${edgeUrl}  (web page at /, API at /v1/classify, OpenAPI at /openapi.json)`);
  log(`origin: ${originUrl}  (KServe v2 at /v2, metrics at /metrics)`);
  log('the local API is OPEN: ALLOW_OPEN_API=1 serves /v1 without API keys (development only)');
  log(`the origin accepts only requests signed with this start's key "${keyId}" (the secret is not printed)`);
  if (untrained.length > 0) {
    console.warn(
      `[start] WARNING: ${untrained.join(', ')} run on UNTRAINED (seeded random) weights: predictions are meaningless. ` +
        'Delete models/ and start with internet access to fetch pretrained weights.',
    );
  }
  log('press Ctrl-C to stop both');
}

main().catch((error: Error) => {
  console.error(`[start] ${error.message}`);
  originProcess?.kill('SIGTERM');
  process.exit(1);
});
