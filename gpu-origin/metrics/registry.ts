// A small Prometheus text-format (0.0.4) registry: counters, gauges and histograms with labels.
// Enough for this service; no dependency needed.

type Labels = Readonly<Record<string, string>>;

const escapeLabel = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels);
  if (extra) pairs.push(extra);
  if (pairs.length === 0) return '';
  return `{${pairs.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`;
}

const keyOf = (labels: Labels) =>
  JSON.stringify(Object.entries(labels).sort(([a], [b]) => a.localeCompare(b)));

interface Metric {
  render(): string;
}

abstract class Labelled<T> implements Metric {
  protected readonly series = new Map<string, { labels: Labels; value: T }>();
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly type: string,
  ) {}
  protected entry(labels: Labels, init: () => T): { labels: Labels; value: T } {
    const key = keyOf(labels);
    let e = this.series.get(key);
    if (!e) {
      e = { labels: { ...labels }, value: init() };
      this.series.set(key, e);
    }
    return e;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.series.values()) lines.push(...this.lines(labels, value));
    return lines.join('\n');
  }
  protected abstract lines(labels: Labels, value: T): string[];
}

export class Counter extends Labelled<number> {
  constructor(name: string, help: string) {
    super(name, help, 'counter');
  }
  inc(labels: Labels = {}, by = 1): void {
    this.entry(labels, () => 0).value += by;
  }
  get(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value ?? 0;
  }
  protected lines(labels: Labels, value: number): string[] {
    return [`${this.name}${labelText(labels)} ${value}`];
  }
}

export class Gauge extends Labelled<number> {
  constructor(name: string, help: string) {
    super(name, help, 'gauge');
  }
  set(labels: Labels, value: number): void {
    this.entry(labels, () => 0).value = value;
  }
  get(labels: Labels = {}): number {
    return this.series.get(keyOf(labels))?.value ?? 0;
  }
  protected lines(labels: Labels, value: number): string[] {
    return [`${this.name}${labelText(labels)} ${value}`];
  }
}

interface HistogramState {
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Labelled<HistogramState> {
  constructor(
    name: string,
    help: string,
    readonly buckets: readonly number[],
  ) {
    super(name, help, 'histogram');
  }
  observe(labels: Labels, value: number): void {
    const state = this.entry(labels, () => ({ counts: this.buckets.map(() => 0), sum: 0, count: 0 })).value;
    this.buckets.forEach((le, i) => {
      if (value <= le) state.counts[i] = (state.counts[i] ?? 0) + 1;
    });
    state.sum += value;
    state.count += 1;
  }
  protected lines(labels: Labels, s: HistogramState): string[] {
    const out = this.buckets.map(
      (le, i) => `${this.name}_bucket${labelText(labels, ['le', String(le)])} ${s.counts[i] ?? 0}`,
    );
    out.push(`${this.name}_bucket${labelText(labels, ['le', '+Inf'])} ${s.count}`);
    out.push(
      `${this.name}_sum${labelText(labels)} ${s.sum}`,
      `${this.name}_count${labelText(labels)} ${s.count}`,
    );
    return out;
  }
}

export class Registry {
  private readonly metrics: Metric[] = [];
  register<M extends Metric>(metric: M): M {
    this.metrics.push(metric);
    return metric;
  }
  render(): string {
    return `${this.metrics.map((m) => m.render()).join('\n')}\n`;
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
