// The origin client for this isolate, built from the Worker's env on first use. One client per
// (ORIGIN_URL, ORIGIN_KEY_ID): its circuit breaker must outlive a request to be of any use.
import { QUEUE_WAIT_HEADER } from '../../shared/http/queue-wait.ts';
import { edgeConfig } from '../config.ts';
import { createOriginClient, type OriginClient, OriginConfigError } from './client.ts';
import { QueueWaitReports } from './queue-wait.ts';
import { RoundTripEwma } from './round-trip.ts';

interface Access {
  client: OriginClient;
  roundTrip: RoundTripEwma;
  queueWait: QueueWaitReports;
}

export type OriginAccess = Access | { client: null; reason: string };

const clients = new Map<string, Access>();
const reportedConfigErrors = new Set<string>();

/** The memoised client, or why there is none (no ORIGIN_URL, or an unusable origin setting). */
export function originFor(env: Env): OriginAccess {
  const { url: baseUrl, keyId = '', secret = '' } = edgeConfig(env).origin;
  if (!baseUrl) return { client: null, reason: 'ORIGIN_URL is not set in this deployment' };
  const cacheKey = `${baseUrl}\n${keyId}`;
  const cached = clients.get(cacheKey);
  if (cached) return cached;
  try {
    // The round trip and the origin's queue reports are kept next to the client and its breaker: one
    // origin, one set of observations.
    const queueWait = new QueueWaitReports();
    const access = {
      client: createOriginClient({
        baseUrl,
        keyId,
        secret,
        onResponseHeaders: (headers) => queueWait.observe(headers.get(QUEUE_WAIT_HEADER)),
      }),
      roundTrip: new RoundTripEwma(),
      queueWait,
    };
    clients.set(cacheKey, access);
    return access;
  } catch (error) {
    if (!(error instanceof OriginConfigError)) throw error;
    // A deployment mistake, not a request problem: say it once per isolate, then degrade like an outage.
    if (!reportedConfigErrors.has(error.message)) {
      reportedConfigErrors.add(error.message);
      console.error(JSON.stringify({ msg: 'origin misconfigured', error: error.message }));
    }
    // The details (which may quote the setting) stay in the log.
    return { client: null, reason: 'the origin settings are unusable; the Worker log says why' };
  }
}
