// Styles of the playground page (edge/web/page.ts). Bar and timing colours are named once as custom
// properties; the browser test looks for the bar colour in a screenshot.
export const PAGE_CSS = /* css */ `
:root {
  font-family: system-ui, sans-serif; color: #1d232b; background: #f4f6f9;
  --bar: #2563eb; --track: #e8edf5; --border: #d9dee5;
  --t-decode: #f59e0b; --t-preprocess: #10b981; --t-inference: #8b5cf6; --t-other: #94a3b8;
}
body { margin: 0; }
main { max-width: 64rem; margin: 1.5rem auto; padding: 0 1rem; }
h1 { margin: 0 0 .25rem; font-size: 1.5rem; }
.lead { margin: 0 0 1rem; color: #4b5563; }
.panel, .card { background: #fff; border: 1px solid var(--border); border-radius: 8px; padding: 1rem 1.25rem; margin-bottom: 1rem; }
.controls { display: flex; flex-wrap: wrap; gap: .75rem 1.25rem; align-items: end; margin-top: .75rem; }
.controls label { display: flex; flex-direction: column; gap: .2rem; font-weight: 600; font-size: .9rem; }
.controls label.inline { flex-direction: row; align-items: center; gap: .4rem; }
.controls input[type=number] { width: 4rem; }
button { padding: .45rem 1.1rem; font-size: 1rem; }
#drop { display: block; border: 2px dashed #9aa7b8; border-radius: 8px; padding: 1.25rem; text-align: center; cursor: pointer; color: #4b5563; }
#drop.over { border-color: var(--bar); background: #eef4ff; }
#drop input { display: block; margin: .5rem auto 0; }
.envelope { font-size: .9rem; }
.error-box { color: #8c1020; background: #fdecee; border: 1px solid #f3b6bf; border-radius: 6px; padding: .5rem .75rem; }
.card { display: grid; grid-template-columns: 10rem 1fr; gap: 1rem; }
.card figure { margin: 0; }
.card img { width: 10rem; max-height: 10rem; object-fit: contain; background: #f0f2f5; border-radius: 4px; }
.card figcaption { font-size: .8rem; color: #4b5563; overflow-wrap: anywhere; margin-top: .25rem; }
.answers { display: grid; grid-template-columns: repeat(auto-fit, minmax(18rem, 1fr)); gap: 1rem; }
.answer h3 { margin: 0 0 .35rem; font-size: .8rem; text-transform: uppercase; letter-spacing: .04em; color: #4b5563; }
.answer .model { font-weight: 700; font-size: 1.05rem; }
.why { margin: .2rem 0 .5rem; font-size: .9rem; }
.warn { color: #8a4b00; font-size: .85rem; margin: .2rem 0; }
.selection { font-size: .85rem; margin: .3rem 0; padding: .3rem .5rem; border-left: 3px solid #3a7d44; }
.selection.warn { border-left-color: #8a4b00; }
.selection .reason { margin: .15rem 0 0; }
.degraded { color: #8a4b00; font-weight: 600; }
.predictions { list-style: none; padding: 0; margin: .25rem 0 .6rem; }
.predictions li { display: grid; grid-template-columns: 9rem 1fr 3.6rem; gap: .5rem; align-items: center; font-size: .9rem; margin: .2rem 0; }
.predictions .label { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.track { display: block; height: .8rem; background: var(--track); border-radius: 3px; overflow: hidden; }
.bar { display: block; height: 100%; background: var(--bar); }
.score { text-align: right; font-variant-numeric: tabular-nums; }
.timing-bar { display: flex; height: .55rem; border-radius: 3px; overflow: hidden; background: var(--track); }
.timing-bar span { display: block; height: 100%; }
.t-decode { background: var(--t-decode); } .t-preprocess { background: var(--t-preprocess); }
.t-inference { background: var(--t-inference); } .t-other { background: var(--t-other); }
.timings { font-size: .8rem; color: #374151; margin: .3rem 0; font-variant-numeric: tabular-nums; }
.timing-item { white-space: nowrap; }
.timings i { display: inline-block; width: .6rem; height: .6rem; border-radius: 2px; margin: 0 .2rem 0 .5rem; vertical-align: baseline; }
.meta { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; font-size: .8rem; color: #4b5563; margin: .4rem 0 0; }
.meta dt { font-weight: 600; } .meta dd { margin: 0; overflow-wrap: anywhere; }
.pending { color: #6b7280; font-style: italic; }
`;
