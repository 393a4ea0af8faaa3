// The origin's queue wait estimates as it last reported them (the x-queue-wait-ms header on its
// responses), kept per isolate next to the round trip. A report ages: the work it counted drains in
// real time, so a report `age` ms old stands for `wait - age` ms; past QUEUE_WAIT_STALE_MS it says
// nothing about the queue now (other callers may have filled it) and is not used at all.
import { parseQueueWait } from '../../shared/http/queue-wait.ts';

/** Beyond this age a report is not used (the budget then counts the queue wait as unknown). */
export const QUEUE_WAIT_STALE_MS = 30_000;

interface Report {
  waitMs: number;
  at: number;
}

export class QueueWaitReports {
  private readonly reports = new Map<string, Report>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Records a response's header value (absent or malformed entries change nothing). */
  observe(headerValue: string | null): void {
    const at = this.now();
    for (const [model, waitMs] of parseQueueWait(headerValue)) this.reports.set(model, { waitMs, at });
  }

  /** The expected wait for `model` now, or null without a report younger than QUEUE_WAIT_STALE_MS. */
  waitMs(model: string): number | null {
    const report = this.reports.get(model);
    if (!report) return null;
    const age = Math.max(0, this.now() - report.at);
    if (age > QUEUE_WAIT_STALE_MS) return null;
    return Math.max(0, report.waitMs - age);
  }
}
