// The demo page served at "/": plain HTML and a little script, no build step, talking to /v1/classify.
export const INDEX_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Image classification — edge with GPU escalation</title>
<style>
  :root { font-family: system-ui, sans-serif; color: #1d232b; background: #f6f7f9; }
  main { max-width: 44rem; margin: 2rem auto; padding: 0 1rem; }
  form, section { background: #fff; border: 1px solid #d9dee5; border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
  label { display: block; margin: .5rem 0 .25rem; font-weight: 600; }
  button { margin-top: 1rem; padding: .5rem 1.25rem; font-size: 1rem; }
  table { width: 100%; border-collapse: collapse; }
  td, th { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid #eef0f3; }
  td.score { font-variant-numeric: tabular-nums; width: 6rem; }
  .bar { height: .5rem; background: #3d7be0; border-radius: 3px; }
  .warn { color: #8a4b00; }
  .error { color: #b00020; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; }
  dt { font-weight: 600; }
  img#preview { max-width: 100%; max-height: 16rem; display: block; margin-top: .75rem; }
</style>
</head>
<body>
<main>
  <h1>Classify an image</h1>
  <form id="classify-form">
    <label for="image">Image (JPEG, PNG or WebP)</label>
    <input id="image" name="image" type="file" accept="image/jpeg,image/png,image/webp" required>
    <img id="preview" alt="" hidden>
    <label for="tier">Accuracy tier</label>
    <select id="tier" name="tier">
      <option value="auto" selected>auto — edge B0, escalates to B5 when unsure</option>
      <option value="fast">fast — edge B0</option>
      <option value="balanced">balanced — edge B1</option>
      <option value="accurate">accurate — origin B5</option>
      <option value="max">max — origin B7</option>
    </select>
    <label for="api-key">API key (if the service requires one)</label>
    <input id="api-key" name="api-key" type="password" autocomplete="off">
    <button id="submit" type="submit">Classify</button>
  </form>
  <section id="result" hidden aria-live="polite">
    <p id="weights-warning" class="warn" hidden>These weights are untrained: the labels below are meaningless.</p>
    <p id="degraded" class="warn" hidden></p>
    <table><thead><tr><th>Label</th><th>Score</th><th></th></tr></thead><tbody id="predictions"></tbody></table>
    <dl>
      <dt>Model</dt><dd id="model"></dd>
      <dt>Tier</dt><dd id="tier-used"></dd>
      <dt>Escalated</dt><dd id="escalated"></dd>
      <dt>Edge top-1</dt><dd id="edge"></dd>
      <dt>Timings (ms)</dt><dd id="timings"></dd>
      <dt>Request id</dt><dd id="request-id"></dd>
    </dl>
  </section>
  <p id="error" class="error" role="alert" hidden></p>
</main>
<script type="module">
const $ = (id) => document.getElementById(id);
const form = $('classify-form');
$('image').addEventListener('change', () => {
  const file = $('image').files[0];
  if (!file) return;
  $('preview').src = URL.createObjectURL(file);
  $('preview').hidden = false;
});
form.addEventListener('submit', async (event) => {
  event.preventDefault();
  const file = $('image').files[0];
  if (!file) return;
  $('error').hidden = true;
  $('submit').disabled = true;
  try {
    const headers = { 'content-type': file.type || 'application/octet-stream' };
    const key = $('api-key').value.trim();
    if (key) headers.authorization = 'Bearer ' + key;
    const response = await fetch('/v1/classify?tier=' + encodeURIComponent($('tier').value), { method: 'POST', headers, body: file });
    const body = await response.json().catch(() => undefined);
    if (!response.ok) throw new Error(body && body.error ? body.error.code + ': ' + body.error.message : 'HTTP ' + response.status);
    render(body);
  } catch (error) {
    $('result').hidden = true;
    $('error').textContent = String(error.message || error);
    $('error').hidden = false;
  } finally {
    $('submit').disabled = false;
  }
});
function render(body) {
  const rows = $('predictions');
  rows.replaceChildren(...body.predictions.map((p) => {
    const tr = document.createElement('tr');
    const label = document.createElement('td'); label.textContent = p.label;
    const score = document.createElement('td'); score.className = 'score'; score.textContent = p.score.toFixed(4);
    const barCell = document.createElement('td'); const bar = document.createElement('div');
    bar.className = 'bar'; bar.style.width = Math.max(1, Math.round(p.score * 100)) + '%'; barCell.append(bar);
    tr.append(label, score, barCell);
    return tr;
  }));
  $('model').textContent = body.model;
  $('tier-used').textContent = body.tier;
  $('escalated').textContent = body.escalated ? 'yes' : 'no';
  $('edge').textContent = body.edge ? body.edge.model + ' (' + body.edge.top1_score.toFixed(3) + ')' : '—';
  const t = body.timings_ms;
  $('timings').textContent = 'decode ' + t.decode + ' · preprocess ' + t.preprocess + ' · inference ' + t.inference + ' · total ' + t.total;
  $('request-id').textContent = body.request_id;
  $('weights-warning').hidden = body.weights !== 'untrained';
  $('degraded').hidden = !body.degraded;
  $('degraded').textContent = body.degraded ? 'Degraded answer: ' + (body.degraded_reason || 'origin unavailable') : '';
  $('result').hidden = false;
}
</script>
</body>
</html>
`;
