import type { EvalReport } from './evaluate.ts';

// Accuracy against average compute, as a self-contained SVG: one point per threshold for top-1 and top-5,
// plus the edge-only and origin-only models as separate markers.

const WIDTH = 720;
const HEIGHT = 460;
const MARGIN = { left: 70, right: 150, top: 40, bottom: 56 };

function niceStep(span: number, targetTicks: number): number {
  const raw = span / targetTicks;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw);
  return step ?? 10 * magnitude;
}

/** Round-valued ticks covering [min, max]: the last tick is at or above max. */
function ticks(min: number, max: number, count: number): number[] {
  const step = niceStep(max - min || 1, count);
  const first = Math.floor(min / step + 1e-9) * step;
  const out: number[] = [];
  for (let v = first; out.length === 0 || (out[out.length - 1] as number) < max - step * 1e-9; v += step) {
    out.push(Number(v.toPrecision(10)));
  }
  return out;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export function renderPlot(report: EvalReport): string {
  const { edge, origin, cascade } = report;
  const title = `Cascade ${edge.name} → ${origin.name} (${report.data.images} images)`;
  const xs = [edge.macs, origin.macs, ...cascade.map((p) => p.avgMacs)].map((m) => m / 1e6);
  const ys = [edge.top1, edge.top5, origin.top1, origin.top5, ...cascade.flatMap((p) => [p.top1, p.top5])];
  const xTicks = ticks(0, Math.max(...xs) * 1.02, 6);
  const yLow = Math.max(0, Math.floor((Math.min(...ys) - 0.05) * 10) / 10);
  const yHigh = Math.min(1, Math.ceil((Math.max(...ys) + 0.02) * 10) / 10);
  const yTicks = ticks(yLow, yHigh, 6).filter((t) => t <= yHigh + 1e-9);
  const xMax = xTicks[xTicks.length - 1] ?? 1;
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const px = (mmacs: number) => MARGIN.left + (mmacs / xMax) * plotW;
  const py = (acc: number) => MARGIN.top + (1 - (acc - yLow) / (yHigh - yLow || 1)) * plotH;
  const f = (n: number) => n.toFixed(1);

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(`Accuracy against average compute: ${title}`)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${WIDTH / 2 - MARGIN.right / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  );
  for (const t of xTicks) {
    parts.push(
      `<line x1="${f(px(t))}" y1="${MARGIN.top}" x2="${f(px(t))}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
      `<text x="${f(px(t))}" y="${MARGIN.top + plotH + 18}" text-anchor="middle">${t}</text>`,
    );
  }
  for (const t of yTicks) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${f(py(t))}" x2="${MARGIN.left + plotW}" y2="${f(py(t))}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${f(py(t) + 4)}" text-anchor="end">${t.toFixed(2)}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 14}" text-anchor="middle">average compute per image (million multiply-accumulates)</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">accuracy (fraction of images)</text>`,
  );

  const series = [
    { key: 'top1' as const, colour: '#1f6fb4', dash: '' },
    { key: 'top5' as const, colour: '#d9731a', dash: ' stroke-dasharray="5 3"' },
  ];
  for (const s of series) {
    const points = cascade.map((p) => `${f(px(p.avgMacs / 1e6))},${f(py(p[s.key]))}`).join(' ');
    parts.push(`<polyline points="${points}" fill="none" stroke="${s.colour}" stroke-width="1.5"${s.dash}/>`);
    for (const p of cascade) {
      parts.push(`<circle cx="${f(px(p.avgMacs / 1e6))}" cy="${f(py(p[s.key]))}" r="3" fill="${s.colour}"/>`);
    }
  }
  // Threshold labels on the top-1 series only, to keep the plot readable.
  for (const p of cascade) {
    parts.push(
      `<text x="${f(px(p.avgMacs / 1e6) + 5)}" y="${f(py(p.top1) + 14)}" font-size="10" fill="#1f6fb4">${p.threshold}</text>`,
    );
  }
  for (const [model, shape] of [
    [edge, 'edge'],
    [origin, 'origin'],
  ] as const) {
    for (const s of series) {
      const x = px(model.macs / 1e6);
      const y = py(model[s.key]);
      parts.push(
        shape === 'edge'
          ? `<rect x="${f(x - 5)}" y="${f(y - 5)}" width="10" height="10" fill="none" stroke="${s.colour}" stroke-width="2"/>`
          : `<path d="M${f(x)} ${f(y - 6)} L${f(x + 6)} ${f(y + 5)} L${f(x - 6)} ${f(y + 5)} Z" fill="none" stroke="${s.colour}" stroke-width="2"/>`,
      );
    }
  }

  const lx = MARGIN.left + plotW + 14;
  const legend: [string, string][] = [
    [`<line x1="0" y1="0" x2="18" y2="0" stroke="#1f6fb4" stroke-width="1.5"/>`, 'cascade top-1'],
    [
      `<line x1="0" y1="0" x2="18" y2="0" stroke="#d9731a" stroke-width="1.5" stroke-dasharray="5 3"/>`,
      'cascade top-5',
    ],
    [`<rect x="4" y="-5" width="10" height="10" fill="none" stroke="#333" stroke-width="2"/>`, 'edge only'],
    [`<path d="M9 -6 L15 5 L3 5 Z" fill="none" stroke="#333" stroke-width="2"/>`, 'origin only'],
    ['', 'labels: threshold'],
  ];
  legend.forEach(([mark, label], i) => {
    const y = MARGIN.top + 10 + i * 20;
    parts.push(`<g transform="translate(${lx} ${y})">${mark}<text x="24" y="4">${label}</text></g>`);
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
