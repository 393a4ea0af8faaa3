// Optional settings that wrangler.toml does not declare (so `wrangler types` cannot see them):
// secrets, an optional KV binding and development switches. Merged into the generated Env.
declare namespace Cloudflare {
  interface Env {
    /** Comma-separated bearer tokens (a secret: `wrangler secret put API_KEYS`). */
    API_KEYS?: string;
    /** Bearer tokens as keys of a KV namespace (any value). */
    API_KEYS_KV?: KVNamespace;
    /** ORT graph optimisation level: disabled | basic | extended | all (default). */
    ORT_GRAPH_OPT?: string;
    /** "1" enables the /_debug routes (local dev and benchmarks only). */
    DEBUG_ROUTES?: string;
  }
}
