//# allFunctionsCalledOnLoad
/**
 * template.js — the element's shadow DOM: its markup and its constructable
 * style sheet, shared by every instance.
 */
import { SVG_NS } from '../core/markup.js';
import { HOST_CSS } from '../core/styles.js';

export const TEMPLATE = `
<div class="toolbar" part="toolbar">
  <label><span class="scale-name">Time scale</span>
    <select class="scale">
      <option value="compact">compact: one row per call</option>
      <option value="proportional">proportional to time</option>
      <option value="logarithmic">logarithmic gaps</option>
    </select>
  </label>
  <label class="seg-toggle" hidden title="Show the TCP segments the kernel sent (thin arrows)"><input type="checkbox" class="segs" checked> segments</label>
  <span class="zoom" role="group" aria-label="Zoom">
    <button type="button" data-zoom="out" title="Zoom out (Ctrl+wheel, pinch)"><span aria-hidden="true">−</span><span class="sr-only">Zoom out</span></button>
    <button type="button" data-zoom="fit" title="Fit the diagram to its box">Fit</button>
    <button type="button" data-zoom="in" title="Zoom in (Ctrl+wheel, pinch)"><span aria-hidden="true">+</span><span class="sr-only">Zoom in</span></button>
    <span class="zoom-level" aria-live="polite">fit</span>
  </span>
  <span class="info"></span>
  <button type="button" class="follow" hidden>Jump to latest ↓</button>
  <span class="exports" role="group" aria-label="Export">
    <span aria-hidden="true">Export</span>
    <button type="button" data-export="svg">SVG</button>
    <button type="button" data-export="png">PNG</button>
    <button type="button" data-export="mermaid" data-server-export>Mermaid</button>
    <button type="button" data-export="ladder" data-server-export>Ladder</button>
    <button type="button" data-export="json">JSON</button>
    <a class="pcapng" data-export-link="pcapng" hidden download title="The captured segments as a pcapng file for Wireshark">pcapng</a>
  </span>
</div>
<div class="stepped">
<div class="stepbar" part="stepbar" hidden>
  <span class="step-controls" role="group" aria-label="Step through the session" hidden>
    <button type="button" class="step-next" data-step="next" aria-keyshortcuts="Space ArrowRight" title="Let the next call happen (Space or →)">Next call ▸</button>
    <button type="button" class="step-run" data-step="run" title="Let the remaining calls happen at the session's pace">Run to end ▸▸</button>
    <span class="step-hint" aria-hidden="true"><kbd>Space</kbd> or <kbd>→</kbd></span>
  </span>
  <p class="step-status" aria-live="polite"></p>
  <p class="step-last"></p>
  <p class="q-last" hidden></p>
  <div class="question" part="question" role="group" aria-labelledby="seq-q-text" hidden>
    <p class="q-text" id="seq-q-text"></p>
    <div class="q-choices"></div>
    <p class="q-result" aria-live="polite"></p>
  </div>
</div>
<p class="message" hidden></p>
<div class="stage"><div class="split">
<div class="viewport" part="viewport" tabindex="0" role="region" aria-label="Sequence diagram">
  <div class="heads" aria-hidden="true"></div>
  <div class="canvas">
  <svg class="seq-diagram" xmlns="${SVG_NS}" width="0" height="0" tabindex="-1" role="group" aria-label="Message sequence diagram; time flows down">
    <rect class="bg" x="0" y="0" width="0" height="0"></rect>
    <g class="layer-gutter" aria-hidden="true"></g>
    <g class="layer-lifelines"></g>
    <g class="layer-bars" aria-hidden="true"></g>
    <g class="layer-bundles" aria-hidden="true"></g>
    <g class="layer-bundle-hl" aria-hidden="true"></g>
    <g class="layer-msgs"></g>
    <g class="layer-events"></g>
    <g class="layer-note" aria-hidden="true"></g>
    <g class="layer-pending" aria-hidden="true"></g>
  </svg>
  </div>
</div>
<aside class="code" part="code" aria-label="The programs' source code" hidden>
  <div class="code-head">
    <span class="code-title">Code</span>
    <span class="code-info" aria-live="polite"></span>
    <button type="button" class="code-toggle" aria-expanded="true">Hide code</button>
  </div>
  <div class="code-files"></div>
</aside>
</div></div>
</div>
<div class="details" part="details" id="details" role="tooltip" tabindex="-1" hidden></div>
<details class="transcript-box" part="transcript" open>
  <summary>Transcript</summary>
  <div class="transcript-scroll" tabindex="0" role="region" aria-label="Transcript (Enter moves into the rows)">
    <table class="transcript" role="table" aria-label="Transcript: one row per call">
      <thead role="rowgroup"><tr role="row">
        <th role="columnheader" scope="col">#</th><th role="columnheader" scope="col">time</th>
        <th role="columnheader" scope="col">Δt</th><th role="columnheader" scope="col">actor</th>
        <th role="columnheader" scope="col">call</th><th role="columnheader" scope="col">result</th>
        <th role="columnheader" scope="col">bytes</th><th role="columnheader" scope="col">preview</th>
        <th role="columnheader" scope="col" class="note">what the kernel did</th>
      </tr></thead>
    </table>
  </div>
</details>
<div class="sr-only" aria-live="polite" aria-atomic="true"></div>
`;

let sharedSheet;

/** The shadow styles as one constructable sheet shared by every instance. */
export function constructedSheet() {
  if (sharedSheet === undefined) {
    try {
      sharedSheet = new CSSStyleSheet();
      sharedSheet.replaceSync(HOST_CSS);
    } catch {
      sharedSheet = null;
    }
  }
  return sharedSheet;
}
