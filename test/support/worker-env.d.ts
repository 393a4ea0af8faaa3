// Edge modules name the Worker's generated Env (edge/worker-configuration.d.ts, which needs the Workers
// types). Node tests that build the edge app in process pass a plain object of settings and fakes.
interface Env {
  readonly [binding: string]: unknown;
}
