// Markup escapes hostile payloads: names and bytes from the wire never
// become markup.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { esc, escapeText } from '../static/core/format.js';
import { svg, renderMark, renderTranscriptRow, renderArrow, renderArrowDecor, renderCallout } from '../static/core/markup.js';
import { Layout } from '../static/core/layout.js';

const HOSTILE = `<script>alert(1)</script>"' onload="x" &amp; </svg><img src=x onerror=alert(1)>`;

/** The markup has no element or attribute the payload could have made. */
function inert(markup) {
  assert.doesNotMatch(markup, /<script|<img|<\/svg>|onload="x"/i, markup);
}

test('esc escapes the five markup characters', () => {
  assert.equal(esc(`<a href="x">'&'</a>`), '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  assert.equal(esc('plain'), 'plain');
});

test('svg() escapes attribute values and leaves out false ones', () => {
  const s = svg('text', { class: HOSTILE, hidden: false, 'data-x': true });
  inert(s);
  assert.doesNotMatch(s, /hidden/);
  assert.match(s, /data-x/);
});

test('escapeText shows control characters and quotes as escapes', () => {
  assert.equal(escapeText('a\nb\t"c"\\'), 'a\\nb\\t\\"c\\"\\\\');
});

test('hostile payloads, actor names and errnos are inert in marks, arrows, rows and callouts', () => {
  const L = new Layout({ actors: ['client', HOSTILE] });
  const events = [
    { seq: 0, t_ns: 0, actor: 'client', kind: 'send', fd: 3, conn: 'c', offset: 0, bytes: HOSTILE.length, ret: HOSTILE.length, data: HOSTILE },
    { seq: 1, t_ns: 10, actor: HOSTILE, kind: 'recv', fd: 4, conn: 'c', offset: 0, bytes: HOSTILE.length, ret: HOSTILE.length, data: HOSTILE },
    { seq: 2, t_ns: 20, actor: HOSTILE, kind: HOSTILE, fd: 4, ret: -1, errno: HOSTILE },
  ];
  for (const ev of events) L.add(ev);
  assert.equal(L.arrows.length, 1);
  for (const m of L.marks) {
    inert(renderMark(m));
    inert(renderCallout(m, 300));
  }
  for (const a of L.arrows) {
    inert(renderArrow(a));
    inert(renderArrowDecor(a).join(''));
  }
  events.forEach((ev, i) => inert(renderTranscriptRow(ev, 0, HOSTILE, L.marks[i])));
});
