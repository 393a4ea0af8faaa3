// The x-queue-wait-ms header format, the edge's aging of the origin's reports, and the budget policy
// pricing each origin model with its own queue wait.
import { describe, expect, it } from 'vitest';
import { QUEUE_WAIT_STALE_MS, QueueWaitReports } from '../../edge/origin/queue-wait.ts';
import { formatQueueWait, parseQueueWait } from '../../shared/http/queue-wait.ts';
import { chooseByBudget, escalationFits, type OriginView } from '../../shared/policy/budget.ts';

describe('x-queue-wait-ms', () => {
  it('round-trips model ids and milliseconds', () => {
    const text = formatQueueWait(
      new Map([
        ['efficientnet-b5', 0],
        ['efficientnet-b7', 812.46],
      ]),
    );
    expect(text).toBe('efficientnet-b5=0, efficientnet-b7=812.5');
    expect([...parseQueueWait(text)]).toEqual([
      ['efficientnet-b5', 0],
      ['efficientnet-b7', 812.5],
    ]);
  });

  it.each([
    ['absent', null],
    ['empty', ''],
    ['negative', 'efficientnet-b5=-3'],
    ['not a number', 'efficientnet-b5=soon'],
    ['exponent', 'efficientnet-b5=1e9'],
    ['upper case id', 'EfficientNet-B5=3'],
    ['over an hour', 'efficientnet-b5=3600001'],
  ])('skips a malformed value (%s)', (_name, value) => {
    expect(parseQueueWait(value).size).toBe(0);
  });

  it('keeps the well-formed entries of a partly broken header', () => {
    expect([...parseQueueWait('junk, efficientnet-b7=5,=3')]).toEqual([['efficientnet-b7', 5]]);
  });
});

describe('QueueWaitReports', () => {
  it('ages a report by the time since it came and drops it once stale', () => {
    let now = 0;
    const reports = new QueueWaitReports(() => now);
    reports.observe('efficientnet-b5=400, efficientnet-b7=50');
    expect(reports.waitMs('efficientnet-b5')).toBe(400);
    now = 100;
    expect(reports.waitMs('efficientnet-b5')).toBe(300);
    expect(reports.waitMs('efficientnet-b7')).toBe(0);
    reports.observe('efficientnet-b7=1000');
    expect(reports.waitMs('efficientnet-b7')).toBe(1000);
    now = 100 + QUEUE_WAIT_STALE_MS + 1;
    expect(reports.waitMs('efficientnet-b7')).toBeNull();
    expect(reports.waitMs('efficientnet-b5')).toBeNull();
    reports.observe(null);
    expect(reports.waitMs('efficientnet-b5')).toBeNull();
  });
});

describe('budget with per-model queue waits', () => {
  const edge = [
    { model: 'efficientnet-b0' as const, p95Ms: 100 },
    { model: 'efficientnet-b1' as const, p95Ms: 150 },
  ];
  const origin = [
    { model: 'efficientnet-b5' as const, p95Ms: 400 },
    { model: 'efficientnet-b7' as const, p95Ms: 900 },
  ];
  const view = (byModel: OriginView['queueWaitByModel']): OriginView => ({
    reachable: true,
    roundTripMs: 50,
    queueWaitMs: null,
    queueWaitByModel: byModel,
  });

  it('a queue on B7 sends a 1 s budget to B5; without it B7 fits', () => {
    expect(chooseByBudget({ budgetMs: 1000, edge, origin, originView: view({}) })).toMatchObject({
      model: 'efficientnet-b7',
      expectedMs: 950,
    });
    const queued = chooseByBudget({
      budgetMs: 1000,
      edge,
      origin,
      originView: view({ 'efficientnet-b5': 0, 'efficientnet-b7': 600 }),
    });
    expect(queued).toMatchObject({ model: 'efficientnet-b5', expectedMs: 450, budgetMet: true });
    expect(queued.reason).toContain('queue wait 0 ms');
    expect(queued.reason).not.toContain('counted as 0');
  });

  it('says which model had no recent report', () => {
    const choice = chooseByBudget({
      budgetMs: 600_000,
      edge,
      origin,
      originView: view({ 'efficientnet-b5': 10 }),
    });
    expect(choice.reason).toContain('no recent queue wait report for efficientnet-b7');
  });

  it("tier auto escalation counts the target model's own wait", () => {
    const inputs = { budgetMs: 1000, elapsedMs: 200, origin: origin[0] ?? null };
    expect(escalationFits({ ...inputs, originView: view({ 'efficientnet-b5': 300 }) })).toMatchObject({
      escalate: true,
      expectedMs: 950,
    });
    expect(escalationFits({ ...inputs, originView: view({ 'efficientnet-b5': 400 }) })).toMatchObject({
      escalate: false,
      expectedMs: 1050,
    });
  });
});
