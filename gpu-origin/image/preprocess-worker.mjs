// Development entry of the preprocessing worker: the TypeScript sources need tsx's loader, which a worker
// thread does not inherit from a test runner. The production bundle ships a compiled worker under this
// same file name next to the bundled server instead (see infra/docker/Dockerfile).
import { register } from 'tsx/esm/api';

register();
await import('./preprocess-task.ts');
