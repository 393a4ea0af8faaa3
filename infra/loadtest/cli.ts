// `npm run loadtest -- [--json] [--only capacity,overload,chaos] [--smoke] [--out DIR]`
//
// Load and fault test of the whole product with an open-model load generator (the `loadtest` package):
//   capacity  highest tier=accurate rate whose admitted p99 is ≤ 2 × the unloaded p99
//   overload  ≥ 2 × capacity for 60 s: sheds with 429 + Retry-After, admitted p99 ≤ 2 × unloaded, no 5xx, no hang
//   chaos     tier=auto&min_confidence=1 for 30 s; the origin is SIGKILLed and restarted 10 s later:
//             no failed request, degraded answers flagged, escalations resume
// Starts its own stack (origin process + edge in workerd) unless --edge-url is given. Exits 1 when a
// criterion fails, 2 on bad usage.
import { execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import type { WeightsPreference } from '../dev/ensure-models.ts';
import { REPO_ROOT } from '../models/build.ts';
import {
  type Capacity,
  type Chaos,
  chaos,
  findCapacity,
  measureUnloaded,
  type Overload,
  overload,
  type Payload,
  type Timing,
  type Unloaded,
} from './phases.ts';
import { renderLatencyPlot } from './plot.ts';
import { givenTarget, type LoadTarget, startLocalStack } from './stack.ts';
import { round } from './stats.ts';

const PHASES = ['capacity', 'overload', 'chaos'] as const;
type Phase = (typeof PHASES)[number];

const FULL: Timing = {
  stepSeconds: 20,
  minStepRequests: 10,
  unloadedRequests: 30,
  overloadSeconds: 60,
  chaosSeconds: 30,
  killAtSeconds: 5,
  restartAfterSeconds: 10,
  drainMs: 20_000,
};
const SMOKE: Timing = {
  stepSeconds: 6,
  minStepRequests: 3,
  unloadedRequests: 10,
  overloadSeconds: 10,
  chaosSeconds: 12,
  killAtSeconds: 2,
  restartAfterSeconds: 4,
  drainMs: 20_000,
};

/**
 * Origin settings for B5 on CPU. The product's defaults (batches of 8, 64 waiting) are sized for a GPU:
 * on two CPU cores a batch of 8 takes over a second and 64 waiting requests outlast the edge's 10 s budget,
 * so the queue would time requests out (504) long before it is full enough to shed (429).
 */
const CPU_ORIGIN_ENV: Record<string, string> = {
  ORIGIN_MAX_BATCH: '1',
  ORIGIN_MAX_QUEUE: '1',
  ORIGIN_PREPROCESS_WORKERS: '1',
};

/** Longer than the edge breaker's 10 s cooldown. */
const SETTLE_S = 12;

const USAGE = `usage: npm run loadtest -- [options]
  --json                    print only the JSON result on stdout (progress goes to stderr)
  --only LIST               comma-separated phases: capacity, overload, chaos (default: all; with --edge-url
                            capacity,overload)
  --smoke                   short phases, to check the command works (minutes, not a measurement)
  --out DIR                 also write DIR/loadtest.json and DIR/latency.svg
  --edge-url URL            load a running edge instead of starting the stack (no chaos then)
  --origin-url URL          the running origin, for its /metrics counters
                            (LOADTEST_API_KEY in the environment: the edge's API key, sent as a bearer token)
  --capacity-rps N          skip the search and use N for the overload rate
  --overload-factor F       overload offers F × capacity (default 2)
  --chaos-rps N             chaos load rate (default: half the capacity when known, else 0.5)
  --step-seconds N          length of one capacity step (default ${FULL.stepSeconds})
  --overload-seconds N      (default ${FULL.overloadSeconds})
  --chaos-seconds N         (default ${FULL.chaosSeconds}); --kill-at N (default ${FULL.killAtSeconds}), --restart-after N (default ${FULL.restartAfterSeconds})
  --origin-env KEY=VALUE    extra origin setting, repeatable (defaults for CPU: ${Object.entries(
    CPU_ORIGIN_ENV,
  )
    .map(([k, v]) => `${k}=${v}`)
    .join(' ')})
  --models-dir DIR          where the models are built or found (default models/)
`;

function fail(message: string): never {
  console.error(`[loadtest] ${message}\n${USAGE}`);
  process.exit(2);
}

function parse() {
  const { values } = parseArgs({
    options: {
      json: { type: 'boolean', default: false },
      only: { type: 'string' },
      smoke: { type: 'boolean', default: false },
      out: { type: 'string' },
      'edge-url': { type: 'string' },
      'origin-url': { type: 'string' },
      'capacity-rps': { type: 'string' },
      'overload-factor': { type: 'string', default: '2' },
      'chaos-rps': { type: 'string' },
      'step-seconds': { type: 'string' },
      'overload-seconds': { type: 'string' },
      'chaos-seconds': { type: 'string' },
      'kill-at': { type: 'string' },
      'restart-after': { type: 'string' },
      'origin-env': { type: 'string', multiple: true, default: [] },
      'models-dir': { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    process.exit(0);
  }
  const num = (name: string, raw: string | undefined, fallback: number): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, got "${raw}"`);
    return n;
  };
  // Chaos kills the origin, which only a stack started here can do: with --edge-url it is left out.
  const defaultPhases = values['edge-url'] ? 'capacity,overload' : PHASES.join(',');
  const phases = (values.only ?? defaultPhases).split(',').map((p) => p.trim());
  for (const p of phases) if (!PHASES.includes(p as Phase)) fail(`unknown phase "${p}"`);
  if (values['edge-url'] && phases.includes('chaos'))
    fail(
      'chaos kills the origin, so it needs the stack this command starts (drop --edge-url or --only chaos)',
    );
  const base = values.smoke ? SMOKE : FULL;
  const timing: Timing = {
    ...base,
    stepSeconds: num('step-seconds', values['step-seconds'], base.stepSeconds),
    overloadSeconds: num('overload-seconds', values['overload-seconds'], base.overloadSeconds),
    chaosSeconds: num('chaos-seconds', values['chaos-seconds'], base.chaosSeconds),
    killAtSeconds: num('kill-at', values['kill-at'], base.killAtSeconds),
    restartAfterSeconds: num('restart-after', values['restart-after'], base.restartAfterSeconds),
  };
  const originEnv = { ...CPU_ORIGIN_ENV };
  for (const pair of values['origin-env']) {
    const at = pair.indexOf('=');
    if (at < 1 || !pair.startsWith('ORIGIN_')) fail(`--origin-env wants ORIGIN_NAME=value, got "${pair}"`);
    originEnv[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return {
    json: values.json,
    phases: new Set(phases as Phase[]),
    smoke: values.smoke,
    out: values.out,
    edgeUrl: values['edge-url'],
    originUrl: values['origin-url'],
    capacityRps: values['capacity-rps'] ? num('capacity-rps', values['capacity-rps'], 1) : undefined,
    overloadFactor: num('overload-factor', values['overload-factor'], 2),
    chaosRps: values['chaos-rps'] ? num('chaos-rps', values['chaos-rps'], 1) : undefined,
    timing,
    originEnv,
    modelsDir: path.resolve(values['models-dir'] ?? path.join(REPO_ROOT, 'models')),
  };
}

/** A 640×480 JPEG of smooth colour fields with seeded noise: decodes like a photo, the same every run. */
async function testImage(): Promise<Payload> {
  const width = 640;
  const height = 480;
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 12345;
  for (let i = 0; i < width * height; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const x = i % width;
    const y = Math.floor(i / width);
    const noise = (seed >>> 24) & 31;
    pixels[i * 3] = (x * 255) / width + noise;
    pixels[i * 3 + 1] = (y * 255) / height + noise;
    pixels[i * 3 + 2] = 128 + noise;
  }
  const body = await sharp(pixels, { raw: { width, height, channels: 3 } })
    .jpeg({ quality: 85 })
    .toBuffer();
  return { body: new Uint8Array(body), contentType: 'image/jpeg' };
}

/** MODELS_WEIGHTS as `npm start` reads it: auto (pretrained when the hub answers), pretrained or random. */
function weightsPreference(): WeightsPreference {
  const raw = process.env.MODELS_WEIGHTS ?? 'auto';
  if (raw === 'auto' || raw === 'pretrained' || raw === 'random') return raw;
  fail(`MODELS_WEIGHTS must be auto, pretrained or random, got ${JSON.stringify(raw)}`);
}

function machine() {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT }).toString().trim();
  } catch {}
  const cpus = os.cpus();
  return {
    date: new Date().toISOString(),
    commit,
    cpus: cpus.length,
    cpu_model: cpus[0]?.model ?? 'unknown',
    memory_gib: round(os.totalmem() / 2 ** 30),
    node: process.version,
    load_average_start: os.loadavg().map((l) => round(l, 2)),
  };
}

async function main(): Promise<void> {
  const opts = parse();
  const log = (line: string) => console.error(`[loadtest] ${line}`);
  const payload = await testImage();
  const info = machine();
  log(`machine: ${info.cpus} × ${info.cpu_model}, load average ${info.load_average_start.join(' ')}`);

  let target: LoadTarget;
  if (opts.edgeUrl) {
    target = givenTarget(opts.edgeUrl, opts.originUrl, process.env.LOADTEST_API_KEY);
  } else {
    log('starting the local stack (origin on CPU + edge in workerd)…');
    target = await startLocalStack({
      modelsDir: opts.modelsDir,
      weights: weightsPreference(),
      originEnv: opts.originEnv,
      edgeVars: {},
      log,
    });
  }
  const stop = () => void target.dispose().finally(() => process.exit(130));
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);

  let unloaded: Unloaded | undefined;
  let capacity: Capacity | undefined;
  let over: Overload | undefined;
  let chaosResult: Chaos | undefined;
  try {
    const needCapacity =
      opts.phases.has('capacity') || (opts.phases.has('overload') && opts.capacityRps === undefined);
    if (needCapacity || opts.phases.has('overload')) {
      log('unloaded baseline: tier=accurate, one request at a time…');
      unloaded = await measureUnloaded(target, payload, opts.timing);
      log(`  p50 ${unloaded.p50_ms} ms, p99 ${unloaded.p99_ms} ms over ${unloaded.requests} requests`);
      if (unloaded.non_2xx > 0)
        throw new Error(`${unloaded.non_2xx} baseline requests were not answered 200`);
    }
    if (needCapacity && unloaded) {
      log(`capacity search (${opts.timing.stepSeconds} s steps)…`);
      capacity = await findCapacity(target, payload, opts.timing, unloaded, log);
      log(`  capacity ${capacity.capacity_rps} rps`);
    }
    const capacityRps = opts.capacityRps ?? capacity?.capacity_rps;
    if (opts.phases.has('overload') && capacityRps && unloaded) {
      const rate = round(capacityRps * opts.overloadFactor, 2);
      log(`overload: ${rate} rps for ${opts.timing.overloadSeconds} s…`);
      over = await overload(target, payload, opts.timing, rate);
      log(
        `  ${over.ok} ok, ${over.shed_429} shed (429), ${over.errors_5xx} 5xx, ${over.hung} hung, admitted p99 ${over.admitted_p99_ms} ms`,
      );
    }
    if (opts.phases.has('chaos')) {
      if (over) {
        // The overload's 429s count as failures in the edge's breaker (see docs/reliability.md); let it
        // cool down so chaos starts from a closed breaker.
        log(`settling ${SETTLE_S} s for the edge's circuit breaker…`);
        await new Promise((resolve) => setTimeout(resolve, SETTLE_S * 1000));
      }
      // Half the capacity leaves the origin room to answer every escalation before the kill.
      const rate = opts.chaosRps ?? (capacityRps ? Math.max(0.1, round(capacityRps / 2, 2)) : 0.5);
      log(`chaos: tier=auto&min_confidence=1 at ${rate} rps for ${opts.timing.chaosSeconds} s…`);
      chaosResult = await chaos(target, payload, opts.timing, rate, log);
      log(
        `  ${chaosResult.requests} requests, ${chaosResult.failed} failed, ${chaosResult.degraded} degraded, recovered ${chaosResult.recovered_s} s after the restart`,
      );
    }
  } finally {
    await target.dispose();
  }

  const criteria = judge(unloaded, capacity, over, chaosResult);
  const result = {
    pass: Object.values(criteria).every(Boolean),
    capacity_rps: capacity?.capacity_rps ?? opts.capacityRps ?? null,
    offered_rps: over?.offered_rps ?? null,
    ok: over?.ok ?? null,
    shed_429: over?.shed_429 ?? null,
    errors_5xx: over?.errors_5xx ?? null,
    admitted_p99_ms: over?.admitted_p99_ms ?? null,
    unloaded_p99_ms: unloaded?.p99_ms ?? null,
    chaos: chaosResult
      ? {
          requests: chaosResult.requests,
          failed: chaosResult.failed,
          degraded: chaosResult.degraded,
          escalated_before_kill: chaosResult.escalated_before_kill,
          recovered_s: chaosResult.recovered_s,
        }
      : null,
    criteria,
    machine: { ...info, load_average_end: os.loadavg().map((l) => round(l, 2)) },
    settings: {
      smoke: opts.smoke,
      timing: opts.timing,
      target: opts.edgeUrl ? 'given URLs' : 'local stack',
      origin_env: opts.edgeUrl ? null : opts.originEnv,
      image: `${payload.body.byteLength} byte 640x480 JPEG`,
      generator: 'loadtest (open model: requestsPerSecond)',
    },
    unloaded: unloaded ?? null,
    capacity: capacity ?? null,
    overload: over ?? null,
    chaos_detail: chaosResult ?? null,
  };
  const json = JSON.stringify(result, null, 2);
  if (opts.out) {
    await mkdir(opts.out, { recursive: true });
    await writeFile(path.join(opts.out, 'loadtest.json'), `${json}\n`);
    if (unloaded && capacity) {
      const title = `tier=accurate (EfficientNet-B5 on CPU), ${info.cpus} cores, ${info.date.slice(0, 10)}`;
      await writeFile(
        path.join(opts.out, 'latency.svg'),
        renderLatencyPlot({ title, unloaded, capacity, overload: over }),
      );
    }
    log(`wrote ${opts.out}/loadtest.json${capacity ? ' and latency.svg' : ''}`);
  }
  if (opts.json) console.log(json);
  else {
    for (const [name, ok] of Object.entries(criteria)) console.log(`${ok ? 'pass' : 'FAIL'}  ${name}`);
    console.log(json);
  }
  process.exitCode = result.pass ? 0 : 1;
}

/** Each reliability criterion, as a named boolean; phases not run add none. */
function judge(
  unloaded: Unloaded | undefined,
  capacity: Capacity | undefined,
  over: Overload | undefined,
  c: Chaos | undefined,
): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  if (capacity) out.capacity_found = capacity.capacity_rps > 0;
  if (over && unloaded) {
    out.overload_sheds_429 = over.shed_429 > 0;
    out.overload_429_has_retry_after = over.shed_without_retry_after === 0;
    out.overload_admitted_p99_within_2x = over.admitted_p99_ms <= 2 * unloaded.p99_ms;
    out.overload_zero_5xx = over.errors_5xx === 0;
    out.overload_nothing_hangs = over.hung === 0 && over.connection_errors === 0;
  }
  if (c) {
    out.chaos_zero_failed = c.failed === 0;
    out.chaos_degraded_flagged = c.degraded > 0 && c.degraded_unflagged === 0 && c.unexplained === 0;
    out.chaos_escalates_before_kill = c.escalated_before_kill > 0;
    out.chaos_escalations_resume = c.recovered_s !== null;
  }
  return out;
}

main().catch((error: Error) => {
  console.error(`[loadtest] ${error.stack ?? error.message}`);
  process.exit(1);
});
