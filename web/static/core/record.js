/**
 * record.js — what an event is: its kind, phase, outcome, the listing line it
 * names; and the record normalised from a saved session or events array.
 */

/** How labels and sentences name the kinds of call. */
export const CALL = { send: 'write', recv: 'read' };

/** The name of the call an event records, as a label shows it. */
export function callName(ev) {
  return CALL[ev.kind] ?? String(ev.kind ?? 'call');
}

/** Reports whether the call failed. */
export function isError(ev) {
  return ev.kind !== 'segment' && (Boolean(ev.errno) || ev.ret < 0);
}

/**
 * Reports whether ev is the begin half of a split call: recorded at the
 * call's entry, before its result is known (strace's `<unfinished …>`).
 */
export function isBegin(ev) {
  return ev?.phase === 'begin' && ev.kind !== 'segment';
}

/** Reports whether ev is the end half of a split call (strace's `<… resumed>`). */
export function isEnd(ev) {
  return ev?.phase === 'end' && ev.kind !== 'segment';
}

/** Reports whether ev is a captured TCP segment (not a call). */
export function isSegment(ev) {
  return ev?.kind === 'segment';
}

/** Whether a segment carries flag f. */
export function hasFlag(ev, f) {
  return Array.isArray(ev.flags) && ev.flags.includes(f);
}

/** Reports whether ev is a successful send or recv that moved bytes. */
export function isData(ev) {
  return (ev.kind === 'send' || ev.kind === 'recv') && !isBegin(ev) && !isError(ev) && ev.bytes > 0;
}

/** Reports whether ev is a recv that returned end of file (a begin has not returned). */
export function isEOF(ev) {
  return ev.kind === 'recv' && !isBegin(ev) && !isError(ev) && (ev.eof === true || ev.ret === 0);
}

// ---------------------------------------------------------------------------
// The listing and line a call names

/** The program an actor runs: server.c for the server, client.c for every client. */
export function sourceFile(actor) {
  return /^server/.test(actor ?? '') ? 'server.c' : 'client.c';
}

/** The listing and line an event (or a pending call) names: [file, line]. */
export function sourceOf(ev) {
  return [ev.src || sourceFile(ev.actor), Number(ev.line) || 0];
}

/** Normalises a record: an events array alone is a record too. */
export function asRecord(data) {
  const rec = Array.isArray(data) ? { events: data } : { ...data };
  rec.events = (rec.events ?? []).slice().sort((a, b) => a.seq - b.seq);
  rec.actors = Array.isArray(rec.actors) ? rec.actors.slice() : [];
  for (const ev of rec.events) if (ev.actor && !rec.actors.includes(ev.actor)) rec.actors.push(ev.actor);
  rec.state ??= 'done';
  rec.event_count = rec.events.length;
  return rec;
}
