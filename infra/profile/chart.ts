// Published top-1 against measured p50, one series per runtime, as a self-contained SVG (same look as
// infra/eval/plot.ts). Latency on a log axis (B0 to B7 spans two decades). Each runtime's Pareto front
// joins the models no faster model beats on accuracy. Custom-phi builds have no published top-1: they sit
// on a strip under the plot, on the latency axis only, drawn hollow.
import type { Profile, ProfileRow } from './row.ts';

const WIDTH = 860;
const HEIGHT = 500;
const MARGIN = { left: 70, right: 230, top: 40, bottom: 104 };
const STRIP = 34;
const COLOURS: Record<string, string> = { edge: '#1f6fb4', origin: '#d9731a' };

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Rows on the front: servable (fits), sorted by p50, each more accurate than every faster one. */
export function paretoFront(rows: readonly ProfileRow[]): ProfileRow[] {
  const measured = rows
    .filter((r) => r.p50_ms !== null && r.top1_published !== null && r.fits !== false)
    .sort((a, b) => (a.p50_ms as number) - (b.p50_ms as number));
  const front: ProfileRow[] = [];
  let best = Number.NEGATIVE_INFINITY;
  for (const row of measured) {
    if ((row.top1_published as number) > best) {
      front.push(row);
      best = row.top1_published as number;
    }
  }
  return front;
}

function label(row: ProfileRow): string {
  return row.variant.startsWith('phi') ? `φ${row.variant.slice(3)}` : row.variant.toUpperCase();
}

export function renderChart(profiles: readonly Profile[]): string {
  const rows = profiles.flatMap((p) => p.rows.filter((r) => r.p50_ms !== null && r.p50_ms > 0));
  const lat = rows.map((r) => r.p50_ms as number);
  const lo = 10 ** Math.floor(Math.log10(Math.min(...lat, 10)));
  const hi = 10 ** Math.ceil(Math.log10(Math.max(...lat, 100)));
  const plotW = WIDTH - MARGIN.left - MARGIN.right;
  const plotH = HEIGHT - MARGIN.top - MARGIN.bottom;
  const [yLow, yHigh] = [78, 88];
  const px = (ms: number) => MARGIN.left + ((Math.log10(ms) - Math.log10(lo)) / Math.log10(hi / lo)) * plotW;
  const py = (top1: number) => MARGIN.top + (1 - (top1 - yLow) / (yHigh - yLow)) * plotH;
  const stripY = MARGIN.top + plotH + STRIP;
  const f = (n: number) => n.toFixed(1);
  const dates = [...new Set(profiles.map((p) => p.date.slice(0, 10)))].join(', ');
  const machine = profiles[0]?.machine;
  const title = 'EfficientNet: published top-1 against measured p50 latency';

  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif" font-size="12">`,
    `<title>${escapeXml(title)}</title>`,
    `<rect width="${WIDTH}" height="${HEIGHT}" fill="white"/>`,
    `<text x="${MARGIN.left + plotW / 2}" y="22" text-anchor="middle" font-size="14">${escapeXml(title)}</text>`,
  ];
  for (let decade = lo; decade <= hi; decade *= 10) {
    for (const m of [1, 2, 5]) {
      const v = decade * m;
      if (v > hi) break;
      parts.push(
        `<line x1="${f(px(v))}" y1="${MARGIN.top}" x2="${f(px(v))}" y2="${MARGIN.top + plotH}" stroke="#eee"/>`,
        `<text x="${f(px(v))}" y="${stripY + 24}" text-anchor="middle">${v >= 1000 ? `${v / 1000}k` : v}</text>`,
      );
    }
  }
  for (let t = yLow; t <= yHigh; t += 2) {
    parts.push(
      `<line x1="${MARGIN.left}" y1="${f(py(t))}" x2="${MARGIN.left + plotW}" y2="${f(py(t))}" stroke="#eee"/>`,
      `<text x="${MARGIN.left - 8}" y="${f(py(t) + 4)}" text-anchor="end">${t}</text>`,
    );
  }
  parts.push(
    `<rect x="${MARGIN.left}" y="${MARGIN.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333"/>`,
    `<line x1="${MARGIN.left}" y1="${stripY}" x2="${MARGIN.left + plotW}" y2="${stripY}" stroke="#999" stroke-dasharray="2 3"/>`,
    `<text x="${MARGIN.left - 8}" y="${stripY + 4}" text-anchor="end" font-size="10">custom φ</text>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 28}" text-anchor="middle">measured p50 per image, ms (log scale, batch 1)</text>`,
    `<text x="${MARGIN.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle" font-size="10" fill="#555">${escapeXml(`${machine?.cpus ?? '?'}-core ${machine?.cpu ?? ''}, ${dates}, shared machine under load: compare within a runtime`)}</text>`,
    `<text transform="translate(18 ${MARGIN.top + plotH / 2}) rotate(-90)" text-anchor="middle">published ImageNet top-1, %</text>`,
  );
  for (const profile of profiles) {
    const colour = COLOURS[profile.runtime] ?? '#333';
    const front = paretoFront(profile.rows);
    parts.push(
      `<polyline points="${front.map((r) => `${f(px(r.p50_ms as number))},${f(py(r.top1_published as number))}`).join(' ')}" fill="none" stroke="${colour}" stroke-width="1.5"/>`,
    );
    for (const row of profile.rows) {
      if (row.p50_ms === null || row.p50_ms <= 0) continue;
      const x = px(row.p50_ms);
      const custom = row.top1_published === null;
      const y = custom ? stripY : py(row.top1_published as number);
      const fill = custom || row.fits === false ? 'white' : colour;
      parts.push(
        profile.runtime === 'edge'
          ? `<rect x="${f(x - 4)}" y="${f(y - 4)}" width="8" height="8" fill="${fill}" stroke="${colour}" stroke-width="1.5"/>`
          : `<circle cx="${f(x)}" cy="${f(y)}" r="4" fill="${fill}" stroke="${colour}" stroke-width="1.5"/>`,
        `<text x="${f(x + 6)}" y="${f(y - 6)}" font-size="10" fill="${colour}">${escapeXml(label(row))}</text>`,
      );
    }
  }
  const lx = MARGIN.left + plotW + 14;
  const legend: [string, string][] = [
    [`<rect x="5" y="-4" width="8" height="8" fill="${COLOURS.edge}"/>`, 'edge: workerd, WASM, 1 thread'],
    [`<circle cx="9" cy="0" r="4" fill="${COLOURS.origin}"/>`, 'origin: onnxruntime-node'],
    [`<line x1="0" y1="0" x2="18" y2="0" stroke="#333" stroke-width="1.5"/>`, 'Pareto front'],
    [`<rect x="5" y="-4" width="8" height="8" fill="white" stroke="#333"/>`, 'hollow: over 128 MB isolate'],
    ['', '(edge) or custom φ, whose'],
    ['', 'top-1 is unpublished'],
  ];
  legend.forEach(([mark, text], i) => {
    parts.push(
      `<g transform="translate(${lx} ${MARGIN.top + 10 + i * 18})">${mark}<text x="24" y="4" font-size="11">${escapeXml(text)}</text></g>`,
    );
  });
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
