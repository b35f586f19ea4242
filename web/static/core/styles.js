//# allFunctionsCalledOnLoad
/**
 * styles.js — the element's styles: the diagram's own (inlined into exported
 * SVG) and the shadow root's.
 */

// ---------------------------------------------------------------------------
// Styles

/** Styles of the diagram itself, inlined (resolved) into exported SVG. */
export const DIAGRAM_CSS = `
.seq-diagram { font-family: var(--seq-mono-font); font-size: 13px; }
.seq-diagram.phone { font-size: 11px; }
.seq-diagram.phone .name { font-size: 13px; }
.seq-diagram .bg { fill: var(--seq-bg); }
.seq-diagram .title { font-family: var(--seq-font); font-size: 14px; font-weight: 600; fill: var(--seq-fg); }
.seq-diagram text { fill: var(--seq-fg); }
.seq-diagram .name-box { fill: var(--seq-bg); stroke-width: 2; }
.seq-diagram .name { font-family: var(--seq-font); font-size: 15px; font-weight: 700; }
.seq-diagram .actor-server .name-box, .seq-diagram .actor-server.bar { stroke: var(--seq-server-color); }
.seq-diagram .actor-client .name-box, .seq-diagram .actor-client.bar { stroke: var(--seq-client-color); }
.seq-diagram .life { stroke: var(--seq-muted); stroke-width: 2; }
.seq-diagram .life.half { stroke-dasharray: 7 6; }
.seq-diagram .bar { stroke-width: 1.5; fill-opacity: .25; }
.seq-diagram .bar.open { stroke-dasharray: 4 3; fill-opacity: .4; }
.seq-diagram .event.begin .shape.cap { stroke-width: 1; }
.seq-diagram .actor-server.bar { fill: var(--seq-server-color); }
.seq-diagram .actor-client.bar { fill: var(--seq-client-color); }
.seq-diagram .dt, .seq-diagram .tcp { fill: var(--seq-muted); font-size: 11px; }
.seq-diagram .label { paint-order: stroke; stroke: var(--seq-bg); stroke-width: 4px; stroke-linejoin: round; }
.seq-diagram .shape { stroke: var(--seq-bg); stroke-width: 1.5; }
.seq-diagram .actor-server .shape { fill: var(--seq-server-color); }
.seq-diagram .actor-client .shape { fill: var(--seq-client-color); }
.seq-diagram .shape.hollow { fill: var(--seq-bg); stroke-width: 2; }
.seq-diagram .actor-server .shape.hollow, .seq-diagram .actor-server .shape.cross { stroke: var(--seq-server-color); }
.seq-diagram .actor-client .shape.hollow, .seq-diagram .actor-client .shape.cross { stroke: var(--seq-client-color); }
.seq-diagram .shape.cross { stroke-width: 2.5; }
.seq-diagram .event.error .shape { fill: var(--seq-error-color); stroke: var(--seq-error-color); }
.seq-diagram .event.error .label { fill: var(--seq-error-color); font-weight: 700; }
.seq-diagram .event.k-send[data-paired]:not(.begin) .label { display: none; }
.seq-diagram .hit { fill: none; stroke: transparent; }
.seq-diagram .msg .shaft { stroke: var(--seq-arrow-color); fill: var(--seq-arrow-color); stroke-width: 1.5; stroke-linejoin: round; }
.seq-diagram .event.inferred .shape { fill: var(--seq-bg); stroke-dasharray: 3 2; stroke-width: 2; }
.seq-diagram .actor-server.inferred .shape { stroke: var(--seq-server-color); }
.seq-diagram .actor-client.inferred .shape { stroke: var(--seq-client-color); }
.seq-diagram .event.inferred .label { fill-opacity: .75; font-style: italic; }
.seq-diagram .msg.inferred .shaft { stroke-dasharray: 6 4; }
/* The long arrows of chunks not drawn one by one yet: one path a chunk, drawn like their shafts. */
.seq-diagram .bundle { stroke: var(--seq-arrow-color); fill: var(--seq-arrow-color); stroke-width: 1.5; stroke-linejoin: round; }
.seq-diagram .layer-bundle-hl { pointer-events: none; }
.seq-diagram .bundle.inferred { stroke-dasharray: 6 4; }
.seq-diagram .layer-bundle-hl .bundle { stroke: var(--seq-accent); fill: var(--seq-accent); stroke-width: 3; }
.seq-diagram .seg .shape { stroke: none; fill: var(--seq-muted); }
.seq-diagram .seg .seg-line { stroke: var(--seq-muted); fill: var(--seq-muted); stroke-width: 1; }
.seq-diagram .seg .label { fill: var(--seq-muted); font-size: 10.5px; }
.seq-diagram .seg.rst .shape, .seq-diagram .seg.rst .seg-line { stroke: var(--seq-error-color); fill: var(--seq-error-color); }
.seq-diagram .seg.rst .label { fill: var(--seq-error-color); font-weight: 700; }
.seq-diagram.no-segs .seg { display: none; }
`;

/** The dark theme's colours. */
const DARK = `
  --seq-bg: #0d1117;
  --seq-fg: #e6edf3;
  --seq-muted: #8b949e;
  --seq-client-color: #58a6ff;
  --seq-server-color: #d2a8ff;
  --seq-error-color: #ff7b72;
  --seq-arrow-color: #b1bac4;
  --seq-accent: #e3b341;
  --seq-pending-color: #d29922;
  --seq-right-color: #3fb950;
  --seq-code-bg: #151b23;
  --seq-current-bg: #2e2818;
  --seq-code-kw: #ff7b72;
  --seq-code-type: #79c0ff;
  --seq-code-str: #a5d6ff;
  --seq-code-com: #9198a1;
  --seq-code-num: #79c0ff;
  --seq-code-pp: #d2a8ff;
  --seq-code-const: #ffa657;
  --seq-code-call: #d2a8ff;
  color-scheme: dark;
`;

/** Styles of the element's shadow tree. */
export const HOST_CSS = `
:host {
  --seq-font: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  --seq-mono-font: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  --seq-bg: #ffffff;
  --seq-fg: #1f2328;
  --seq-muted: #59636e;
  --seq-client-color: #0969da;
  --seq-server-color: #8250df;
  --seq-error-color: #cf222e;
  --seq-arrow-color: #424a53;
  --seq-accent: #bf8700;
  --seq-pending-color: #7d5400;
  --seq-right-color: #187533; /* 5.1:1 on the step bar's tint, where #1a7f37 was 4.46 */
  --seq-code-bg: #f6f8fa;
  --seq-current-bg: #fdf3d0;
  --seq-code-kw: #cf222e;
  --seq-code-type: #0550ae;
  --seq-code-str: #0a3069;
  --seq-code-com: #59636e;
  --seq-code-num: #0550ae;
  --seq-code-pp: #8250df;
  --seq-code-const: #953800;
  --seq-code-call: #8250df;
  color-scheme: light;
  display: block;
  position: relative;
  font-family: var(--seq-font);
  color: var(--seq-fg);
  background: var(--seq-bg);
}
/* Themes: light by default (embeds, course pages, exports), dark, or
   auto (the reader's preference, as on seqd's own page). */
:host([theme="dark"]) {${DARK}}
@media (prefers-color-scheme: dark) {
  :host([theme="auto"]) {${DARK}}
}
:host([hidden]) { display: none; }
[hidden] { display: none !important; }
:host([controls="none"]) .toolbar, :host([controls="false"]) .toolbar { display: none; }
:host([data-empty]) :is(.toolbar, .stage, .transcript-box) { display: none; }
:host([transcript="none"]) .transcript-box { display: none; }
${DIAGRAM_CSS}
button, select { font: inherit; color: inherit; background: var(--seq-bg); border: 1px solid var(--seq-muted);
  border-radius: 6px; padding: .2em .6em; cursor: pointer; }
button:hover, select:hover { border-color: var(--seq-fg); }
.exports button[aria-disabled="true"] { opacity: .55; cursor: not-allowed; border-style: dashed; }
:focus-visible { outline: 3px solid var(--seq-accent); outline-offset: 2px; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: .4em .8em; padding: .4em .5em;
  font-size: .9em; border-bottom: 1px solid color-mix(in srgb, var(--seq-muted) 40%, transparent); }
.toolbar .zoom { display: inline-flex; align-items: center; gap: .25em; }
.toolbar .zoom button { min-width: 2.2em; }
.toolbar .zoom button[aria-disabled="true"] { opacity: .55; cursor: default; }
.toolbar .zoom-level { min-width: 3.2em; color: var(--seq-muted); font-variant-numeric: tabular-nums; }
.toolbar .info { color: var(--seq-muted); font-variant-numeric: tabular-nums; }
.toolbar.info-row .info { flex-basis: 100%; order: -1; }
.toolbar .exports { margin-inline-start: auto; display: flex; flex-wrap: wrap; gap: .3em; align-items: center; }
.toolbar .pcapng { border: 1px solid var(--seq-muted); border-radius: 6px; padding: .2em .6em; color: inherit; text-decoration: none; }
.toolbar .pcapng:hover { border-color: var(--seq-fg); }
.toolbar .seg-toggle { white-space: nowrap; }
.message { margin: .5em; padding: .5em .7em; border-radius: 6px; background: color-mix(in srgb, var(--seq-muted) 12%, transparent); }
.message.error { color: var(--seq-error-color); background: color-mix(in srgb, var(--seq-error-color) 12%, transparent); font-weight: 600; }
/* Stepping, the diagram (and the code beside it) fit the screen under
   the step bar and the toolbar (--seq-room): the call about to happen, at
   the drawing's foot, shows with its question; at 1280×800 it was 300 px
   below the screen's edge. The step bar's height is stepper.js's to write. */
:host([data-step]) { --seq-room: max(14rem, calc(100vh - var(--seq-stepbar-height, 0px) - 5.5rem)); }
.viewport { position: relative; overflow: auto; max-height: min(var(--seq-height, 70vh), var(--seq-room, 1000vh)); overscroll-behavior: contain; scrollbar-gutter: stable; }
.viewport:focus-visible { outline-offset: -3px; }
.heads { position: sticky; top: 0; height: 0; z-index: 2; visibility: hidden; }
.viewport.scrolled .heads { visibility: visible; }
/* A bar behind the sticky names, as tall as they are with a margin: the
   rows scrolling under it go out of sight whole, not half beside a name. */
.heads::before { content: ''; position: absolute; inset-inline: 0; top: 0; height: calc(1.8em + 12px);
  background: var(--seq-bg); border-bottom: 1px solid color-mix(in srgb, var(--seq-muted) 40%, transparent);
  box-shadow: 0 2px 4px rgb(0 0 0 / .15); }
.actor-head { position: absolute; top: 4px; transform: translateX(-50%); box-sizing: border-box; padding: .15em 0; border-radius: 6px; line-height: 1.5;
  background: var(--seq-bg); border: 2px solid var(--seq-client-color); font-weight: 700; white-space: nowrap; text-align: center;
  overflow: hidden; text-overflow: clip; box-shadow: 0 2px 6px rgb(0 0 0 / .2); }
.actor-head.actor-server { border-color: var(--seq-server-color); }
svg.seq-diagram { display: block; overflow: visible; }
.canvas { overflow: hidden; }
.event { cursor: pointer; outline: none; }
.event:focus-visible .shape, .event.hl .shape { stroke: var(--seq-accent); stroke-width: 4; }
.layer-events .chunk:not(.near), .layer-msgs .chunk:not(.near) > .msg:not(.long),
.layer-events .chunk:not(.near) .label, .layer-events .chunk:not(.near) .tcp,
.layer-msgs .chunk:not(.near) .label, .layer-gutter .chunk:not(.near) { display: none; }
.msg .hit { stroke-width: 12; pointer-events: stroke; cursor: pointer; }
.msg.hl .shaft { stroke: var(--seq-accent); fill: var(--seq-accent); stroke-width: 3; }
.msg.hl .label, .event.hl .label { font-weight: 700; }
.bar.hl { stroke: var(--seq-accent); stroke-width: 3; }
.event.hl.k-send[data-paired] .label { display: inline; }
.details { position: fixed; z-index: 10; box-sizing: border-box; max-width: min(38rem, calc(100vw - 16px)); max-height: min(70vh, 40rem); overflow: auto;
  background: var(--seq-bg); color: var(--seq-fg); border: 1px solid var(--seq-muted); border-radius: 8px;
  box-shadow: 0 6px 24px rgb(0 0 0 / .25); padding: .6em .8em; font-size: .85rem; pointer-events: none; }
.details.pinned { pointer-events: auto; }
.details h3 { margin: 0 0 .4em; font-size: 1rem; }
.details dl { display: grid; grid-template-columns: max-content 1fr; gap: .1em .8em; margin: 0; }
.details dt { color: var(--seq-muted); }
.details dd { margin: 0; font-family: var(--seq-mono-font); overflow-wrap: anywhere; }
.details pre { font-family: var(--seq-mono-font); font-size: .8rem; margin: .3em 0 .6em; padding: .4em;
  background: color-mix(in srgb, var(--seq-muted) 12%, transparent); border-radius: 4px; white-space: pre-wrap;
  overflow-wrap: anywhere; max-height: 12em; overflow: auto; }
.details pre.hex { white-space: pre; overflow-x: auto; font-size: .75rem; }
.details h4 { margin: .6em 0 0; font-size: .85rem; }
.details .error { color: var(--seq-error-color); font-weight: 700; }
.transcript-box > summary { cursor: pointer; padding: .4em .5em; font-weight: 600; }
.transcript-scroll { position: relative; overflow: auto; max-height: var(--seq-transcript-height, 40vh); }
table.transcript { display: block; min-width: max-content; font-size: .85em; font-variant-numeric: tabular-nums; }
.transcript thead { display: block; position: sticky; top: 0; z-index: 1; background: var(--seq-bg); }
.transcript tbody { display: block; content-visibility: auto; contain-intrinsic-size: auto 5600px; }
.transcript tbody:empty { min-height: 5600px; } /* a group whose rows come when it is in view */
.transcript tbody.newest { content-visibility: visible; } /* live, the group rows are appended to (transcript.js) */
.transcript tr { display: grid; grid-template-columns: 6ch 11ch 10ch 10ch 29ch 22ch 12ch minmax(30ch, 1fr); }
.transcript th { text-align: start; padding: .3em .5em; border-bottom: 2px solid var(--seq-muted); white-space: nowrap; }
.transcript td { padding: .1em .5em; border-bottom: 1px solid color-mix(in srgb, var(--seq-muted) 25%, transparent);
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
.transcript :is(td, th):is(:nth-child(-n+3), :nth-child(7)) { text-align: end; }
.transcript td:nth-child(8) { font-family: var(--seq-mono-font); white-space: pre; }
.transcript .tcp { color: var(--seq-muted); font-size: .85em; }
.transcript td.result { display: flex; gap: 1ch; align-items: baseline; }
.transcript td.result .ret { min-width: 0; overflow: hidden; text-overflow: ellipsis; }
.transcript td.result .tcp { flex: none; }
.transcript tr.begin td.call { color: color-mix(in srgb, var(--seq-pending-color) 80%, var(--seq-fg)); }
.transcript tr { cursor: pointer; }
.transcript tbody tr:empty { height: 3.3em; } /* a bare row (live, not yet shown) keeps a row's room */
.transcript tr:focus-visible { outline: 2px solid var(--seq-accent); outline-offset: -2px; }
.transcript tr.error td { color: var(--seq-error-color); font-weight: 600; }
.transcript tr.seg-row td { color: var(--seq-muted); font-size: .92em; }
.transcript tr.seg-row.error td { color: var(--seq-error-color); }
.transcript tr.inferred td { font-style: italic; }
.transcript tr.hl td { background: color-mix(in srgb, var(--seq-accent) 25%, transparent); }
.sr-only { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }
/* Teaching: the pending call, notes, the step bar, questions, the code pane */
.layer-pending .ghost { fill: color-mix(in srgb, var(--seq-pending-color) 14%, var(--seq-bg)); stroke: var(--seq-pending-color);
  stroke-width: 2.5; stroke-dasharray: 4 3; animation: seq-march 1s linear infinite; }
.layer-pending .label { fill: var(--seq-pending-color); font-weight: 700; }
.layer-pending .ask { fill: var(--seq-fg); font-family: var(--seq-font); font-size: 12px; }
@keyframes seq-march { to { stroke-dashoffset: -14; } }
@media (prefers-reduced-motion: reduce) { .layer-pending .ghost { animation: none; } }
.note-callout { pointer-events: none; }
.note-callout rect { fill: var(--seq-bg); stroke: color-mix(in srgb, var(--seq-accent) 70%, transparent); stroke-width: 1.5; }
.note-callout text { fill: var(--seq-fg); font-size: 11.5px; }
.stepped { display: contents; } /* the step bar, message and stage; a box on a phone */
.stepbar { display: flex; flex-wrap: wrap; align-items: center; gap: .45em .9em; padding: .5em .6em;
  border-bottom: 1px solid color-mix(in srgb, var(--seq-muted) 40%, transparent);
  background: color-mix(in srgb, var(--seq-pending-color) 9%, var(--seq-bg)); }
.step-controls { display: flex; flex-wrap: wrap; gap: .4em; align-items: center; }
.step-controls button { font-weight: 700; padding: .3em .9em; }
.step-controls .step-next { background: var(--seq-pending-color); border-color: var(--seq-pending-color); color: var(--seq-bg); font-size: 1.05em; }
.step-controls .step-next:hover { background: color-mix(in srgb, var(--seq-pending-color) 85%, var(--seq-fg)); }
.step-controls button[aria-disabled="true"] { opacity: .6; cursor: progress; }
.step-hint { color: var(--seq-muted); font-size: .85em; }
kbd { font-family: var(--seq-mono-font); font-size: .9em; padding: 0 .35em; border: 1px solid var(--seq-muted); border-bottom-width: 2px; border-radius: 4px; }
.step-status { margin: 0; font-weight: 600; flex: 1 1 20em; }
.step-status code, .step-last code { font-family: var(--seq-mono-font); }
.step-status .next-call { color: var(--seq-pending-color); font-family: var(--seq-mono-font); }
.step-last { margin: 0; flex-basis: 100%; font-size: .9em; }
.step-last:empty { display: none; }
.step-last .what { color: var(--seq-muted); }
.question { flex-basis: 100%; border: 2px solid var(--seq-pending-color); border-radius: 8px; padding: .5em .7em; background: var(--seq-bg); }
.question.revealed { border-color: var(--seq-right-color); }
.q-text { margin: 0 0 .45em; font-weight: 700; font-size: 1.05em; }
.q-choices { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 13em), 1fr)); gap: .4em; }
.q-choices .choice { position: relative; display: flex; align-items: center; gap: .6em; text-align: start; overflow: hidden; padding: .4em .7em; }
.q-choices .choice > span { position: relative; }
.q-choices .choice > .sr-only { position: absolute; }
.q-choices .choice .text { flex: 1; }
.q-choices .choice .count { font-variant-numeric: tabular-nums; font-weight: 700; color: var(--seq-muted); }
.q-choices .choice .share { position: absolute; inset: 0 auto 0 0; width: var(--share, 0%);
  background: color-mix(in srgb, var(--seq-client-color) 16%, transparent); transition: width .3s; }
.q-choices .choice[aria-pressed="true"] { border: 2px solid var(--seq-client-color); font-weight: 700; }
.q-choices .choice:disabled { cursor: default; color: inherit; }
.q-choices .choice.right { border: 2px solid var(--seq-right-color); font-weight: 700; }
.q-choices .choice.right .share { background: color-mix(in srgb, var(--seq-right-color) 24%, transparent); }
.q-choices .choice.right .text::before { content: "✓ "; color: var(--seq-right-color); }
.question.revealed .choice:not(.right) { opacity: .7; }
.q-result { margin: .45em 0 0; }
.q-last { margin: 0; flex-basis: 100%; font-size: .9em; }
.q-last .right, .q-result .right { color: var(--seq-right-color); }
.q-result:empty { display: none; }
.q-result .right { color: var(--seq-right-color); font-weight: 700; }
.stage { container-type: inline-size; }
.split { display: grid; grid-template-columns: minmax(0, 1fr); }
.code { display: flex; flex-direction: column; min-width: 0; background: var(--seq-code-bg);
  border-top: 1px solid color-mix(in srgb, var(--seq-muted) 40%, transparent); }
.code-head { display: flex; align-items: center; gap: .6em; padding: .3em .5em; font-size: .85em;
  border-bottom: 1px solid color-mix(in srgb, var(--seq-muted) 30%, transparent); }
.code-title { font-weight: 700; }
.code-info { flex: 1; min-width: 0; color: var(--seq-muted); white-space: nowrap; overflow: hidden; text-overflow: ellipsis; font-variant-numeric: tabular-nums; }
.code-toggle { font-size: .95em; padding: .1em .6em; }
.code-files { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 24em), 1fr)); min-height: 0; }
.file { display: flex; flex-direction: column; min-width: 0; min-height: 0; }
.file + .file { border-top: 1px solid color-mix(in srgb, var(--seq-muted) 30%, transparent); }
.file-name { margin: 0; padding: .2em .7em; font: 700 .8em var(--seq-mono-font); background: color-mix(in srgb, var(--seq-muted) 10%, transparent); }
.file-name .who { font-family: var(--seq-font); font-weight: 400; color: var(--seq-muted); }
.listing { margin: 0; padding: 4px 0; overflow: auto; max-height: var(--seq-code-height, 45vh); font: 12.5px/18px var(--seq-mono-font); tab-size: 4; }
.line { display: block; min-width: max-content; padding-inline-end: 1em; white-space: pre; outline: none; }
.line .no { display: inline-block; width: 3.4em; padding-inline-end: 1em; text-align: end; color: var(--seq-muted); user-select: none; }
.line.called { cursor: pointer; }
.line.called .no { color: var(--seq-fg); }
.line:focus-visible { outline: 2px solid var(--seq-accent); outline-offset: -2px; }
.line.hl { background: color-mix(in srgb, var(--seq-client-color) 18%, transparent); }
.line.current { background: var(--seq-current-bg); box-shadow: inset 5px 0 var(--seq-accent); }
.line.pending { background: repeating-linear-gradient(-45deg, color-mix(in srgb, var(--seq-pending-color) 22%, transparent) 0 5px, transparent 5px 10px);
  box-shadow: inset 5px 0 var(--seq-pending-color), inset 0 0 0 1px var(--seq-pending-color); }
.line.pending .no { color: var(--seq-pending-color); font-weight: 700; }
.line.pending::after, .line.current::after { margin-inline-start: 2ch; font: 700 .85em var(--seq-font); }
.line.pending::after { content: "◂ next call"; color: var(--seq-pending-color); }
.line.current::after { content: "◂ last call"; color: color-mix(in srgb, var(--seq-accent) 70%, var(--seq-fg)); }
.line.current.pending::after { content: "◂ last and next call"; }
.line.blocked { box-shadow: inset 5px 0 var(--seq-pending-color); }
.line.blocked:not(.current, .pending)::after { content: "◂ blocked"; margin-inline-start: 2ch; font: 700 .85em var(--seq-font); color: var(--seq-pending-color); }
.line.current .no { color: var(--seq-fg); font-weight: 700; }
.c-kw { color: var(--seq-code-kw); }
.c-type { color: var(--seq-code-type); }
.c-str { color: var(--seq-code-str); }
.c-com { color: var(--seq-code-com); font-style: italic; }
.c-num { color: var(--seq-code-num); }
.c-pp { color: var(--seq-code-pp); }
.c-const { color: var(--seq-code-const); }
.c-call { color: var(--seq-code-call); font-weight: 700; }
.split.code-collapsed :is(.code-files, .code-info) { display: none !important; }
@container (min-width: 58rem) {
  /* The code takes the room the diagram leaves: at least 20rem, at most 45%. */
  .split.with-code { grid-template-columns: minmax(0, 1fr) clamp(20rem, calc(100% - var(--seq-diagram-width, 60rem) - 4px), 45%); }
  .split.with-code.code-collapsed { grid-template-columns: minmax(0, 1fr) auto; }
  .split.with-code .viewport { height: min(var(--seq-height, 70vh), var(--seq-room, 1000vh)); max-height: none; }
  .split.with-code .code { height: min(var(--seq-height, 70vh), var(--seq-room, 1000vh)); border-top: 0; border-inline-start: 1px solid color-mix(in srgb, var(--seq-muted) 40%, transparent); }
  .split.with-code .code-files { display: flex; flex-direction: column; flex: 1; }
  .split.with-code .file { flex: 1 1 0; }
  .split.with-code .listing { flex: 1; max-height: none; }
  .split.code-collapsed .code-head { flex-direction: column; padding: .5em .3em; }
  .split.code-collapsed .code-title { writing-mode: vertical-rl; }
}
/* The note (what the kernel did) is a row's second line, under call … preview. */
.transcript :is(td, th).note { grid-column: 5 / -1; contain: inline-size; white-space: normal; text-align: start; }
.transcript td.note { padding-top: 0; color: var(--seq-muted); font-size: .95em; }
.transcript td.note:empty { display: none; }
.transcript th.note { padding-top: 0; font-weight: 600; color: var(--seq-muted); }
.transcript :is(td, th) { border-bottom: 0; }
.transcript tbody tr { border-bottom: 1px solid color-mix(in srgb, var(--seq-muted) 25%, transparent); }
.transcript thead tr { border-bottom: 2px solid var(--seq-muted); }
.details .note { margin: 0 0 .5em; padding: .3em .5em; border-inline-start: 4px solid var(--seq-accent);
  background: color-mix(in srgb, var(--seq-accent) 10%, transparent); font-size: .95em; }
/* A phone: the diagram first, then the step bar and question (under the
   thumb, stuck to the bottom while the diagram shows), the code, the
   transcript as a list of call, result and preview. */
@media (max-width: 600px) {
  :host { display: flex; flex-direction: column; }
  .toolbar { order: 0; font-size: .85em; gap: .3em .5em; }
  /* The step bar's room to stick in: the drawing and itself, not the
     toolbar above (with the element's top low on the screen, the bar rose
     over the toolbar) nor the transcript below. */
  .stepped { display: flex; flex-direction: column; order: 1; }
  .message { order: 1; }
  .stage { order: 2; }
  /* Stuck to the bottom while the diagram shows (the element is no
     scroller: overflow clip, not hidden, on seqd's page), at most under
     half the screen, scrolling inside past that: the buttons, then the
     question and its choices, then what the last call did. Below the
     diagram, Next and the votes were a long scroll away. */
  .stepbar { order: 3; position: sticky; bottom: 0; z-index: 3; box-shadow: 0 -2px 8px rgb(0 0 0 / .15);
    max-height: 45vh; overflow-y: auto; overscroll-behavior: contain; gap: .3em .6em; }
  .stepbar .question { order: 1; }
  .stepbar :is(.step-status, .step-last, .q-last) { order: 2; font-size: .85em; }
  .q-text { font-size: 1em; margin-bottom: .35em; }
  .q-choices { grid-template-columns: repeat(auto-fit, minmax(min(100%, 9.5em), 1fr)); }
  .transcript-box { order: 4; }
  .step-hint { display: none; }
  .step-controls { flex: 1 1 100%; }
  .step-controls button { flex: 1; min-height: 48px; }
  .q-choices .choice { min-height: 48px; }
  .toolbar button, .toolbar select { min-height: 40px; padding: .1em .45em; }
  .toolbar .scale-name, .toolbar .exports > [aria-hidden="true"] { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); }
  .toolbar .info { flex-basis: 100%; order: -1; }
  .viewport { max-height: min(var(--seq-height, 62vh), var(--seq-room, 1000vh)); }
  /* Under a phone's taller toolbar; the bar then comes right under the
     drawing, not over its foot, where the call about to happen is. */
  :host([data-step]) { --seq-room: max(9rem, calc(100vh - var(--seq-stepbar-height, 0px) - 12.5rem)); }
  table.transcript { min-width: 0; }
  .transcript thead { display: none; }
  .transcript tr { grid-template-columns: 6ch minmax(0, 1fr) auto; column-gap: .4em; padding: .3em 0; }
  .transcript tbody tr:empty { height: 6.5em; }
  .transcript tbody tr.actor-client { box-shadow: inset 3px 0 var(--seq-client-color); }
  .transcript tbody tr.actor-server { box-shadow: inset 3px 0 var(--seq-server-color); }
  .transcript td:is(:nth-child(2), :nth-child(3), :nth-child(4), :nth-child(7)) { display: none; }
  .transcript td:nth-child(1) { grid-row: 1 / span 2; color: var(--seq-muted); padding-inline: .25em; } /* a seq of five digits */
  .transcript td.call { white-space: normal; overflow-wrap: anywhere; }
  .transcript td:nth-child(8) { grid-column: 2 / -1; white-space: pre-wrap; overflow-wrap: anywhere; }
  .transcript td:nth-child(8):empty { display: none; }
  .transcript :is(td, th).note { grid-column: 2 / -1; }
}
`;
