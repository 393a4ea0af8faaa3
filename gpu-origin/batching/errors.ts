export class QueueFullError extends Error {
  constructor(
    model: string,
    /** Suggested wait before retrying, whole seconds (>= 1). */
    readonly retryAfterS: number,
  ) {
    super(`the queue for ${model} is full; retry in ${retryAfterS} s`);
  }
}

export class DeadlineExceededError extends Error {}

export class ShuttingDownError extends Error {
  constructor() {
    super('the server is shutting down');
  }
}
