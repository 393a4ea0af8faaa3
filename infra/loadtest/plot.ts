// Latency against offered load as a self-contained SVG: p50 and p99 of admitted requests per capacity step,
// the overload run as its own markers, the p99 limit (2 × unloaded p99) and the capacity found.
import type { Capacity, Overload, Unloaded } from './phases.ts';

const WIDTH = 720;
const HEIGHT = 440;
const MARGIN = { left: 70, right: 190, top: 40, bottom: 56 };

export interface PlotInput {
  title: string;
  unloaded: Unloaded;
  capacity: Capacity;
  overload?: Overload | undefined;
}

function niceMax(value: number): { max: number; step: number } {
  const raw = value / 5;
  const magnitude = 10 ** Math.floor(Math.log10(raw || 1));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude;
  return { max: Math.ceil(value / step) * step, step };
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function renderLatencyPlot(input: PlotInput): string {
  const steps = [...input.capacity.steps].sort((a, b) => a.offered_rps - b.offered_rps);
  const points = [...steps, ...(input.overload ? [input.overload] : [])];
  const finite = (n: number) => Number.isFinite(n);
  const x = niceMax(Math.max(...points.map((p) => p.offered_rps), 1) * 1.05);
  const y = niceMax(
    Math.max(input.capacity.p99_limit_ms, ...points.map((p) => p.p99_ms).filter(finite)) * 1.05,
  );
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (rps: number) => MARGIN.left + (rps / x.max) * plotW;
  const py = (ms: number) => MARGIN.top + (1 - ms / y.max) * plotH;
  const f = (n: number) => n.toFixed(1);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(`Latency against offered load: ${input.title}`)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(input.title)}</text>`,
  ];
  for (let t = 0; t <= x.max + 1e-9; t += x.step) {
    parts.push(
      `<line x1="${f(px(t))}" y1="${MARGIN.top}" x2="${f(px(t))}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${f(px(t))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${Number(t.toPrecision(6))}</text>`,
    );
  }
  for (let t = 0; t <= y.max + 1e-9; t += y.step) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${f(py(t))}" x2="${MARGIN.left + plotW}" y2="${f(py(t))}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${f(py(t) + 4)}" text-anchor="end">${Number(t.toPrecision(6))}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">offered load (requests per second, open model)</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">latency of admitted requests (ms)</text>`,
  );
  const limitY = py(input.capacity.p99_limit_ms);
  parts.push(
    `<line x1="${MARGIN.left}" y1="${f(limitY)}" x2="${MARGIN.left + plotW}" y2="${f(limitY)}" stroke="#c0392b" stroke-dasharray="6 4"/>`,
  );
  if (input.capacity.capacity_rps > 0) {
    const cx = px(input.capacity.capacity_rps);
    parts.push(
      `<line x1="${f(cx)}" y1="${MARGIN.top}" x2="${f(cx)}" y2="${MARGIN.top + plotH}" stroke="#27ae60" stroke-dasharray="3 3"/>`,
    );
  }
  const series = [
    { key: 'p50_ms' as const, colour: '#1f6fb4' },
    { key: 'p99_ms' as const, colour: '#d9731a' },
  ];
  for (const s of series) {
    const pts = steps.filter((p) => finite(p[s.key]));
    parts.push(
      `<polyline points="${pts.map((p) => `${f(px(p.offered_rps))},${f(py(p[s.key]))}`).join(' ')}" fill="none" stroke="${s.colour}" stroke-width="1.5"/>`,
    );
    for (const p of pts) {
      parts.push(
        `<circle cx="${f(px(p.offered_rps))}" cy="${f(py(p[s.key]))}" r="3.5" fill="${p.pass ? s.colour : 'white'}" stroke="${s.colour}" stroke-width="1.5"/>`,
      );
    }
    const o = input.overload;
    if (o && finite(o[s.key])) {
      const ox = px(o.offered_rps);
      const oy = py(o[s.key]);
      parts.push(
        `<path d="M${f(ox)} ${f(oy - 6)} L${f(ox + 6)} ${f(oy + 5)} L${f(ox - 6)} ${f(oy + 5)} Z" fill="none" stroke="${s.colour}" stroke-width="2"/>`,
      );
    }
  }
  const legend: [string, string][] = [
    ['<circle cx="9" cy="0" r="3.5" fill="#1f6fb4"/>', 'p50, capacity step'],
    ['<circle cx="9" cy="0" r="3.5" fill="#d9731a"/>', 'p99, capacity step'],
    ['<circle cx="9" cy="0" r="3.5" fill="white" stroke="#333"/>', 'hollow: step failed'],
    ['<path d="M9 -6 L15 5 L3 5 Z" fill="none" stroke="#333" stroke-width="2"/>', 'overload run'],
    [
      '<line x1="0" y1="0" x2="18" y2="0" stroke="#c0392b" stroke-dasharray="6 4"/>',
      `p99 limit ${input.capacity.p99_limit_ms} ms`,
    ],
    [
      '<line x1="0" y1="0" x2="18" y2="0" stroke="#27ae60" stroke-dasharray="3 3"/>',
      `capacity ${input.capacity.capacity_rps} rps`,
    ],
    ['', `unloaded p99 ${input.unloaded.p99_ms} ms`],
  ];
  const lx = MARGIN.left + plotW + 14;
  legend.forEach(([mark, label], i) => {
    parts.push(
      `<g transform="translate(${lx} ${MARGIN.top + 10 + i * 20})">${mark}<text x="24" y="4">${escapeXml(label)}</text></g>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
