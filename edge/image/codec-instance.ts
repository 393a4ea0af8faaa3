// A WASM codec instance that is thrown away instead of trusted after trouble. A heap never shrinks, and an
// instance that failed part-way (a Rust panic, libjpeg's longjmp turned into a throw) keeps whatever it had
// allocated and may have broken allocator state; a fresh instance from the already compiled module costs
// well under a millisecond, so the old one is dropped for the garbage collector instead.

/** Heap size past which an instance is replaced after use (bytes). */
export const RESET_ABOVE_HEAP_BYTES = 8 * 1024 * 1024;

/** The part of a WASM memory used here (Node's type library, used by tests and benches, lacks the class). */
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
}

type Imports = Record<string, Record<string, (...args: never[]) => unknown>>;
interface InstanceClass {
  new (module: WebAssembly.Module, imports: Imports): { exports: unknown };
}

/** Synchronous instantiation of an already compiled module (allowed in workerd). */
export function instantiate(module: WebAssembly.Module, imports: Imports): unknown {
  const api = (globalThis as unknown as { WebAssembly: { Instance: InstanceClass } }).WebAssembly;
  return new api.Instance(module, imports).exports;
}

export class Replaceable<T extends { memory: WasmMemory }> {
  private current: T | undefined;
  /** How many instances were created: observable in tests and the debug endpoint. */
  created = 0;

  constructor(private readonly create: () => T) {}

  /** Runs `use` on an instance; replaces it after any throw or when its heap grew past the threshold. */
  run<R>(use: (instance: T) => R): R {
    if (!this.current) {
      this.current = this.create();
      this.created++;
    }
    const instance = this.current;
    try {
      return use(instance);
    } catch (error) {
      this.current = undefined;
      throw error;
    } finally {
      if (instance.memory.buffer.byteLength > RESET_ABOVE_HEAP_BYTES) this.current = undefined;
    }
  }
}
