import { ConfigError, parseConfig } from './config/config.ts';
import { ProviderError } from './inference/providers.ts';
import { ManifestError } from './models/manifest.ts';
import { startOrigin } from './server.ts';

// Entry point: `npm run origin`. Configuration errors and unusable models stop the process with one line.

const log = (line: string) => console.log(`[origin] ${line}`);
const fatal = (line: string): never => {
  console.error(`[origin] fatal: ${line}`);
  process.exit(1);
};

let config: ReturnType<typeof parseConfig>;
try {
  config = parseConfig(process.env);
} catch (error) {
  if (error instanceof ConfigError) fatal(error.message);
  throw error;
}

const origin = await startOrigin(config, { log }).catch((error: Error) =>
  fatal(`cannot listen: ${error.message}`),
);

let stopping = false;
const stop = (signal: string) => {
  if (stopping) return;
  stopping = true;
  log(`${signal}: draining`);
  origin.close().then(
    () => {
      log('stopped');
      process.exit(0);
    },
    (error: Error) => fatal(`shutdown failed: ${error.message}`),
  );
};
process.on('SIGTERM', () => stop('SIGTERM'));
process.on('SIGINT', () => stop('SIGINT'));

try {
  await origin.loaded;
  log(
    `ready: ${origin.registry
      .list()
      .map((m) => `${m.manifest.id} (${m.classifier.provider})`)
      .join(', ')}`,
  );
} catch (error) {
  const known =
    error instanceof ConfigError || error instanceof ProviderError || error instanceof ManifestError;
  fatal(known ? (error as Error).message : `model loading failed: ${(error as Error).stack}`);
}
