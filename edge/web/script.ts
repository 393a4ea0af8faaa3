// The playground's browser script, served inline by the Worker (no build step, no framework). Kept free of
// backticks and dollar-brace so it can live in this template literal unescaped.
export const PAGE_SCRIPT = /* js */ `
const $ = (id) => document.getElementById(id);
const API_KEY_STORAGE = 'classify-api-key';
/** The most images one POST /v1/classify/batch takes (MAX_BATCH_IMAGES). */
const MAX_BATCH = 16;
const EDGE_TIERS = ['fast', 'balanced'];

/** Every image added so far: { file, url, card }. */
const images = [];
/** Runs in flight; "Classify again" waits for them. A rerun replaces an image's answer slots, so a late
 * answer from an older run lands in a detached slot and is never seen. */
let running = 0;

// ---- Transport -------------------------------------------------------------------------------------
// One POST /v1/classify/batch per tier for all the images (16 at most per call): the edge runs its model
// on each and sends the uncertain ones to the origin together. Each entry of the answer is reported
// through onAnswer, an image's own error as much as a classification.

async function classifyBatch(jobs, tier, params, onAnswer) {
  // Tier "budget" is the page's name for "no tier": latency_budget_ms alone chooses the model.
  const query = new URLSearchParams({ top_k: String(params.topK) });
  if (tier !== 'budget') query.set('tier', tier);
  if (params.budget && (tier === 'auto' || tier === 'budget')) query.set('latency_budget_ms', params.budget);
  const form = new FormData();
  for (const job of jobs) form.append('image', job.file, job.file.name || 'pasted image');
  const headers = {};
  if (params.apiKey) headers.authorization = 'Bearer ' + params.apiKey;
  const failAll = (outcome) => { for (const job of jobs) onAnswer(job, outcome); };
  let response;
  try {
    response = await fetch('/v1/classify/batch?' + query, { method: 'POST', headers, body: form });
  } catch (error) {
    return failAll({ ok: false, status: 0, error: { code: 'network_error', message: String(error.message || error) } });
  }
  const body = await response.json().catch(() => undefined);
  if (!response.ok || !body || !Array.isArray(body.results)) {
    const error = body && body.error ? body.error : { code: 'http_' + response.status, message: 'The response carried no error envelope.' };
    return failAll({ ok: false, status: response.status, error });
  }
  jobs.forEach((job, i) => {
    const entry = body.results[i];
    if (entry && Array.isArray(entry.predictions)) onAnswer(job, { ok: true, status: response.status, body: entry });
    else if (entry && entry.error) onAnswer(job, { ok: false, status: entry.status, error: entry.error });
    else onAnswer(job, { ok: false, status: response.status, error: { code: 'invalid_response', message: 'No answer for this image.' } });
  });
}

async function classifyJobs(jobs, params, onAnswer) {
  const calls = [];
  for (const tier of params.tiers) {
    const forTier = jobs.filter((job) => job.tier === tier);
    for (let at = 0; at < forTier.length; at += MAX_BATCH) calls.push({ tier, jobs: forTier.slice(at, at + MAX_BATCH) });
  }
  // One call at a time: a call already carries up to 16 images, and the isolate runs them in turn anyway.
  for (const call of calls) await classifyBatch(call.jobs, call.tier, params, onAnswer);
}

// ---- Settings --------------------------------------------------------------------------------------

$('api-key').value = sessionStorage.getItem(API_KEY_STORAGE) || '';
$('api-key').addEventListener('input', () => sessionStorage.setItem(API_KEY_STORAGE, $('api-key').value.trim()));
$('compare').addEventListener('change', syncCompare);
syncCompare();

function syncCompare() {
  $('tier').disabled = $('compare').checked;
  $('compare-edge').disabled = !$('compare').checked;
}

function settings() {
  const topK = Math.min(20, Math.max(1, Number($('top-k').value) || 5));
  const tiers = $('compare').checked ? [$('compare-edge').value, 'accurate'] : [$('tier').value];
  // Sent as typed: the API judges the range and says so in its envelope.
  const budget = $('budget').value.trim();
  return { topK, tiers, budget, apiKey: $('api-key').value.trim() };
}

// ---- Adding images: picker, drag and drop, paste -----------------------------------------------------

$('image').addEventListener('change', () => { addFiles($('image').files); $('image').value = ''; });
// The whole page takes drops (a missed drop zone would otherwise open the file in the tab).
const drop = $('drop');
document.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
document.addEventListener('dragleave', (event) => { if (!event.relatedTarget) drop.classList.remove('over'); });
document.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  addFiles(event.dataTransfer ? event.dataTransfer.files : []);
});
document.addEventListener('paste', (event) => {
  const files = event.clipboardData ? event.clipboardData.files : [];
  if (files.length > 0) { event.preventDefault(); addFiles(files); }
});
$('submit').addEventListener('click', () => classifyAll(images));
$('clear').addEventListener('click', () => {
  for (const image of images.splice(0)) URL.revokeObjectURL(image.url);
  $('results').replaceChildren();
  $('page-error').hidden = true;
});

function addFiles(fileList) {
  const files = Array.from(fileList);
  const rejected = files.filter((file) => !file.type.startsWith('image/'));
  $('page-error').hidden = rejected.length === 0;
  $('page-error').textContent = rejected.map((file) => (file.name || 'pasted data') + ' is not an image.').join(' ');
  const added = files.filter((file) => file.type.startsWith('image/')).map((file) => {
    const image = { file, url: URL.createObjectURL(file), card: undefined };
    image.card = card(image);
    images.push(image);
    $('results').prepend(image.card);
    return image;
  });
  if (added.length > 0) classifyAll(added);
}

async function classifyAll(targets) {
  const params = settings();
  const jobs = [];
  for (const image of targets) {
    const answers = image.card.querySelector('.answers');
    answers.replaceChildren();
    for (const tier of params.tiers) {
      const slot = el('section', 'answer');
      slot.dataset.tier = tier;
      slot.dataset.state = 'pending';
      slot.append(el('h3', '', tier === 'budget' ? 'by latency budget' : (EDGE_TIERS.includes(tier) ? 'edge' : tier === 'auto' ? 'edge → origin' : 'origin') + ' · tier ' + tier), el('p', 'pending', 'Classifying…'));
      answers.append(slot);
      jobs.push({ file: image.file, tier, slot });
    }
  }
  running++;
  $('submit').disabled = true;
  try {
    await classifyJobs(jobs, params, (job, outcome) => renderAnswer(job.slot, outcome));
  } finally {
    $('submit').disabled = --running > 0;
  }
}

// ---- Rendering -------------------------------------------------------------------------------------

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function card(image) {
  const article = el('article', 'card');
  const figure = el('figure');
  const img = el('img');
  img.src = image.url;
  img.alt = 'preview of ' + (image.file.name || 'pasted image');
  const kib = (image.file.size / 1024).toFixed(1);
  figure.append(img, el('figcaption', '', (image.file.name || 'pasted image') + ' · ' + kib + ' KiB'));
  article.append(figure, el('div', 'answers'));
  return article;
}

function renderAnswer(slot, outcome) {
  const heading = slot.querySelector('h3');
  slot.replaceChildren(heading);
  slot.dataset.state = outcome.ok ? 'done' : 'error';
  if (!outcome.ok) {
    const box = el('div', 'error-box envelope');
    box.setAttribute('role', 'alert');
    box.append(el('strong', 'code', outcome.error.code), document.createTextNode(': '), el('span', 'message', outcome.error.message));
    const details = [outcome.status ? 'HTTP ' + outcome.status : 'no response'];
    if (outcome.error.request_id) details.push('request ' + outcome.error.request_id);
    box.append(el('div', 'meta-line', details.join(' · ')));
    slot.append(box);
    return;
  }
  const body = outcome.body;
  slot.append(el('div', 'model', body.model), el('p', 'why', why(body)));
  if (body.selection) slot.append(selection(body.selection));
  if (body.degraded) slot.append(el('p', 'warn degraded', 'Degraded: ' + (body.degraded_reason || 'the origin was unavailable') + '. The edge answered instead.'));
  if (body.weights === 'untrained') slot.append(el('p', 'warn untrained', 'Untrained weights: these labels are meaningless.'));
  slot.append(predictions(body.predictions), timings(body.timings_ms), meta(body));
}

function why(body) {
  const edge = body.edge;
  if (body.escalated && edge) return 'Escalated: edge ' + edge.model + ' was unsure (top-1 ' + edge.top1_score.toFixed(3) + '), so the origin answered.';
  if (body.degraded) return 'The origin was wanted, but the edge answered.';
  if (body.selection && !edge) return 'Chosen by the latency budget.';
  if (body.tier === 'auto' && edge) return 'Edge ' + edge.model + ' was confident enough (top-1 ' + edge.top1_score.toFixed(3) + '): no escalation.';
  if (EDGE_TIERS.includes(body.tier)) return 'Tier ' + body.tier + ' runs on the edge only.';
  return 'Tier ' + body.tier + ' runs on the GPU origin.';
}

/** What latency_budget_ms decided: budget, expected latency, whether it fits, and why. */
function selection(s) {
  const box = el('div', 'selection' + (s.budget_met ? '' : ' warn'));
  const expected = s.expected_ms === null ? 'unmeasured' : round(s.expected_ms) + ' ms expected';
  box.append(
    el('strong', '', 'Budget ' + s.budget_ms + ' ms: ' + expected + ', ' + (s.budget_met ? 'within the budget' : 'budget not met')),
    el('p', 'reason', s.reason),
  );
  return box;
}

function predictions(list) {
  const ol = el('ol', 'predictions');
  for (const p of list) {
    const li = el('li');
    const label = el('span', 'label', p.label);
    label.title = p.label + ' (class ' + p.index + ')';
    const track = el('span', 'track');
    const bar = el('span', 'bar');
    bar.style.width = (p.score * 100).toFixed(2) + '%';
    bar.dataset.score = String(p.score);
    track.append(bar);
    li.append(label, track, el('span', 'score', (p.score * 100).toFixed(1) + '%'));
    ol.append(li);
  }
  return ol;
}

function timings(t) {
  const parts = [['decode', t.decode], ['preprocess', t.preprocess], ['inference', t.inference]];
  parts.push(['other', Math.max(0, t.total - t.decode - t.preprocess - t.inference)]);
  const total = Math.max(t.total, 1e-9);
  const wrap = el('div', 'timing');
  const bar = el('div', 'timing-bar');
  bar.title = 'time spent per stage';
  const legend = el('div', 'timings', 'total ' + round(t.total) + ' ms:');
  for (const [name, ms] of parts) {
    const segment = el('span', 't-' + name);
    segment.style.width = ((ms / total) * 100).toFixed(2) + '%';
    bar.append(segment);
    const item = el('span', 'timing-item');
    item.append(el('i', 't-' + name), document.createTextNode(name + ' ' + round(ms)));
    legend.append(item);
  }
  wrap.append(bar, legend);
  return wrap;
}

function round(ms) {
  return ms >= 10 ? String(Math.round(ms)) : ms.toFixed(1);
}

/** Request id plus any field this page does not know yet (e.g. a selection or budget report). */
function meta(body) {
  const known = ['request_id', 'model', 'tier', 'weights', 'predictions', 'timings_ms', 'escalated', 'edge', 'degraded', 'degraded_reason', 'selection'];
  const dl = el('dl', 'meta');
  const row = (name, value) => dl.append(el('dt', '', name), el('dd', '', value));
  row('request id', body.request_id);
  for (const [name, value] of Object.entries(body)) {
    if (known.includes(name) || value === undefined || value === null) continue;
    row(name.replace(/_/g, ' '), describe(value));
  }
  return dl;
}

function describe(value) {
  if (typeof value !== 'object') return String(value);
  if (Array.isArray(value)) return value.map(describe).join(', ');
  return Object.entries(value).map(([k, v]) => k + ': ' + describe(v)).join(' · ');
}
`;
