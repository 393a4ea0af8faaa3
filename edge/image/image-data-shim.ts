// jsquash's emscripten glue builds its result with `new ImageData(...)`; neither workerd nor Node has
// ImageData. A plain holder with the same three fields is all the glue needs.
const scope = globalThis as { ImageData?: unknown };
scope.ImageData ??= class {
  constructor(
    readonly data: Uint8ClampedArray,
    readonly width: number,
    readonly height: number,
  ) {}
};
