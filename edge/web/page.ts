// The playground served at "/": plain HTML with inline style and script (edge/web/style.ts, script.ts), no
// build step, talking to /v1/classify/batch like any client.
import { PAGE_SCRIPT } from './script.ts';
import { PAGE_CSS } from './style.ts';

export const INDEX_HTML = /* html */ `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Image classification playground — edge with GPU escalation</title>
<style>${PAGE_CSS}</style>
</head>
<body>
<main>
  <h1>Image classification playground</h1>
  <p class="lead">EfficientNet-B0/B1 at the edge, B5/B7 on the GPU origin. Drop, paste or pick images; each one is classified with the chosen tier, or by a latency budget.</p>
  <section class="panel" aria-label="input">
    <label id="drop" for="image">
      Drop images here, paste one (Ctrl+V), or pick files (JPEG, PNG, WebP)
      <input id="image" type="file" accept="image/jpeg,image/png,image/webp" multiple>
    </label>
    <div class="controls">
      <label for="tier">Tier
        <select id="tier">
          <option value="auto" selected>auto — edge B0, escalates to B5 when unsure</option>
          <option value="fast">fast — edge B0</option>
          <option value="balanced">balanced — edge B1</option>
          <option value="accurate">accurate — origin B5</option>
          <option value="max">max — origin B7</option>
          <option value="budget">by budget — the most accurate model expected within the latency budget</option>
        </select>
      </label>
      <label for="budget">Latency budget (ms)
        <input id="budget" type="number" min="1" max="600000" step="1" placeholder="none" title="latency_budget_ms: with tier auto it decides whether escalating still fits; with 'by budget' it chooses the model">
      </label>
      <label for="top-k">Top k <input id="top-k" type="number" min="1" max="20" value="5"></label>
      <label class="inline" for="compare"><input id="compare" type="checkbox"> Compare edge
        <select id="compare-edge" aria-label="edge tier to compare">
          <option value="fast">fast (B0)</option>
          <option value="balanced">balanced (B1)</option>
        </select>
        with origin (accurate)
      </label>
      <label for="api-key">API key <input id="api-key" type="password" autocomplete="off" placeholder="if required"></label>
      <button id="submit" type="button">Classify again</button>
      <button id="clear" type="button">Clear</button>
    </div>
  </section>
  <p id="page-error" class="error-box" role="alert" hidden></p>
  <div id="results" aria-live="polite"></div>
</main>
<script type="module">${PAGE_SCRIPT}</script>
</body>
</html>
`;
