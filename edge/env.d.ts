// Optional settings that wrangler.toml does not declare (so `wrangler types` cannot see them):
// secrets, an optional KV binding and development switches. Merged into the generated Env.
declare namespace Cloudflare {
  interface Env {
    /** Comma-separated bearer tokens (a secret: `wrangler secret put API_KEYS`). */
    API_KEYS?: string;
    /** Bearer tokens as keys of a KV namespace (any value). */
    API_KEYS_KV?: KVNamespace;
    /** "1" serves /v1/* without keys when neither API_KEYS nor API_KEYS_KV is configured (development only). */
    ALLOW_OPEN_API?: string;
    /** ORT graph optimisation level: disabled | basic | extended | all (default). */
    ORT_GRAPH_OPT?: string;
    /** "1" enables the /_debug routes (local dev and benchmarks only). */
    DEBUG_ROUTES?: string;
    /** Base URL of the GPU origin, e.g. "https://gpu.example.com"; unset: tiers that need it degrade or 503. */
    ORIGIN_URL?: string;
    /** Id of the HMAC key that signs origin requests (the origin knows it from ORIGIN_HMAC_KEYS). */
    ORIGIN_KEY_ID?: string;
    /** The HMAC secret for ORIGIN_KEY_ID (a secret: `wrangler secret put ORIGIN_SECRET`). */
    ORIGIN_SECRET?: string;
    /** Tier auto escalates below this edge top-1 probability (0-1, default 0.5); a request may override it. */
    DEFAULT_MIN_CONFIDENCE?: string;
    /** Total ms a request may spend waiting for the origin, from its start (default 10000). */
    ORIGIN_TIMEOUT_MS?: string;
    /** Retry-After seconds for a 503 when nothing better is known (default 5). */
    ORIGIN_RETRY_AFTER_S?: string;
    /** Hosts image_url may name ("example.com, *.cdn.example.net"); set: only these. */
    IMAGE_URL_ALLOW_HOSTS?: string;
    /** Hosts image_url may never name (same patterns); wins over the allow list. */
    IMAGE_URL_DENY_HOSTS?: string;
    /** Ports other than 443 that image_url may name ("8443"). */
    IMAGE_URL_ALLOW_PORTS?: string;
    /** Time for one image_url fetch, redirects and body included (default 5000 ms). */
    IMAGE_URL_TIMEOUT_MS?: string;
    /** Tests only, never deployed: "1" lets image_url reach http: and loopback hosts on any port. */
    IMAGE_URL_UNSAFE_TEST_LOOPBACK?: string;
    /** Seconds the edge result cache keeps an answer (default 86400); "0" turns the cache off. */
    RESULT_CACHE_TTL_S?: string;
  }
}
