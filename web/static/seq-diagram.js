/**
 * seq-diagram.js — the <seq-diagram> custom element: a message sequence
 * diagram of one traced TCP session, drawn from seqd's event wire format v1
 * and grown live as events arrive. The stable URL course pages load:
 *
 *   <script type="module" src="https://seqd.example/seq-diagram.js"></script>
 *   <seq-diagram session="ID" server="https://seqd.example"></seq-diagram>
 *   <seq-diagram src="/saved/echo.json"></seq-diagram>      (no server needed)
 *
 * This file only defines the element (sd/define.js) and re-exports the API.
 * The code lives in small modules beside it, imported relatively (no build
 * step), in three layers whose imports run one way, element → ui → core:
 *
 *   sd/     the element: attributes, lifecycle, public API; wires ui/
 *   ui/     DOM controllers, each owning its state; they never import each other
 *   core/   pure functions and data, no DOM, importable in node: the record,
 *           formatting, layout, words, markup, the C highlighter, styles
 *
 * A call that stayed blocked is recorded as two events sharing a `call` id
 * (wire format: "phase": "begin" at its entry, "phase": "end" with its
 * result); the diagram draws a bar from the begin that grows while the call
 * is open and spans begin to end once it returns. The Mermaid and ladder
 * exports are the server's (GET /api/sessions/{id}/mermaid, /ladder).
 */
export { SeqDiagram } from './sd/define.js';
export { CHUNK, SCALES, normalizeScale, fitPxPerNs, Layout, layout } from './core/layout.js';
export { callName, isError, isBegin, isEnd, isSegment, isData, isEOF, sourceFile, sourceOf } from './core/record.js';
export { formatDuration, formatTime, escapeText, payloadBytes, preview, hexdump, esc } from './core/format.js';
export {
  beginLabel, segmentLabel, eventLabel, callSignature, transcriptSentence, detailRows,
  explain, explainSegment, pendingLabel,
} from './core/words.js';
export { highlightC } from './core/highlight.js';
export {
  svg, actorClass, renderLifeline, renderSegment, renderSegmentMark, markName, renderMarkLabel, renderMark,
  renderArrowDecor, renderArrow, renderBar, barHeight, renderGutter, renderPending, wrapText, renderCallout,
  renderListing, renderTranscriptRow, transcriptRowClass, renderTranscriptCells,
} from './core/markup.js';
