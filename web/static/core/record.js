//# allFunctionsCalledOnLoad
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

// ---------------------------------------------------------------------------
// Trusting nothing: the types of what a record or a feed brings

/** Event fields that are numbers (finite), strings, booleans; flags is a list of strings. */
const NUMBERS = ['seq', 't_ns', 'dur_ns', 'fd', 'ret', 'call', 'want', 'bytes', 'offset', 'inq', 'outq', 'value', 'backlog', 'line', 'window', 'tcp_seq', 'tcp_ack', 'len', 'ts_ns'];
const STRINGS = ['actor', 'kind', 'phase', 'errno', 'error', 'conn', 'local', 'peer', 'data', 'data_b64', 'how', 'option', 'host', 'service', 'tcp_state', 'src', 'answer', 'frame'];
const BOOLEANS = ['blocked', 'truncated', 'eof', 'inferred', 'flowing'];
const FIELD_TYPES = new Map([
  ...NUMBERS.map((k) => [k, 'number']),
  ...STRINGS.map((k) => [k, 'string']),
  ...BOOLEANS.map((k) => [k, 'boolean']),
  ['flags', 'flags'],
  ['asked', 'question'],
]);

/** Whether ev can be an event: an object with a whole seq ≥ 0. */
function canBeEvent(ev) {
  return Boolean(ev) && typeof ev === 'object' && !Array.isArray(ev) && Number.isSafeInteger(ev.seq) && ev.seq >= 0;
}

/**
 * An event with only the fields it may have, of the types they must
 * have: a field of another type is left out (as if absent), data_b64
 * that is not base64 too. Returns null for what is not an event at all
 * (not an object, or no whole seq ≥ 0). Everything that draws events
 * takes them through here first.
 */
export function cleanEvent(ev) {
  if (!canBeEvent(ev)) return null;
  const out = {};
  // The event's own fields, each checked against its type: an event has
  // a dozen of the forty-odd fields there are (a saved session brings
  // tens of thousands of events, all cleaned before the first is drawn).
  for (const k of Object.keys(ev)) {
    const v = ev[k];
    switch (FIELD_TYPES.get(k)) {
      case 'number':
        if (typeof v === 'number' && Number.isFinite(v)) out[k] = v;
        break;
      case 'string':
      case 'boolean':
        if (typeof v === FIELD_TYPES.get(k)) out[k] = v;
        break;
      case 'flags':
        if (Array.isArray(v)) out.flags = v.filter((f) => typeof f === 'string');
        break;
      case 'question': {
        const q = cleanQuestion(v);
        if (q) out.asked = q;
        break;
      }
    }
  }
  if (out.data_b64 !== undefined && !/^[A-Za-z0-9+/]*={0,2}$/.test(out.data_b64)) delete out.data_b64;
  out.t_ns ??= 0;
  out.actor ??= '?';
  out.kind ??= 'call';
  return out;
}

/** The events of a list that are events, cleaned (cleanEvent), in the order given. */
export function cleanEvents(list) {
  if (!Array.isArray(list)) return [];
  const out = [];
  for (const ev of list) {
    const c = cleanEvent(ev);
    if (c) out.push(c);
  }
  return out;
}

/** A list of strings from v: its strings, or [] when it is not a list. */
export function stringList(v) {
  return Array.isArray(v) ? v.filter((s) => typeof s === 'string') : [];
}

/**
 * The pending call of a stepped session, its types checked: null when it
 * is not one. Its question keeps text, choices, choice_ids and tally of
 * the right types.
 */
export function cleanPending(p) {
  if (!p || typeof p !== 'object' || Array.isArray(p)) return null;
  const out = {};
  for (const k of ['actor', 'kind', 'src', 'how', 'option', 'host', 'service', 'local', 'peer']) if (typeof p[k] === 'string') out[k] = p[k];
  for (const k of ['n', 'fd', 'line', 'want', 'bytes', 'seq']) if (typeof p[k] === 'number' && Number.isFinite(p[k])) out[k] = p[k];
  const q = cleanQuestion(p.question);
  if (q) out.question = q;
  return out.actor ? out : null;
}

/**
 * A question (a pending call's, or the one an event was asked about, with
 * the class's tally), its types checked: text, choices, choice_ids and
 * tally; null when it is not one.
 */
export function cleanQuestion(q) {
  if (!q || typeof q !== 'object' || Array.isArray(q) || typeof q.text !== 'string') return null;
  return {
    text: q.text,
    choices: stringList(q.choices),
    choice_ids: stringList(q.choice_ids),
    tally: Array.isArray(q.tally) ? q.tally.map((n) => (typeof n === 'number' && Number.isFinite(n) ? n : 0)) : [],
  };
}

/** The record's own fields that are strings. */
const RECORD_STRINGS = ['id', 'scenario', 'state', 'error', 'started_at', 'finished_at', 'step_token', 'viewer', 'unsaved'];

/** Normalises a record: an events array alone is a record too. Fields of the wrong type are dropped. */
export function asRecord(data) {
  const rec = recordHead(data);
  rec.events = cleanEvents(rec.events);
  return rec;
}

/**
 * recordHead is asRecord but for the events' own fields: its events are
 * orderedEvents, to be cleaned (cleanEvent) one by one as they are drawn,
 * so that a saved session's first screen does not wait for the cleaning
 * of its ten thousandth event.
 */
export function recordHead(data) {
  const src = Array.isArray(data) ? { events: data } : data && typeof data === 'object' ? data : {};
  const rec = {};
  for (const k of RECORD_STRINGS) if (typeof src[k] === 'string') rec[k] = src[k];
  for (const k of ['step', 'questions']) if (typeof src[k] === 'boolean') rec[k] = src[k];
  for (const k of ['expected_events', 'expected_ns']) if (typeof src[k] === 'number' && Number.isFinite(src[k]) && src[k] >= 0) rec[k] = src[k];
  if (src.params && typeof src.params === 'object' && !Array.isArray(src.params)) rec.params = src.params;
  const pending = cleanPending(src.pending);
  if (pending) rec.pending = pending;
  if (Array.isArray(src.sources)) {
    rec.sources = src.sources.filter((f) => f && typeof f.file === 'string' && typeof f.text === 'string').map((f) => ({ file: f.file, text: f.text }));
  }
  if (!['running', 'done', 'failed'].includes(rec.state)) delete rec.state;
  rec.events = orderedEvents(src.events);
  rec.actors = stringList(src.actors);
  for (const ev of rec.events) {
    const actor = typeof ev.actor === 'string' ? ev.actor : '?'; // cleanEvent's default
    if (actor && !rec.actors.includes(actor)) rec.actors.push(actor);
  }
  rec.state ??= 'done';
  rec.event_count = rec.events.length;
  return rec;
}

/**
 * orderedEvents is the entries of list that cleanEvent keeps (canBeEvent),
 * in seq order, not cleaned: t_ns and every other field may still be of
 * any type.
 */
export function orderedEvents(list) {
  if (!Array.isArray(list)) return [];
  const out = list.filter(canBeEvent);
  return out.sort((a, b) => a.seq - b.seq);
}
