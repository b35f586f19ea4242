/**
 * seq-diagram.js — the <seq-diagram> custom element: a message sequence
 * diagram of one traced TCP session, drawn from seqd's event wire format v1
 * and grown live as events arrive.
 *
 * A self-contained ES module with no imports, served cross-origin to course
 * pages:
 *
 *   <script type="module" src="https://seqd.example/seq-diagram.js"></script>
 *   <seq-diagram session="ID" server="https://seqd.example"></seq-diagram>
 *   <seq-diagram src="/saved/echo.json"></seq-diagram>      (no server needed)
 *
 * The pure half (layout, labels, sentences, markup) needs no DOM and can be
 * imported in node; the element half turns its output into SVG markup
 * appended once per animation frame. The Mermaid and ladder exports are the
 * server's (GET /api/sessions/{id}/mermaid, /ladder): one generator, in Go.
 *
 * A call that stayed blocked is recorded as two events sharing a `call` id
 * (wire format: "phase": "begin" at its entry, "phase": "end" with its
 * result); the diagram draws a bar from the begin that grows while the call
 * is open and spans begin to end once it returns.
 */

// ---------------------------------------------------------------------------
// Geometry and text

/** Geometry of the diagram, in CSS pixels. */
const G = Object.freeze({
  gutter: 84, // left column holding the Δt labels
  side: 300, // room for labels beside the outermost lifelines
  spacing: 300, // between two lifelines
  narrow: 210, // between two lifelines when there are many actors
  manyActors: 5, // more actors than this use the narrow spacing
  nameTop: 10, // top of an actor's name box
  nameHeight: 30,
  top: 64, // the first row's top
  row: 30, // one row in the compact scale
  pad: 40, // below the last row
  r: 5, // a mark's radius
  logMin: 22, // the logarithmic scale's least step…
  logK: 12, // …plus this much per decade of microseconds…
  logMax: 110, // …up to this
  gutterGap: 15, // least vertical room between two Δt labels
  blockNs: 1e6, // calls that took at least this long get an activation bar
  maxFit: 200000, // the proportional scale fits the session into at most this height
});

/**
 * Rows are drawn in chunks of this many: the element shows the labels of
 * the chunks near the viewport only, which keeps big sessions fast.
 */
export const CHUNK = 128;

/**
 * The element draws events SLICE at a time, and stops for the frame after
 * FRAME_BUDGET_MS of work; a backlog (a saved session, a live one's
 * history) goes on in tasks of BACKLOG_BUDGET_MS between frames.
 */
const SLICE = 32;
const FRAME_BUDGET_MS = 8;
const BACKLOG_BUDGET_MS = 45;

/** A live session's transcript follows its newest row at most this often. */
const TRANSCRIPT_FOLLOW_MS = 100;

/** The time scales, the first being the default. */
export const SCALES = Object.freeze(['compact', 'proportional', 'logarithmic']);

/** Returns the scale a name means: one of SCALES, "log" for logarithmic. */
export function normalizeScale(name) {
  if (name === 'log') return 'logarithmic';
  return SCALES.includes(name) ? name : SCALES[0];
}

/** How labels and sentences name the kinds of call. */
const CALL = { send: 'write', recv: 'read' };

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

/**
 * The label of a begin while its call is open, and after: "read… blocked",
 * "accept… blocked 120 ms". blockedNs is how long it has waited (or
 * waited in all, once it returned), when known.
 */
export function beginLabel(ev, blockedNs = null) {
  return `${callName(ev)}… blocked${blockedNs != null && blockedNs >= 0 ? ` ${formatDuration(blockedNs)}` : ''}`;
}

/** Reports whether ev is a captured TCP segment (not a call). */
export function isSegment(ev) {
  return ev?.kind === 'segment';
}

/** A segment's flags as a label shows them: "SYN,ACK", "PSH,ACK 6". */
export function segmentLabel(ev) {
  const flags = Array.isArray(ev.flags) && ev.flags.length ? ev.flags.join(',') : 'segment';
  return `${flags}${ev.len > 0 ? ` ${ev.len}` : ''}`;
}

/** Whether a segment carries flag f. */
function hasFlag(ev, f) {
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

/** x with three significant digits or so: 52.3, 1.25, 312. */
function fixed(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** Formats a duration in nanoseconds: "850 ns", "52.3 µs", "1.25 ms", "2.00 s". */
export function formatDuration(ns) {
  const a = Math.abs(ns);
  if (a < 1e3) return `${Math.round(ns)} ns`;
  if (a < 1e6) return `${fixed(ns / 1e3)} µs`;
  if (a < 1e9) return `${fixed(ns / 1e6)} ms`;
  return `${fixed(ns / 1e9)} s`;
}

/** Formats a time since the session started: "12.345 ms", "3.210 s". */
export function formatTime(ns) {
  return ns < 1e9 ? `${(ns / 1e6).toFixed(3)} ms` : `${(ns / 1e9).toFixed(3)} s`;
}

const ESCAPES = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

/**
 * Makes payload text safe to show on one line: control characters, quotes,
 * backslashes and the Unicode line and direction controls become visible
 * escapes ("\n", "\x00", "\u202e").
 */
export function escapeText(s) {
  return s.replace(/[\x00-\x1f\x7f"\\\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069]/g, (c) => {
    if (ESCAPES[c]) return ESCAPES[c];
    const code = c.charCodeAt(0);
    return code < 0x100 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16)}`;
  });
}

const payloadCache = new WeakMap();
let textEncoder, textDecoder;

/** The bytes of an event's payload preview (empty when it has none). */
export function payloadBytes(ev) {
  let b = payloadCache.get(ev);
  if (b) return b;
  if (ev.data_b64) {
    const bin = atob(ev.data_b64);
    b = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
  } else {
    textEncoder ??= new TextEncoder();
    b = textEncoder.encode(ev.data ?? '');
  }
  payloadCache.set(ev, b);
  return b;
}

/** Bytes as hex pairs: "de ad be ef". */
function hexBytes(bytes) {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/**
 * A short quoted preview of bytes: `"alice\n"`, `"hello, alice…"`, or for
 * binary `<de ad be ef…>`. more says that bytes stop short of the payload.
 */
function quote(bytes, max, more) {
  textDecoder ??= new TextDecoder('utf-8', { fatal: true });
  let text;
  try {
    text = textDecoder.decode(bytes.subarray(0, max * 4));
  } catch {
    const shown = bytes.subarray(0, Math.min(max / 3, 8) | 0);
    return `<${hexBytes(shown)}${more || shown.length < bytes.length ? '…' : ''}>`;
  }
  const chars = Array.from(text.slice(0, max * 2));
  const cut = chars.length > max;
  return `"${escapeText(chars.slice(0, max).join(''))}${cut || more || max * 4 < bytes.length ? '…' : ''}"`;
}

/** The quoted preview of an event's payload, at most max characters. */
export function preview(ev, max = 24) {
  if (!ev.data && !ev.data_b64) return '';
  if (ev.data && !ev.data_b64) {
    // Text needs no byte round trip: cut characters directly.
    const chars = Array.from(ev.data.slice(0, max * 2));
    const more = ev.truncated || chars.length > max || ev.data.length > max * 2;
    return `"${escapeText(chars.slice(0, max).join(''))}${more ? '…' : ''}"`;
  }
  return quote(payloadBytes(ev), max, ev.truncated);
}

/**
 * The label a mark shows beside its lifeline: `write 6 "alice\n"`,
 * `read 0 (EOF)`, `connect → ECONNREFUSED`, `accept → fd 5`.
 */
export function eventLabel(ev) {
  if (ev.kind === 'segment') return segmentLabel(ev);
  if (isBegin(ev)) return beginLabel(ev);
  const call = callName(ev);
  if (isError(ev)) return `${call} → ${ev.errno || `returned ${ev.ret}`}`;
  switch (ev.kind) {
    case 'send':
    case 'recv': {
      if (isEOF(ev)) return 'read 0 (EOF)';
      const part = ev.kind === 'send' && ev.want > ev.bytes ? ` of ${ev.want}` : '';
      const p = preview(ev, ev.kind === 'send' ? 24 : 16);
      return `${call} ${ev.bytes}${part}${p ? ' ' + p : ''}`;
    }
    case 'socket':
      return `socket → fd ${ev.ret}`;
    case 'setsockopt':
      return `setsockopt ${ev.option ?? ''}=${ev.value ?? 0}`;
    case 'bind':
      return `bind ${ev.local ?? ''}`.trim();
    case 'listen':
      return `listen${ev.backlog ? ` (backlog ${ev.backlog})` : ''}`;
    case 'connect':
      return `connect ${ev.peer ?? ''}`.trim();
    case 'accept':
      // An inferred accept's new fd is the other program's: unknown.
      return `accept${ev.inferred ? ' (inferred)' : ` → fd ${ev.ret}`}${ev.peer ? ' ' + ev.peer : ''}`;
    case 'shutdown':
      return `shutdown ${ev.how ?? ''}`.trim();
    case 'close':
      return ev.inferred || !(ev.fd >= 0) ? 'close (inferred)' : `close fd ${ev.fd}`;
    case 'getaddrinfo':
      return `getaddrinfo ${ev.host ?? ''}${ev.service ? ':' + ev.service : ''}`;
    default:
      return `${call} → ${ev.ret}`;
  }
}

/**
 * The call as the transcript's call column shows it, in strace's words:
 * `read(5, 1024)`, `write(5, 6)`, `shutdown(5, SHUT_WR)`, `close(5)`; an
 * inferred call, whose fd seqd cannot know, `close (inferred)`. A begin
 * adds `<unfinished …>`; an end reads `<… read resumed>`.
 */
export function callSignature(ev) {
  const call = callName(ev);
  if (isEnd(ev)) return `<… ${call} resumed>`;
  let sig;
  if (ev.inferred) sig = `${call} (inferred)`;
  else {
    const fd = ev.fd >= 0 ? [String(ev.fd)] : [];
    const args = {
      send: () => [...fd, String(ev.want ?? ev.bytes ?? 0)],
      recv: () => [...fd, String(ev.want ?? 0)],
      shutdown: () => [...fd, ev.how ?? ''],
      listen: () => [...fd, String(ev.backlog ?? '')],
      setsockopt: () => [...fd, ev.option ?? ''],
      socket: () => [],
      getaddrinfo: () => [ev.host, ev.service].filter(Boolean).map((x) => JSON.stringify(String(x))),
    }[ev.kind];
    sig = `${call}(${(args ? args() : fd).filter((x) => x !== '').join(', ')})`;
  }
  return isBegin(ev) ? `${sig} <unfinished …>` : sig;
}

/** How a sentence names an actor as an object: "the client", "client-3". */
function who(name) {
  return name === 'client' || name === 'server' ? `the ${name}` : name;
}

/** "1 byte", "2 bytes". */
function plural(n, one, many = one + 's') {
  return `${n} ${n === 1 ? one : many}`;
}

/**
 * A plain sentence telling what an event did, for screen readers and the
 * marks' accessible names:
 *   "server read 5 of the 12 bytes the client wrote; 7 still queued"
 *   "client connected to the server", "client's connect failed: ECONNREFUSED".
 * context.peer names the actor at the other end of the connection, where
 * known; context.sends lists the writes a recv read from, as
 * {actor, bytes} (the whole write's byte count).
 */
export function transcriptSentence(ev, context = {}) {
  const a = ev.actor ?? 'someone';
  const peer = context.peer ? who(context.peer) : '';
  const call = callName(ev);
  const waited = ev.blocked && ev.dur_ns > 0 ? ` after waiting ${formatDuration(ev.dur_ns)}` : '';
  if (ev.kind === 'segment') {
    return `${a}'s kernel sent a TCP segment ${segmentLabel(ev)}${peer ? ` to ${peer}` : ''}`;
  }
  if (isBegin(ev)) return `${a} waits in ${call}${WAITS_FOR[ev.kind] ? ` ${WAITS_FOR[ev.kind]}` : ''}`;
  if (isError(ev)) return `${a}'s ${call} failed: ${ev.errno || `it returned ${ev.ret}`}${waited}`;
  switch (ev.kind) {
    case 'send': {
      const of = ev.want > ev.bytes ? ` of ${ev.want}` : '';
      const to = peer ? ` to ${peer}` : '';
      return `${a} wrote ${ev.bytes}${of} bytes${to}${waited}`;
    }
    case 'recv': {
      if (isEOF(ev)) return `${a}'s read returned 0: end of file${waited}`;
      const sends = context.sends ?? [];
      const writer = sends.length ? who(sends[0].actor) : peer;
      let s;
      if (sends.length === 1 && ev.bytes < sends[0].bytes) {
        s = `${a} read ${ev.bytes} of the ${sends[0].bytes} bytes ${writer} wrote`;
      } else if (sends.length === 1) {
        s = `${a} read the ${plural(ev.bytes, 'byte')} ${writer} wrote`;
      } else if (sends.length > 1) {
        s = `${a} read ${plural(ev.bytes, 'byte')} from ${sends.length} writes by ${writer}`;
      } else {
        s = `${a} read ${plural(ev.bytes, 'byte')}${writer ? ` from ${writer}` : ''}`;
      }
      return `${s}${waited}${ev.inq > 0 ? `; ${ev.inq} still queued` : ''}`;
    }
    case 'socket':
      return `${a} created a socket, fd ${ev.ret}`;
    case 'setsockopt':
      return `${a} set ${ev.option ?? 'an option'} to ${ev.value ?? 0}`;
    case 'bind':
      return `${a} bound its socket to ${ev.local ?? 'an address'}`;
    case 'listen':
      return `${a} is listening${ev.local ? ` on ${ev.local}` : ''}`;
    case 'connect':
      return `${a} connected to ${peer || ev.peer || 'its peer'}${waited}`;
    case 'accept':
      return `${a} accepted a connection from ${peer || ev.peer || 'a client'}${waited}`;
    case 'shutdown':
      return ev.how === 'SHUT_RD'
        ? `${a} shut down its receiving side`
        : `${a} shut down its sending side (${ev.how ?? 'shutdown'})`;
    case 'close':
      return ev.inferred || !(ev.fd >= 0) ? `${a} closed its socket` : `${a} closed fd ${ev.fd}`;
    case 'getaddrinfo':
      return `${a} looked up ${ev.host ?? ''}${ev.service ? ':' + ev.service : ''}`;
    default:
      return `${a} called ${call}, which returned ${ev.ret}`;
  }
}

/** What a blocked call of each kind waits for, as a sentence ends. */
const WAITS_FOR = {
  accept: 'for a connection',
  recv: 'for data',
  send: 'for room in the send buffer',
  connect: 'for the handshake',
};

/** A hex dump of at most max bytes, 16 a line with their ASCII. */
export function hexdump(bytes, max = 256) {
  const lines = [];
  const n = Math.min(bytes.length, max);
  for (let i = 0; i < n; i += 16) {
    const row = bytes.subarray(i, Math.min(i + 16, n));
    const hex = Array.from(row, (x) => x.toString(16).padStart(2, '0'));
    const left = hex.slice(0, 8).join(' ');
    const right = hex.slice(8).join(' ');
    const ascii = Array.from(row, (x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('');
    lines.push(`${i.toString(16).padStart(4, '0')}  ${left.padEnd(23)}  ${right.padEnd(23)}  ${ascii}`);
  }
  if (bytes.length > n) lines.push(`… ${bytes.length - n} more bytes`);
  return lines.join('\n');
}

/**
 * The rows of an event's details popup, as [term, value] pairs. partner is
 * the other half of a split call (the end of a begin, the begin of an
 * end), where drawn: either half's details tell the whole call.
 */
export function detailRows(ev, mark = null, partner = null) {
  if (ev.kind === 'segment') {
    const rows = [
      ['segment', `${segmentLabel(ev)} from ${ev.actor}${mark?.to ? ` to ${mark.to}` : ''}`],
      ['flags', (ev.flags ?? []).join(' ') || '—'],
      ['seq (relative)', mark?.relSeq != null ? `${mark.relSeq} (raw ${ev.tcp_seq ?? 0})` : String(ev.tcp_seq ?? 0)],
    ];
    if (hasFlag(ev, 'ACK')) rows.push(['ack (relative)', mark?.relAck != null ? `${mark.relAck} (raw ${ev.tcp_ack ?? 0})` : String(ev.tcp_ack ?? 0)]);
    rows.push(['window', ev.window ?? 0], ['payload', `${ev.len ?? 0} bytes`]);
    if (ev.local) rows.push(['from', ev.local]);
    if (ev.peer) rows.push(['to', ev.peer]);
    if (ev.conn) rows.push(['connection', ev.conn]);
    if (ev.ts_ns != null) rows.push(['captured at', formatTime(ev.ts_ns)]);
    rows.push(['recorded at', formatTime(ev.t_ns)]);
    return rows;
  }
  const rows = [['call', `${callName(ev)} by ${ev.actor}${ev.inferred ? ' (inferred)' : ''}`]];
  if (ev.inferred) rows.push(['fd', 'unknown: the other program\'s']);
  else if (ev.fd >= 0) rows.push(['fd', ev.fd]);
  if (isBegin(ev)) return rows.concat(beginRows(ev, partner));
  rows.push(['returned', ev.ret]);
  if (ev.errno) rows.push(['errno', `${ev.errno}${ev.error ? ` — ${ev.error}` : ''}`]);
  if (ev.kind === 'send' || ev.kind === 'recv') {
    rows.push(['bytes', `${ev.bytes ?? 0}${ev.want ? ` of ${ev.want} asked` : ''}`]);
    if (ev.bytes > 0) rows.push(['offsets', `${ev.offset} – ${ev.offset + ev.bytes - 1} of the stream`]);
    if (ev.eof) rows.push(['end of file', 'yes']);
    rows.push(['queues after', `inq ${ev.inq ?? 0}, outq ${ev.outq ?? 0}`]);
  }
  if (ev.tcp_state) rows.push(['TCP state', ev.tcp_state]);
  if (ev.how) rows.push(['how', ev.how]);
  if (ev.option) rows.push(['option', `${ev.option} = ${ev.value ?? 0}`]);
  if (ev.backlog) rows.push(['backlog', ev.backlog]);
  if (ev.host || ev.service) rows.push(['lookup', `${ev.host ?? ''} ${ev.service ?? ''}`.trim()]);
  if (ev.local) rows.push(['local', ev.local]);
  if (ev.peer) rows.push(['peer', ev.peer]);
  if (ev.conn) rows.push(['connection', ev.conn]);
  if (ev.src) rows.push(['source', `${ev.src}${ev.line ? `:${ev.line}` : ''}`]);
  if (isEnd(ev)) rows.push(['entered at', `${formatTime(ev.t_ns - (ev.dur_ns ?? 0))}${partner ? ` (begin #${partner.seq})` : ''}`]);
  rows.push(['returned at', formatTime(ev.t_ns)]);
  rows.push(['took', `${formatDuration(ev.dur_ns ?? 0)}${ev.blocked ? ' (blocked)' : ''}`]);
  return rows;
}

/** The rows of a begin's details: what was known at entry, and its end if drawn. */
function beginRows(ev, end) {
  const rows = [];
  if (ev.want) rows.push(['asked', `${ev.want} bytes${ev.kind === 'send' || ev.kind === 'recv' ? ` at offset ${ev.offset ?? 0}` : ''}`]);
  if (ev.local) rows.push(['local', ev.local]);
  if (ev.peer) rows.push(['peer', ev.peer]);
  if (ev.conn) rows.push(['connection', ev.conn]);
  if (ev.src) rows.push(['source', `${ev.src}${ev.line ? `:${ev.line}` : ''}`]);
  rows.push(['entered at', formatTime(ev.t_ns)]);
  if (end) {
    rows.push(['returned', `${eventLabel(end)} (end #${end.seq})`]);
    rows.push(['returned at', formatTime(end.t_ns)]);
    rows.push(['blocked for', formatDuration(end.dur_ns ?? end.t_ns - ev.t_ns)]);
  } else rows.push(['returned', 'not yet: the call is blocked']);
  return rows;
}

// ---------------------------------------------------------------------------
// Teaching: what the kernel did, the pending call, questions, the C listings

/** The program an actor runs: server.c for the server, client.c for every client. */
export function sourceFile(actor) {
  return /^server/.test(actor ?? '') ? 'server.c' : 'client.c';
}

/** The listing and line an event (or a pending call) names: [file, line]. */
export function sourceOf(ev) {
  return [ev.src || sourceFile(ev.actor), Number(ev.line) || 0];
}

const SOCKOPT_NOTES = {
  SO_REUSEADDR: 'lets bind take the port even while old connections on it wait in TIME_WAIT',
  SO_REUSEPORT: 'lets several sockets bind the same port; the kernel spreads connections among them',
  TCP_NODELAY: "turns off Nagle's algorithm: small writes go out at once instead of waiting to be combined",
  SO_RCVBUF: (v) => `asks for a ${v}-byte receive buffer (the kernel doubles it for bookkeeping): the peer can send less before it must wait`,
  SO_SNDBUF: (v) => `asks for a ${v}-byte send buffer (the kernel doubles it for bookkeeping): writes fill it and wait sooner`,
  SO_KEEPALIVE: 'probes an idle connection now and then to find out whether the peer is still there',
  SO_LINGER: 'sets what close does with unsent data: wait for it, or drop it and send RST',
};

/** What the kernel does while a call of each kind is blocked (a begin's note). */
const BEGIN_NOTES = {
  accept: "the listen queue is empty: accept waits until a client's handshake completes",
  recv: 'the receive queue is empty: read waits until data or end of file arrives',
  send: 'the send buffer is full: write waits until the reader makes room',
  connect: 'sends SYN and waits for the SYN-ACK (three-way handshake)',
};

const ERRNO_NOTES = {
  ECONNREFUSED: 'the port had no listener: the peer answered SYN with RST',
  ECONNRESET: 'the peer sent RST (it closed with data unread, or aborted): the connection is gone, and unread data with it',
  EPIPE: 'the connection is closed for writing (the peer reset it): the write fails with EPIPE, and SIGPIPE unless ignored',
  ETIMEDOUT: 'no answer came: the kernel retried and gave up',
  EADDRINUSE: 'another socket already holds this address and port',
  EAGAIN: 'nothing could be done without waiting, and the socket does not wait (non-blocking)',
  EWOULDBLOCK: 'nothing could be done without waiting, and the socket does not wait (non-blocking)',
  EINPROGRESS: 'the handshake has started; a non-blocking connect does not wait for it',
  ENOTCONN: 'the socket is not connected',
  EBADF: 'the file descriptor is not open',
  EINTR: 'a signal interrupted the call before it did anything',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'no route to the network',
};

/**
 * One line on what the kernel did for a call, for the marks' notes, the
 * transcript and the details popup:
 *   shutdown SHUT_WR → "sends FIN; the peer's next read returns 0 once the
 *   data before it is read".
 * Pure: context gives what the event alone cannot tell, where known:
 *   peer      the actor at the other end of the connection;
 *   unread    (close) bytes that arrived on the socket and were never read;
 *   listening (close) the fd was a listening socket;
 *   shut      (close) the socket had already sent its FIN with shutdown;
 *   reset     (close) the peer had reset the connection;
 *   connected (close) the fd had a connection.
 * Returns '' for a call it knows nothing to say about.
 */
export function explain(ev, context = {}) {
  if (!ev) return '';
  if (ev.kind === 'segment') return explainSegment(ev);
  if (isBegin(ev)) return BEGIN_NOTES[ev.kind] ?? 'the call cannot complete yet: it waits';
  if (isError(ev)) {
    const note = ERRNO_NOTES[ev.errno];
    if (note) return note;
    return `the call failed${ev.errno || ev.error ? ': ' : ''}${[ev.errno, ev.error].filter(Boolean).join(', ')}`;
  }
  const n = (x) => Number(x) || 0;
  switch (ev.kind) {
    case 'getaddrinfo':
      return 'turns the host and port into a socket address; numeric, so no DNS query is sent';
    case 'socket':
      return `creates an endpoint, fd ${ev.ret}: no address and no connection yet, nothing is sent`;
    case 'setsockopt': {
      const note = SOCKOPT_NOTES[ev.option];
      if (typeof note === 'function') return note(ev.value ?? 0);
      return note ?? `sets the socket option ${ev.option ?? ''}`.trim();
    }
    case 'bind':
      return `gives the socket its local address${ev.local ? ` ${ev.local}` : ''}; nothing is sent`;
    case 'listen':
      return `marks the socket passive: the kernel now completes handshakes into a queue of up to ${ev.backlog ?? 'backlog'}`;
    case 'connect':
      return 'sends SYN; returns when the SYN-ACK arrives (three-way handshake)';
    case 'accept':
      return `takes a finished handshake from the listen queue; a new socket for this connection${ev.ret >= 0 ? `, fd ${ev.ret}` : ''}${ev.blocked ? ' (it waited: the queue was empty)' : ''}`;
    case 'send': {
      if (n(ev.want) > n(ev.bytes)) return `the send buffer was full: the kernel took only ${n(ev.bytes)} of ${n(ev.want)} bytes`;
      const queued = n(ev.outq) > 0 ? ` (${n(ev.outq)} bytes not yet acknowledged)` : '';
      if (ev.blocked) return `waited for room in the send buffer (the reader is behind), then copied the bytes in${queued}`;
      return `copies the bytes into the send buffer and returns; the kernel sends them on${queued}`;
    }
    case 'recv': {
      if (isEOF(ev)) return "returns 0: the peer sent FIN and every byte before it has been read (end of file)";
      const left = n(ev.inq) > 0 ? `${n(ev.inq)} bytes still queued` : 'the queue is now empty';
      return `${ev.blocked ? 'waited for data, then copies' : 'copies'} from the receive queue; ${left}`;
    }
    case 'shutdown':
      if (ev.how === 'SHUT_RD') return 'stops reading: data queued or still to come is thrown away; nothing is sent';
      if (ev.how === 'SHUT_RDWR') return "sends FIN and stops reading; the peer's next read returns 0 once the data before it is read";
      return "sends FIN; the peer's next read returns 0 once the data before it is read";
    case 'close':
      if (n(context.unread) > 0) return `unread data: the kernel sends RST instead of FIN (${plural(n(context.unread), 'byte')} never read)`;
      if (context.listening) return 'stops listening and frees the port; handshakes still queued are reset';
      if (context.reset) return 'frees the fd; the peer already reset the connection, so nothing is sent';
      if (context.shut) return 'frees the fd; its FIN already went out with shutdown';
      if (context.connected) return "sends FIN (the peer's next read returns 0) and frees the fd";
      return 'frees the fd; there was no connection to end';
    default:
      return '';
  }
}

/** What a captured segment does, by its flags. */
export function explainSegment(ev) {
  const f = (x) => hasFlag(ev, x);
  if (f('RST')) return 'RST: aborts the connection; the peer\'s next call fails (ECONNRESET, or ECONNREFUSED for a connect)';
  if (f('SYN') && f('ACK')) return 'SYN-ACK: the listening side\'s kernel answers the SYN (step 2 of the handshake), no accept needed';
  if (f('SYN')) return 'SYN: asks to open a connection and picks this direction\'s first sequence number (step 1 of the handshake)';
  if (f('FIN')) return 'FIN: this side will send no more data (shutdown or close); it takes one sequence number';
  if (ev.len > 0) return `carries ${plural(ev.len, 'byte')} of data; the receiver\'s kernel queues them for read`;
  if (f('ACK')) return 'ACK: acknowledges what arrived so far (no data); the sender may drop those bytes from its send queue';
  return 'a TCP segment';
}

/** The text a pending call's ghost mark shows: "next: read(fd 8)". */
export function pendingLabel(p) {
  return `next: ${callName(p)}(${p.fd >= 0 ? `fd ${p.fd}` : ''})`;
}

/**
 * The index of the choice a question offered that the revealed event
 * bears out (the server's choices are in a fixed order: netcore's
 * question), or -1 when none does.
 *   recv:    0 data, 1 end of file, 2 it blocks, 3 an error
 *   connect: 0 connected, 1 it blocks, 2 ECONNREFUSED, 3 ETIMEDOUT
 *   send:    0 all the bytes, 1 a short write, 2 it blocks, 3 an error
 */
export function rightChoice(kind, ev) {
  if (!ev) return -1;
  switch (kind ?? ev.kind) {
    case 'recv':
      if (ev.errno || ev.ret < 0) return 3;
      if (isEOF(ev)) return 1;
      if (ev.blocked) return 2;
      return 0;
    case 'connect':
      if (!isError(ev) && ev.ret === 0) return 0;
      if (ev.errno === 'ECONNREFUSED') return 2;
      if (ev.errno === 'ETIMEDOUT') return 3;
      if (ev.blocked) return 1;
      return -1;
    case 'send':
      if (ev.errno || ev.ret < 0) return 3;
      if ((ev.bytes ?? 0) < (ev.want ?? 0)) return 1;
      if (ev.blocked) return 2;
      return 0;
    default:
      return -1;
  }
}

const C_KEYWORDS = new Set(('auto break case const continue default do else enum extern for goto if inline register ' +
  'restrict return sizeof static struct switch typedef union volatile while').split(' '));
const C_TYPES = new Set(('bool char double float int long short signed unsigned void FILE').split(' '));
/** The socket calls seqd traces: emphasised in the listings. */
const C_CALLS = new Set(('getaddrinfo socket setsockopt bind listen connect accept read write send recv ' +
  'sendto recvfrom shutdown close').split(' '));

const C_TOKEN = new RegExp([
  String.raw`(\/\*)`, // 1: a block comment starts
  String.raw`(\/\/.*)`, // 2: a line comment
  String.raw`("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)`, // 3: a string or character literal
  String.raw`((?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)[uUlLfF]*)`, // 4: a number
  String.raw`([A-Za-z_]\w*)`, // 5: an identifier
].join('|'), 'g');

/**
 * Highlights C source: returns one HTML string per line, the text escaped,
 * tokens wrapped in <span class="c-…">: kw (keywords), type, str (strings
 * and characters), com (comments), num, pp (preprocessor), const
 * (CAPITAL_NAMES: macros and constants), call (the socket calls). A small
 * hand-written tokenizer, good for the listings seqd ships, not a parser.
 */
export function highlightC(text) {
  const span = (cls, s) => `<span class="c-${cls}">${esc(s)}</span>`;
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  let inComment = false;
  return lines.map((line) => {
    let out = '';
    let i = 0;
    if (inComment) {
      const end = line.indexOf('*/');
      if (end < 0) return line ? span('com', line) : '';
      out += span('com', line.slice(0, end + 2));
      i = end + 2;
      inComment = false;
    }
    const pp = i === 0 ? /^(\s*)(#\s*\w+)(\s*)(<[^>]*>)?/.exec(line) : null;
    if (pp) {
      out += esc(pp[1]) + span('pp', pp[2]) + esc(pp[3]) + (pp[4] ? span('str', pp[4]) : '');
      i = pp[0].length;
    }
    C_TOKEN.lastIndex = i;
    let m;
    while ((m = C_TOKEN.exec(line))) {
      out += esc(line.slice(i, m.index));
      i = m.index + m[0].length;
      if (m[1]) {
        const end = line.indexOf('*/', m.index + 2);
        if (end < 0) {
          out += span('com', line.slice(m.index));
          inComment = true;
          i = line.length;
          break;
        }
        out += span('com', line.slice(m.index, end + 2));
        i = C_TOKEN.lastIndex = end + 2;
      } else if (m[2]) out += span('com', m[2]);
      else if (m[3]) out += span('str', m[3]);
      else if (m[4]) {
        // A digit inside a word (x2) is the identifier's, not a number.
        out += /\w/.test(line[m.index - 1] ?? '') ? esc(m[4]) : span('num', m[4]);
      } else {
        const w = m[5];
        if (C_KEYWORDS.has(w)) out += span('kw', w);
        else if (C_TYPES.has(w) || /^\w+_t$/.test(w)) out += span('type', w);
        else if (C_CALLS.has(w) && /^\s*\(/.test(line.slice(i))) out += span('call', w);
        else if (/^[A-Z][A-Z0-9_]+$/.test(w)) out += span('const', w);
        else out += esc(w);
      }
    }
    return out + esc(line.slice(i));
  });
}

// ---------------------------------------------------------------------------
// Layout: events → rows, marks, arrows, bars, lifeline segments

/** The height the proportional scale gives a session of n events. */
function fitHeight(n) {
  return Math.min(G.maxFit, Math.max(600, n * G.row));
}

/** The proportional scale's pixels per nanosecond that fit events. */
export function fitPxPerNs(events) {
  const span = Math.max(1e6, events.length ? events[events.length - 1].t_ns : 0);
  return fitHeight(events.length) / span;
}

/** The first index of a sorted list of byte ranges whose end is past off. */
function firstEndingAfter(list, off) {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].hi > off) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Inserts a byte range into a list kept sorted by its start. */
function insertRange(list, item) {
  if (!list.length || list[list.length - 1].lo <= item.lo) {
    list.push(item);
    return;
  }
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid].lo <= item.lo) lo = mid + 1;
    else hi = mid;
  }
  list.splice(lo, 0, item);
}

/** map's value for key, made by make() and stored if absent. */
function getOrMake(map, key, make) {
  let v = map.get(key);
  if (v === undefined) map.set(key, (v = make()));
  return v;
}

/**
 * Layout places events incrementally: add them in seq order, and the arrays
 * grow. Items already placed never move, except that an open lifeline
 * segment (y2 null) gets an end and a send mark gets paired; needsRelayout
 * turns true when the layout can no longer grow in place (the proportional
 * scale outgrew its fit, or so many actors came that they need narrower
 * spacing).
 */
export class Layout {
  /**
   * @param {{scale?: string, pxPerNs?: number, actors?: string[]}} options
   *   actors seeds the lifelines' order; pxPerNs is the proportional scale's.
   */
  constructor({ scale, pxPerNs = 0, actors = [] } = {}) {
    this.scale = normalizeScale(scale);
    this.pxPerNs = pxPerNs > 0 ? pxPerNs : fitPxPerNs([]);
    this.spacing = actors.length > G.manyActors ? G.narrow : G.spacing;
    this.actors = []; // {name, index, x, side}
    this.rows = []; // {seq, t, y, dt}, in seq order
    this.marks = []; // one per event, in seq order; chunk = its row's index / CHUNK
    this.arrows = []; // one per overlapping send/recv pair; chunk: that of its middle row
    this.bars = []; // activation bars of blocked or slow calls; y2 null while open
    this.gutter = []; // Δt labels, chunked as their rows
    this.segments = []; // lifeline pieces: {actor, index, x, y1, y2, half}
    this.paired = []; // seqs of send marks, as each gets its first arrow
    this.pos = new Map(); // seq → index in rows and marks
    this.needsRelayout = false;
    this._life = new Map(); // actor → {open, half, seg}: its connections' state
    this._sends = new Map(); // conn → actor → byte ranges written
    this._recvs = new Map(); // conn → actor → byte ranges read
    this._connActors = new Map(); // conn → actors seen on it
    this._listeners = new Map(); // bound address → actor
    this._fdConn = new Map(); // "actor fd" → conn
    this._tcp = new Map(); // "actor fd" → the TCP state shown last
    this._readHi = new Map(); // "actor fd" → the stream offset its reads reached
    this._inq = new Map(); // "actor fd" → bytes left queued after its last read
    this._listening = new Set(); // "actor fd" of listening sockets
    this._shut = new Set(); // "actor fd" that sent their FIN with shutdown
    this._reset = new Set(); // "actor fd" whose connection the peer reset
    this._addrs = new Map(); // socket address → the actor whose socket it is
    this._isn = new Map(); // "from>to" address pair → the first tcp_seq seen that way
    this.segCount = 0; // segments placed (not calls)
    this._open = new Map(); // call id → {bar, mark, ev} of a begin whose end has not come
    this.calls = new Map(); // call id → {begin, end}: the seqs of a split call's halves
    this.closed = []; // bars closed by their end, in the order they closed
    this._gutterY = -Infinity;
    for (const name of actors) this.actor(name);
  }

  /** The diagram's width. */
  get width() {
    return G.gutter + 2 * G.side + Math.max(0, this.actors.length - 1) * this.spacing;
  }

  /** The diagram's height. */
  get height() {
    return (this.rows.length ? this.rows[this.rows.length - 1].y : G.top) + G.pad;
  }

  /** The bottom of the lifelines. */
  get bottom() {
    return this.height - G.pad / 2;
  }

  /** Returns the lifeline of the actor named, adding it if new. */
  actor(name) {
    const known = this._life.get(name);
    if (known) return known.actor;
    const index = this.actors.length;
    const actor = {
      name,
      index,
      x: G.gutter + G.side + index * this.spacing,
      side: index === 0 ? 'left' : 'right',
    };
    this.actors.push(actor);
    const life = { actor, open: new Set(), half: new Set(), seg: null };
    this._life.set(name, life);
    this._segment(life, G.nameTop + G.nameHeight, false);
    if (this.actors.length > G.manyActors && this.spacing !== G.narrow) this.needsRelayout = true;
    return actor;
  }

  /** Places the next event (events come in seq order) and returns its mark. */
  add(ev) {
    const actor = this.actor(ev.actor ?? '?');
    const prev = this.rows[this.rows.length - 1];
    const dt = prev ? Math.max(0, ev.t_ns - prev.t) : 0;
    const y = this._y(ev, prev, dt);
    const index = this.rows.length;
    this.rows.push({ seq: ev.seq, t: ev.t_ns, y, dt });
    this.pos.set(ev.seq, index);

    if (y - this._gutterY >= G.gutterGap) {
      this.gutter.push({ seq: ev.seq, y, chunk: Math.floor(index / CHUNK), text: index ? `+${formatDuration(dt)}` : '0' });
      this._gutterY = y;
    }
    if (this.scale === 'proportional' && y > G.top + 2 * fitHeight(index + 1)) this.needsRelayout = true;
    if (ev.kind === 'segment') return this._addSegment(ev, actor, index, y);
    if (isBegin(ev)) return this._addBegin(ev, actor, index, y);
    this._bar(ev, actor, index, y);

    const key = `${actor.name} ${ev.kind === 'accept' && ev.ret > 0 ? ev.ret : ev.fd}`;
    if (ev.conn) {
      getOrMake(this._connActors, ev.conn, () => new Set()).add(actor.name);
      this._fdConn.set(key, ev.conn);
    }
    if ((ev.kind === 'bind' || ev.kind === 'listen') && ev.local && !isError(ev)) {
      this._listeners.set(ev.local, actor.name);
    }
    if (ev.local && !isError(ev)) this._addrs.set(ev.local, actor.name);

    let tcp = '';
    if (ev.kind === 'close') this._tcp.delete(key);
    else if (ev.tcp_state && this._tcp.get(key) !== ev.tcp_state) {
      tcp = ev.tcp_state;
      this._tcp.set(key, tcp);
    }

    const mark = this._mark(ev, actor, index, y, { label: eventLabel(ev), tcp });
    const sends = isData(ev) && ev.conn ? this._pair(ev, mark) : [];
    const peer = this._peer(ev);
    mark.sentence = transcriptSentence(ev, { peer, sends });
    mark.note = explain(ev, ev.kind === 'close' ? this._closing(ev, key) : { peer });
    this._inferredNote(mark);
    this._track(ev, key);
    this._lifeline(ev, key, y);
    return mark;
  }

  /** A call's mark, with what every mark has; extra adds or overrides fields. */
  _mark(ev, actor, index, y, extra) {
    const mark = {
      seq: ev.seq,
      chunk: Math.floor(index / CHUNK),
      t: ev.t_ns,
      actor: actor.name,
      kind: String(ev.kind ?? ''),
      phase: isBegin(ev) ? 'begin' : isEnd(ev) ? 'end' : '',
      call: ev.call > 0 && (isBegin(ev) || isEnd(ev)) ? ev.call : 0,
      x: actor.x,
      y,
      side: actor.side,
      label: '',
      tcp: '',
      error: isError(ev),
      eof: isEOF(ev),
      data: isData(ev),
      paired: false,
      inferred: ev.inferred === true,
      sentence: '',
      note: '',
      ...extra,
    };
    this.marks.push(mark);
    return mark;
  }

  /** Says on an inferred call's mark that seqd deduced it. */
  _inferredNote(mark) {
    if (!mark.inferred) return;
    const traced = this._life.has('proxy') ? 'proxy' : 'server';
    mark.note = `inferred from what the ${traced} saw${mark.note ? `: ${mark.note}` : ''}`;
    mark.sentence += ' (inferred)';
  }

  /**
   * Places the begin of a split call: its mark at its entry and an open
   * bar below it, which grows (the element draws it to the newest row)
   * until the end with the same call id closes it. A begin moves no bytes,
   * changes no state and pairs with nothing.
   */
  _addBegin(ev, actor, index, y) {
    if (ev.conn) getOrMake(this._connActors, ev.conn, () => new Set()).add(actor.name);
    const mark = this._mark(ev, actor, index, y, { label: beginLabel(ev), begin: true });
    mark.sentence = transcriptSentence(ev, { peer: this._peer(ev) });
    mark.note = explain(ev);
    this._inferredNote(mark);
    const bar = { seq: ev.seq, call: mark.call, endSeq: null, kind: mark.kind, actor: actor.name, x: actor.x, y1: y - 6, y2: null, open: true, t: ev.t_ns };
    this.bars.push(bar);
    if (mark.call) this._open.set(mark.call, { bar, mark, ev });
    return mark;
  }

  /**
   * The bar of a call that waited: an end closes its begin's bar (begin to
   * end); a single event that blocked or took long (an old record, or a
   * wait no other event interrupted) gets one up to its entry.
   */
  _bar(ev, actor, index, y) {
    const open = isEnd(ev) ? this._open.get(ev.call) : null;
    if (open) {
      this._open.delete(ev.call);
      const { bar, mark } = open;
      bar.y2 = Math.max(y + 3, bar.y1 + 6);
      bar.endSeq = ev.seq;
      bar.open = false;
      mark.label = beginLabel(open.ev, ev.dur_ns ?? ev.t_ns - open.ev.t_ns);
      this.calls.set(ev.call, { begin: bar.seq, end: ev.seq });
      this.closed.push(bar);
      return;
    }
    if (ev.blocked || ev.dur_ns >= G.blockNs) {
      const y1 = Math.min(this._yAt(ev.t_ns - ev.dur_ns, index), y - 10);
      this.bars.push({ seq: ev.seq, call: 0, endSeq: ev.seq, kind: String(ev.kind ?? ''), actor: actor.name, x: actor.x, y1, y2: y + 3, open: false });
    }
  }

  /** The bars still open (a begin whose end has not come), oldest first. */
  get openBars() {
    return [...this._open.values()].map((o) => o.bar);
  }

  /** The seq of the other half of the split call event seq is half of, or undefined. */
  partnerOf(seq) {
    const m = this.marks[this.pos.get(seq)];
    if (!m?.call) return undefined;
    const c = this.calls.get(m.call);
    if (!c) return undefined;
    return c.begin === seq ? c.end : c.begin;
  }

  /**
   * The y an open bar reaches at session time t: as far as the next row
   * would be at t, at most the diagram's bottom (an open bar never makes
   * the diagram taller: it grows as rows come).
   */
  openBottom(t) {
    const last = this.rows[this.rows.length - 1];
    if (!last) return G.top;
    const next = this._y({ t_ns: t }, last, Math.max(0, t - last.t));
    return Math.max(last.y + 3, Math.min(next, this.bottom - 2));
  }

  /**
   * Places a captured segment: a thin arrow from its sender's lifeline to
   * the other end of its connection, on its own row. It is not a call: no
   * bar, no lifeline change, no pairing.
   */
  _addSegment(ev, actor, index, y) {
    this.segCount++;
    if (ev.local) this._addrs.set(ev.local, actor.name);
    const toName = this._segPeer(ev);
    const to = toName ? this._life.get(toName)?.actor : null;
    const dir = `${ev.local ?? ''}>${ev.peer ?? ''}`;
    const back = `${ev.peer ?? ''}>${ev.local ?? ''}`;
    const seqNo = Number(ev.tcp_seq) || 0;
    if (!this._isn.has(dir)) this._isn.set(dir, seqNo);
    const relSeq = (seqNo - this._isn.get(dir)) >>> 0;
    const relAck = hasFlag(ev, 'ACK') && this._isn.has(back) ? ((Number(ev.tcp_ack) || 0) - this._isn.get(back)) >>> 0 : null;
    const mark = {
      seq: ev.seq,
      chunk: Math.floor(index / CHUNK),
      t: ev.t_ns,
      actor: actor.name,
      kind: 'segment',
      x: actor.x,
      y,
      side: actor.side,
      x2: to && to.x !== actor.x ? to.x : null,
      to: to ? to.name : '',
      label: segmentLabel(ev),
      rst: hasFlag(ev, 'RST'),
      relSeq,
      relAck,
      tcp: '',
      error: false,
      eof: false,
      data: false,
      paired: false,
      inferred: false,
      sentence: '',
      note: explainSegment(ev),
    };
    mark.sentence = transcriptSentence(ev, { peer: mark.to });
    this.marks.push(mark);
    return mark;
  }

  /**
   * The actor a segment goes to: the other end of its connection, else the
   * actor whose socket has its destination address, else the other
   * lifeline when there are two.
   */
  _segPeer(ev) {
    const actors = ev.conn && this._connActors.get(ev.conn);
    if (actors) for (const a of actors) if (a !== ev.actor) return a;
    const byAddr = ev.peer ? this._addrs.get(ev.peer) ?? this._listeners.get(ev.peer) : undefined;
    if (byAddr && byAddr !== ev.actor) return byAddr;
    if (this.actors.length === 2) return this.actors[this.actors[0].name === ev.actor ? 1 : 0].name;
    return '';
  }

  /** What explain needs to know about a socket being closed. */
  _closing(ev, key) {
    const conn = ev.conn || this._fdConn.get(key);
    let unread = this._inq.get(key) ?? 0;
    const theirs = conn && this._sends.get(conn);
    if (theirs) {
      // Bytes the other end wrote past what this socket read.
      let sent = 0;
      for (const [actor, list] of theirs) if (actor !== ev.actor && list.length) sent = Math.max(sent, list[list.length - 1].hi);
      unread = Math.max(unread, sent - (this._readHi.get(key) ?? 0));
    }
    return {
      unread,
      listening: this._listening.has(key),
      shut: this._shut.has(key),
      reset: this._reset.has(key),
      connected: Boolean(conn),
    };
  }

  /** Remembers what a socket's later close needs explained. */
  _track(ev, key) {
    if (ev.kind === 'close') {
      this._readHi.delete(key);
      this._inq.delete(key);
      this._listening.delete(key);
      this._shut.delete(key);
      this._reset.delete(key);
    } else if (isError(ev)) {
      if (ev.errno === 'ECONNRESET' || ev.errno === 'EPIPE') this._reset.add(key);
    } else if (ev.kind === 'recv') {
      this._readHi.set(key, Math.max(this._readHi.get(key) ?? 0, (ev.offset ?? 0) + (ev.bytes ?? 0)));
      this._inq.set(key, ev.inq ?? 0);
    } else if (ev.kind === 'listen') {
      this._listening.add(key);
    } else if (ev.kind === 'shutdown' && /WR/.test(ev.how ?? '')) {
      this._shut.add(key);
    }
  }

  /** The y of the next row. */
  _y(ev, prev, dt) {
    if (this.scale === 'proportional') return G.top + G.row / 2 + Math.max(0, ev.t_ns) * this.pxPerNs;
    if (!prev) return G.top + G.row / 2;
    if (this.scale === 'logarithmic') {
      return prev.y + Math.min(G.logMax, G.logMin + G.logK * Math.log10(1 + dt / 1e3));
    }
    return prev.y + G.row;
  }

  /** The y at which time t falls among the first n rows. */
  _yAt(t, n) {
    if (this.scale === 'proportional') return G.top + G.row / 2 + Math.max(0, t) * this.pxPerNs;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.rows[mid].t >= t) hi = mid;
      else lo = mid + 1;
    }
    if (lo >= n) return Infinity;
    return lo ? (this.rows[lo - 1].y + this.rows[lo].y) / 2 : this.rows[0].y - 10;
  }

  /** The actor at the other end of ev's connection, where known. */
  _peer(ev) {
    const actors = ev.conn && this._connActors.get(ev.conn);
    if (actors) for (const a of actors) if (a !== ev.actor) return a;
    return (ev.peer && this._listeners.get(ev.peer)) || '';
  }

  /**
   * Pairs a send or recv with the recvs or sends on the other end of its
   * connection whose byte ranges overlap its own, adding one arrow per
   * pair. Returns, for a recv, the writes it read from.
   */
  _pair(ev, mark) {
    const item = { seq: ev.seq, lo: ev.offset ?? 0, hi: (ev.offset ?? 0) + ev.bytes, actor: ev.actor, ev, mark };
    const isSend = ev.kind === 'send';
    const mine = getOrMake(isSend ? this._sends : this._recvs, ev.conn, () => new Map());
    insertRange(getOrMake(mine, ev.actor, () => []), item);
    const writes = [];
    const theirs = (isSend ? this._recvs : this._sends).get(ev.conn);
    if (!theirs) return writes;
    for (const [actor, list] of theirs) {
      if (actor === ev.actor) continue;
      for (let i = firstEndingAfter(list, item.lo); i < list.length && list[i].lo < item.hi; i++) {
        const other = list[i];
        if (isSend) this._arrow(item, other, ev.seq);
        else {
          this._arrow(other, item, ev.seq);
          writes.push({ actor: other.actor, bytes: other.ev.bytes });
        }
      }
    }
    return writes;
  }

  /** Adds the arrow for the overlap of a write s and a read r. */
  _arrow(s, r, at) {
    const lo = Math.max(s.lo, r.lo);
    const hi = Math.min(s.hi, r.hi);
    const from = this._life.get(s.actor).actor;
    const to = this._life.get(r.actor).actor;
    const dir = to.x >= from.x ? 1 : -1;
    // A whole write is labelled as the write; part of one by its byte range
    // (the read's own label shows what it got).
    const whole = lo === s.lo && hi === s.hi;
    const label = whole ? eventLabel(s.ev) : `bytes ${lo}–${hi - 1}`;
    this.arrows.push({
      sendSeq: s.seq,
      recvSeq: r.seq,
      at,
      from: from.name,
      to: to.name,
      lo,
      hi,
      label,
      whole,
      inferred: s.mark.inferred || r.mark.inferred,
      chunk: Math.floor((this.pos.get(s.seq) + this.pos.get(r.seq)) / 2 / CHUNK),
      x1: from.x + dir * G.r,
      y1: s.mark.y,
      x2: to.x - dir * (G.r + 1),
      y2: r.mark.y,
    });
    if (!s.mark.paired) {
      s.mark.paired = true;
      this.paired.push(s.seq);
    }
  }

  /**
   * Tracks the actor's connections to draw its lifeline half-closed (dashed)
   * while every connection it has open has been shut down for writing or
   * has read end of file.
   */
  _lifeline(ev, key, y) {
    const life = this._life.get(ev.actor ?? '?');
    const conn = ev.conn || this._fdConn.get(key);
    if (!conn) return;
    if (ev.kind === 'close') {
      life.open.delete(conn);
      life.half.delete(conn);
    } else if (!isError(ev)) {
      life.open.add(conn);
      const shutWrite = ev.kind === 'shutdown' && /WR/.test(ev.how ?? '');
      if (shutWrite || isEOF(ev)) life.half.add(conn);
    }
    let half = life.open.size > 0;
    for (const c of life.open) if (!life.half.has(c)) half = false;
    if (half !== life.seg.half) {
      life.seg.y2 = y;
      this._segment(life, y, half);
    }
  }

  _segment(life, y1, half) {
    const { actor } = life;
    life.seg = { actor: actor.name, index: actor.index, x: actor.x, y1, y2: null, half };
    this.segments.push(life.seg);
  }
}

/**
 * Lays a session record out: events in seq order become rows (y), actors
 * lifelines (x), each event a mark, and each overlap between a send and a
 * recv on the two ends of one connection an arrow. Pure: no DOM.
 *
 * @param {{events?: object[], actors?: string[]}} record
 * @param {{scale?: string}} options compact, proportional or logarithmic
 */
export function layout(record, { scale } = {}) {
  const events = record.events ?? [];
  const L = new Layout({ scale, pxPerNs: fitPxPerNs(events), actors: record.actors ?? [] });
  for (const ev of events) L.add(ev);
  return {
    scale: L.scale,
    width: L.width,
    height: L.height,
    actors: L.actors.map((a) => ({ ...a })),
    rows: L.rows,
    marks: L.marks,
    arrows: L.arrows,
    bars: L.bars.map((b) => ({ ...b, y2: b.y2 ?? L.bottom })),
    calls: L.calls,
    gutter: L.gutter,
    segments: L.segments.map((s) => ({ ...s, y2: s.y2 ?? L.bottom })),
  };
}

// ---------------------------------------------------------------------------
// Markup: layout items → SVG and table markup strings

const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for markup text and attribute values. */
export function esc(s) {
  s = String(s);
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESC[c]) : s;
}

/**
 * The markup of one element: attributes that are null, undefined or false
 * are left out, true ones are written bare; children are markup already.
 */
export function svg(tag, attrs = {}, ...children) {
  let s = `<${tag}`;
  for (const k in attrs) {
    const v = attrs[k];
    if (v == null || v === false) continue;
    s += v === true ? ` ${k}` : ` ${k}="${typeof v === 'number' ? Math.round(v * 10) / 10 : esc(v)}"`;
  }
  return `${s}>${children.join('')}</${tag}>`;
}

/** The CSS class that colours an actor's items. */
export function actorClass(name) {
  return /^server/.test(name) ? 'actor-server' : 'actor-client';
}

/** An actor's lifeline group: the name box on top; segments come later. */
export function renderLifeline(actor, spacing = G.spacing) {
  const w = Math.min(spacing - 20, Math.max(80, actor.name.length * 9 + 28));
  return svg(
    'g',
    { class: `lifeline ${actorClass(actor.name)}`, 'data-actor': actor.name },
    svg('rect', { class: 'name-box', x: actor.x - w / 2, y: G.nameTop, width: w, height: G.nameHeight, rx: 6 }),
    svg('text', { class: 'name', x: actor.x, y: G.nameTop + 20, 'text-anchor': 'middle' }, esc(actor.name)),
  );
}

/** A piece of lifeline, solid or dashed (half-closed). bottom ends an open one. */
export function renderSegment(seg, bottom) {
  return svg('line', {
    class: seg.half ? 'life half' : 'life',
    x1: seg.x,
    x2: seg.x,
    y1: seg.y1,
    y2: seg.y2 ?? bottom,
  });
}

/** The shape of a mark: what kind of call it is at a glance. */
function markShape({ kind, x, y, data, eof, error, phase }) {
  // A begin is the top of its bar: a cap across the lifeline.
  if (phase === 'begin') return svg('rect', { class: 'shape cap', x: x - 8, y: y - 2, width: 16, height: 4, rx: 1.5 });
  if (kind === 'close') {
    return svg('path', { class: 'shape cross', d: `M${x - 5},${y - 5}L${x + 5},${y + 5}M${x + 5},${y - 5}L${x - 5},${y + 5}` });
  }
  if (kind === 'connect' || kind === 'accept') {
    return svg('path', { class: 'shape', d: `M${x},${y - 7}L${x + 7},${y}L${x},${y + 7}L${x - 7},${y}Z` });
  }
  if (kind === 'shutdown') return svg('rect', { class: 'shape', x: x - 7, y: y - 2.5, width: 14, height: 5 });
  if (data || error || eof || kind === 'send' || kind === 'recv') {
    return svg('circle', { class: eof ? 'shape hollow' : 'shape', cx: x, cy: y, r: G.r });
  }
  if (Object.hasOwn(CALL, kind) || KNOWN.has(kind)) {
    return svg('rect', { class: 'shape', x: x - 4.5, y: y - 4.5, width: 9, height: 9 });
  }
  return svg('circle', { class: 'shape hollow', cx: x, cy: y, r: 4 });
}

/** Setup calls, drawn as small squares; kinds not known at all get a hollow circle. */
const KNOWN = new Set(['getaddrinfo', 'socket', 'setsockopt', 'bind', 'listen']);

/**
 * A captured segment: a small mark on the sender's lifeline (its .event,
 * focusable like a call's) and a thin arrow to the receiver's, labelled
 * with its flags and payload length.
 */
export function renderSegmentMark(m, labels = true) {
  const r = (v) => Math.round(v * 10) / 10;
  let body = `<circle class="shape" cx="${r(m.x)}" cy="${r(m.y)}" r="2.5"></circle>`;
  if (m.x2 != null) {
    const dir = m.x2 > m.x ? 1 : -1;
    const x1 = m.x + dir * 4;
    const x2 = m.x2 - dir * 1.5;
    const bx = x2 - dir * 7;
    body += `<path class="seg-line" d="M${r(x1)},${r(m.y)}L${r(bx)},${r(m.y)}M${r(x2)},${r(m.y)}L${r(bx)},${r(m.y - 3.5)}L${r(bx)},${r(m.y + 3.5)}Z"></path>`;
  }
  if (labels) body += segmentMarkLabel(m);
  const name = labels ? ` aria-label="${esc(markName(m))}"` : '';
  return `<g class="event seg k-segment ${actorClass(m.actor)}${m.rst ? ' rst' : ''}" data-seq="${m.seq}" data-actor="${esc(m.actor)}" tabindex="0" role="img"${name}>${body}</g>`;
}

/** A mark's accessible name: what happened, its event number and time. */
export function markName(m) {
  return `${m.sentence} (${m.kind === 'segment' ? 'segment, ' : ''}event ${m.seq}, at ${formatTime(m.t)})`;
}

/** A segment's label: over the middle of its arrow, or beside its mark. */
function segmentMarkLabel(m) {
  const r = (v) => Math.round(v * 10) / 10;
  if (m.x2 != null) return `<text class="label" x="${r((m.x + m.x2) / 2)}" y="${r(m.y - 4)}" text-anchor="middle">${esc(m.label)}</text>`;
  const left = m.side === 'left';
  return `<text class="label" x="${r(left ? m.x - 8 : m.x + 8)}" y="${r(m.y + 4)}" text-anchor="${left ? 'end' : 'start'}">${esc(m.label)}</text>`;
}

/**
 * The texts of a mark, after its shape: its label, with the TCP state
 * (inside the label on the right of the lifeline, apart on the left).
 */
export function renderMarkLabel(m) {
  if (m.kind === 'segment') return segmentMarkLabel(m);
  const left = m.side === 'left';
  // The TCP state follows the label on the right; on the left, where labels
  // run toward the gutter, it sits just inside the lifeline, under the row.
  const tcp = !m.tcp ? '' : left
    ? svg('text', { class: 'tcp', x: m.x + 9, y: m.y + 15 }, esc(m.tcp))
    : svg('tspan', { class: 'tcp', dx: 8 }, esc(m.tcp));
  return svg(
    'text',
    { class: 'label', x: left ? m.x - 12 : m.x + 12, y: m.y + 4.5, 'text-anchor': left ? 'end' : 'start' },
    esc(m.label),
    left ? '' : tcp,
  ) + (left ? tcp : '');
}

/**
 * A focusable mark for one event, with its label and TCP state. Without
 * labels, the mark alone: the element adds the texts (renderMarkLabel) and
 * the accessible name (markName)
 * when its chunk comes near the viewport.
 */
export function renderMark(m, labels = true) {
  if (m.kind === 'segment') return renderSegmentMark(m, labels);
  const cls = ['event', `k-${m.kind.replace(/[^\w-]/g, '')}`, actorClass(m.actor)];
  if (m.phase) cls.push(m.phase);
  if (m.inferred) cls.push('inferred');
  if (m.error) cls.push('error');
  if (m.eof) cls.push('eof');
  if (m.data) cls.push('data');
  return svg(
    'g',
    {
      class: cls.join(' '),
      'data-seq': m.seq,
      'data-actor': m.actor,
      'data-phase': m.phase || null,
      'data-call': m.call || null,
      'data-paired': m.paired,
      tabindex: 0,
      role: 'img',
      'aria-label': labels ? markName(m) : null,
    },
    markShape(m),
    labels ? renderMarkLabel(m) : '',
  );
}

/**
 * An arrow's hit area (a wide transparent line, for the pointer) and its
 * label: what the element adds when the arrow's chunk comes near.
 */
export function renderArrowDecor(a) {
  const dx = a.x2 - a.x1;
  const dy = a.y2 - a.y1;
  const len = Math.hypot(dx, dy) || 1;
  const r = (v) => Math.round(v * 10) / 10;
  // The label runs along the arrow, upright, just above it and as near as
  // it fits to the write's end for a whole write (several writes may go
  // into one read), to the read's end for part of one (one write may go to
  // several reads): arrows that share an end keep their labels apart.
  const angle = (Math.atan2(dx < 0 ? -dy : dy, Math.abs(dx)) * 180) / Math.PI;
  const fromEnd = Math.min(len / 2, Array.from(a.label).length * 3.9 + 14); // 7.8px a character
  const t = a.whole ? fromEnd / len : 1 - fromEnd / len;
  return [
    svg('line', { class: 'hit', x1: a.x1, y1: a.y1, x2: a.x2, y2: a.y2 }),
    svg(
      'text',
      { class: 'label', transform: `translate(${r(a.x1 + t * dx)} ${r(a.y1 + t * dy)}) rotate(${r(angle)})`, y: -5, 'text-anchor': 'middle' },
      esc(a.label),
    ),
  ];
}

/**
 * An arrow from a write's mark to a read's mark, labelled; without labels,
 * the shaft alone (the element adds renderArrowDecor near the viewport).
 */
export function renderArrow(a, labels = true) {
  const dx = a.x2 - a.x1;
  const dy = a.y2 - a.y1;
  const len = Math.hypot(dx, dy) || 1;
  const ux = dx / len;
  const uy = dy / len;
  const bx = a.x2 - ux * 10;
  const by = a.y2 - uy * 10;
  const r = (v) => Math.round(v * 10) / 10;
  // One path: the shaft, then the head as a filled triangle.
  const d = `M${r(a.x1)},${r(a.y1)}L${r(bx)},${r(by)}M${r(a.x2)},${r(a.y2)}L${r(bx - uy * 5)},${r(by + ux * 5)}L${r(bx + uy * 5)},${r(by - ux * 5)}Z`;
  const [hit, label] = labels ? renderArrowDecor(a) : ['', ''];
  return svg(
    'g',
    {
      class: `msg ${actorClass(a.from)}${a.inferred ? ' inferred' : ''}`,
      'data-send-seq': a.sendSeq,
      'data-recv-seq': a.recvSeq,
    },
    hit,
    svg('path', { class: 'shaft', d }),
    label,
  );
}

/**
 * The activation bar of a call that blocked or took long: data-seq is the
 * begin's (or the single event's), data-end-seq the end's once it came;
 * an open bar (data-open) reaches bottom, the element grows it live.
 */
export function renderBar(b, bottom = b.y1 + 6) {
  return svg('rect', {
    class: `bar ${actorClass(b.actor)}${b.open ? ' open' : ''}`,
    'data-seq': b.seq,
    'data-call': b.call || null,
    'data-end-seq': b.endSeq ?? null,
    'data-open': b.open,
    x: b.x - 5,
    y: b.y1,
    width: 10,
    height: barHeight(b, bottom),
    rx: 2,
  });
}

/** A bar's height: to its end, or for an open one to bottom. */
export function barHeight(b, bottom) {
  return Math.max(6, (b.y2 ?? bottom) - b.y1);
}

/** A Δt label in the left gutter. */
export function renderGutter(g) {
  return svg('text', { class: 'dt', x: G.gutter - 10, y: g.y + 4, 'text-anchor': 'end' }, esc(g.text));
}

/**
 * The ghost mark of the call a stepped session makes next, on its lifeline
 * one row below the last: a dashed outline and "next: read(fd 8)".
 */
export function renderPending(p, { x, y, side }) {
  const left = side === 'left';
  const [file, line] = sourceOf(p);
  return svg(
    'g',
    {
      class: `pending k-${String(p.kind ?? '').replace(/[^\w-]/g, '')} ${actorClass(p.actor ?? '')}`,
      'data-actor': p.actor ?? '',
      'data-kind': p.kind ?? '',
      'data-src': file,
      'data-line': line || null,
    },
    svg('circle', { class: 'ghost', cx: x, cy: y, r: 7 }),
    svg(
      'text',
      { class: 'label', x: left ? x - 14 : x + 14, y: y + 4.5, 'text-anchor': left ? 'end' : 'start' },
      esc(pendingLabel(p)),
      p.question ? svg('tspan', { class: 'ask', dx: 8 }, '? predict') : '',
    ),
  );
}

/** Width of one character of the diagram's monospace text at size px. */
const CHAR_EM = 0.61;

/** Breaks text into lines of at most max characters, at spaces. */
export function wrapText(text, max) {
  const lines = [];
  let line = '';
  for (const word of String(text).split(/\s+/).filter(Boolean)) {
    if (line && line.length + 1 + word.length > max) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(line);
  return lines;
}

/**
 * A mark's note (what the kernel did) as a callout under its label, on the
 * label's side of the lifeline and within the diagram's width.
 */
export function renderCallout(m, width) {
  const size = 11.5;
  const lines = wrapText(m.note, 44);
  const w = Math.ceil(Math.max(...lines.map((l) => Array.from(l).length)) * size * CHAR_EM) + 14;
  const h = lines.length * 15 + 7;
  let x = m.side === 'left' ? m.x - 12 - w : m.x + 8;
  x = Math.max(4, Math.min(x, width - w - 4));
  const y = m.y + 10;
  return svg(
    'g',
    { class: 'note-callout', 'data-seq': m.seq },
    svg('rect', { x, y, width: w, height: h, rx: 4 }),
    svg('text', { x: x + 7, y: y + 2 }, ...lines.map((l) => svg('tspan', { x: x + 7, dy: 15 }, esc(l)))),
  );
}

/** The markup of one listing: a line element per line, highlighted. */
export function renderListing(file, text) {
  const lines = highlightC(text);
  let body = '';
  for (let i = 0; i < lines.length; i++) {
    body += `<span class="line" data-src="${esc(file)}" data-line="${i + 1}" tabindex="${i ? -1 : 0}"><span class="no" aria-hidden="true">${i + 1}</span>${lines[i]}</span>`;
  }
  const who = file === 'server.c' ? 'the server' : file === 'client.c' ? 'every client' : '';
  return `<section class="file" data-file="${esc(file)}"><h3 class="file-name">${esc(file)}${who ? ` <span class="who">— ${who}</span>` : ''}</h3>` +
    `<pre class="listing" aria-label="${esc(file)}">${body}</pre></section>`;
}

/**
 * One row of the transcript table. dt is the time since the previous event;
 * note, what the kernel did (explain). The table is laid out as a grid of
 * rows (so that row groups can skip rendering offscreen), hence the
 * explicit ARIA roles. Rows take focus from the keyboard (tabindex -1).
 */
export function renderTranscriptRow(ev, dt, note = '', mark = null, cells = true) {
  const cls = transcriptRowClass(ev);
  return `<tr role="row" data-seq="${esc(ev.seq)}"${cls ? ` class="${cls}"` : ''} tabindex="-1">${cells ? renderTranscriptCells(ev, dt, note, mark) : ''}</tr>`;
}

/** The class of an event's transcript row. */
export function transcriptRowClass(ev) {
  if (ev.kind === 'segment') return `seg-row ${actorClass(ev.actor ?? '')}${hasFlag(ev, 'RST') ? ' error' : ''}`;
  return [actorClass(ev.actor ?? ''), isError(ev) ? 'error' : '', ev.inferred ? 'inferred' : '', isBegin(ev) ? 'begin' : isEnd(ev) ? 'end' : ''].filter(Boolean).join(' ');
}

/** The cells of an event's transcript row (see renderTranscriptRow). */
export function renderTranscriptCells(ev, dt, note = '', mark = null) {
  const td = (text) => svg('td', { role: 'cell' }, esc(text));
  const noteCell = svg('td', { role: 'cell', class: 'note' }, esc(note));
  if (ev.kind === 'segment') {
    const nums = `seq ${mark?.relSeq ?? ev.tcp_seq ?? 0}${mark?.relAck != null ? ` ack ${mark.relAck}` : ''} win ${ev.window ?? 0}`;
    return td(ev.seq) + td(formatTime(ev.t_ns)) + td(`+${formatDuration(dt)}`) + td(ev.actor ?? '') +
      td(`segment → ${mark?.to || ev.peer || '?'}`) + td(segmentLabel(ev).split(' ')[0]) +
      td(ev.len > 0 ? String(ev.len) : '') + td(nums) + noteCell;
  }
  const err = isError(ev);
  const begin = isBegin(ev);
  const result = begin ? '' : err ? `${ev.ret} ${ev.errno ?? ''}` : isEOF(ev) ? '0 (EOF)' : String(ev.ret);
  const moving = (ev.kind === 'send' || ev.kind === 'recv') && !begin;
  const bytes = moving ? `${ev.bytes ?? 0}${ev.bytes > 0 ? ` @${ev.offset ?? 0}` : ''}` : '';
  // A begin has no result to preview: its call cell says <unfinished …>.
  let detail = begin ? '' : moving ? preview(ev, 48) : eventLabel(ev);
  if (err && ev.error) detail = ev.error;
  // The result elides before the TCP state does: a state is never cut.
  const resultCell = svg('td', { role: 'cell', class: 'result' },
    svg('span', { class: 'ret' }, esc(result)),
    ev.tcp_state ? svg('span', { class: 'tcp' }, esc(ev.tcp_state)) : '');
  return td(ev.seq) + td(formatTime(ev.t_ns)) + td(`+${formatDuration(dt)}`) + td(ev.actor ?? '') +
    svg('td', { role: 'cell', class: 'call', title: callSignature(ev) }, esc(callSignature(ev))) +
    resultCell + td(bytes) + td(detail) + noteCell;
}

// ---------------------------------------------------------------------------
// Styles

/** Styles of the diagram itself, inlined (resolved) into exported SVG. */
const DIAGRAM_CSS = `
.seq-diagram { font-family: var(--seq-mono-font); font-size: 13px; }
.seq-diagram .bg { fill: var(--seq-bg); }
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
.seq-diagram .event.k-send[data-paired] .label { display: none; }
.seq-diagram .hit { fill: none; stroke: transparent; }
.seq-diagram .msg .shaft { stroke: var(--seq-arrow-color); fill: var(--seq-arrow-color); stroke-width: 1.5; stroke-linejoin: round; }
.seq-diagram .event.inferred .shape { fill: var(--seq-bg); stroke-dasharray: 3 2; stroke-width: 2; }
.seq-diagram .actor-server.inferred .shape { stroke: var(--seq-server-color); }
.seq-diagram .actor-client.inferred .shape { stroke: var(--seq-client-color); }
.seq-diagram .event.inferred .label { fill-opacity: .75; font-style: italic; }
.seq-diagram .msg.inferred .shaft { stroke-dasharray: 6 4; }
.seq-diagram .seg .shape { stroke: none; fill: var(--seq-muted); }
.seq-diagram .seg .seg-line { stroke: var(--seq-muted); fill: var(--seq-muted); stroke-width: 1; }
.seq-diagram .seg .label { fill: var(--seq-muted); font-size: 10.5px; }
.seq-diagram .seg.rst .shape, .seq-diagram .seg.rst .seg-line { stroke: var(--seq-error-color); fill: var(--seq-error-color); }
.seq-diagram .seg.rst .label { fill: var(--seq-error-color); font-weight: 700; }
.seq-diagram.no-segs .seg { display: none; }
`;

/** Styles of the element's shadow tree. */
const HOST_CSS = `
:host {
  --seq-font: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", sans-serif;
  --seq-mono-font: ui-monospace, "SF Mono", Menlo, Consolas, "DejaVu Sans Mono", monospace;
  --seq-bg: #ffffff;
  --seq-fg: #1f2328;
  --seq-muted: #6e7781;
  --seq-client-color: #0969da;
  --seq-server-color: #8250df;
  --seq-error-color: #cf222e;
  --seq-arrow-color: #424a53;
  --seq-accent: #bf8700;
  --seq-pending-color: #9a6700;
  --seq-right-color: #1a7f37;
  --seq-code-bg: #f6f8fa;
  --seq-code-kw: #cf222e;
  --seq-code-type: #0550ae;
  --seq-code-str: #0a3069;
  --seq-code-com: #59636e;
  --seq-code-num: #0550ae;
  --seq-code-pp: #8250df;
  --seq-code-const: #953800;
  --seq-code-call: #8250df;
  display: block;
  position: relative;
  font-family: var(--seq-font);
  color: var(--seq-fg);
  background: var(--seq-bg);
}
@media (prefers-color-scheme: dark) {
  :host {
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
    --seq-code-kw: #ff7b72;
    --seq-code-type: #79c0ff;
    --seq-code-str: #a5d6ff;
    --seq-code-com: #9198a1;
    --seq-code-num: #79c0ff;
    --seq-code-pp: #d2a8ff;
    --seq-code-const: #ffa657;
    --seq-code-call: #d2a8ff;
  }
}
:host([hidden]) { display: none; }
[hidden] { display: none !important; }
:host([controls="none"]) .toolbar, :host([controls="false"]) .toolbar { display: none; }
:host([transcript="none"]) .transcript-box { display: none; }
${DIAGRAM_CSS}
button, select { font: inherit; color: inherit; background: var(--seq-bg); border: 1px solid var(--seq-muted);
  border-radius: 6px; padding: .2em .6em; cursor: pointer; }
button:hover, select:hover { border-color: var(--seq-fg); }
.exports button[aria-disabled="true"] { opacity: .55; cursor: not-allowed; border-style: dashed; }
:focus-visible { outline: 3px solid var(--seq-accent); outline-offset: 2px; }
.toolbar { display: flex; flex-wrap: wrap; align-items: center; gap: .4em .8em; padding: .4em .5em;
  font-size: .9em; border-bottom: 1px solid color-mix(in srgb, var(--seq-muted) 40%, transparent); }
.toolbar .info { color: var(--seq-muted); font-variant-numeric: tabular-nums; }
.toolbar .exports { margin-inline-start: auto; display: flex; flex-wrap: wrap; gap: .3em; align-items: center; }
.toolbar .pcapng { border: 1px solid var(--seq-muted); border-radius: 6px; padding: .2em .6em; color: inherit; text-decoration: none; }
.toolbar .pcapng:hover { border-color: var(--seq-fg); }
.toolbar .seg-toggle { white-space: nowrap; }
.message { margin: .5em; padding: .5em .7em; border-radius: 6px; background: color-mix(in srgb, var(--seq-muted) 12%, transparent); }
.message.error { color: var(--seq-error-color); background: color-mix(in srgb, var(--seq-error-color) 12%, transparent); font-weight: 600; }
.viewport { position: relative; overflow: auto; max-height: var(--seq-height, 70vh); overscroll-behavior: contain; }
.viewport:focus-visible { outline-offset: -3px; }
.heads { position: sticky; top: 0; height: 0; z-index: 2; visibility: hidden; }
.viewport.scrolled .heads { visibility: visible; }
.actor-head { position: absolute; top: 4px; transform: translateX(-50%); padding: .15em .7em; border-radius: 6px;
  background: var(--seq-bg); border: 2px solid var(--seq-client-color); font-weight: 700; white-space: nowrap;
  box-shadow: 0 2px 6px rgb(0 0 0 / .2); }
.actor-head.actor-server { border-color: var(--seq-server-color); }
svg.seq-diagram { display: block; }
.canvas { overflow: hidden; }
.event { cursor: pointer; outline: none; }
.event:focus-visible .shape, .event.hl .shape { stroke: var(--seq-accent); stroke-width: 4; }
.layer-events .chunk:not(.near), .layer-msgs .chunk:not(.near),
.layer-events .chunk:not(.near) .label, .layer-events .chunk:not(.near) .tcp,
.layer-msgs .chunk:not(.near) .label, .layer-gutter .chunk:not(.near) { display: none; }
.msg .hit { stroke-width: 12; pointer-events: stroke; cursor: pointer; }
.msg.hl .shaft { stroke: var(--seq-accent); fill: var(--seq-accent); stroke-width: 3; }
.msg.hl .label, .event.hl .label { font-weight: 700; }
.bar.hl { stroke: var(--seq-accent); stroke-width: 3; }
.event.hl.k-send[data-paired] .label { display: inline; }
.details { position: fixed; z-index: 10; max-width: min(38rem, calc(100vw - 16px)); max-height: min(70vh, 40rem); overflow: auto;
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
.line.current { background: color-mix(in srgb, var(--seq-accent) 32%, transparent); box-shadow: inset 5px 0 var(--seq-accent); }
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
  .split.with-code .viewport { height: var(--seq-height, 70vh); max-height: none; }
  .split.with-code .code { height: var(--seq-height, 70vh); border-top: 0; border-inline-start: 1px solid color-mix(in srgb, var(--seq-muted) 40%, transparent); }
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
`;

// ---------------------------------------------------------------------------
// The element

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A listing's line height and top padding in pixels (its CSS says the same). */
const LINE_PX = 18;
const LISTING_PAD = 4;

/** Why the Mermaid and ladder exports are off for a diagram drawn from a file. */
const SERVER_EXPORT_REASON = 'Mermaid and ladder are made by the seqd server; this diagram was loaded from a file, with no server to ask';

/** A live open bar's "blocked 120 ms" changes at most this often. */
const OPEN_LABEL_MS = 100;

/** Picking a line highlights at most this many of its calls. */
const MAX_HIGHLIGHT = 5000;

const TEMPLATE = `
<div class="toolbar" part="toolbar">
  <label>Time scale
    <select class="scale">
      <option value="compact">compact: one row per call</option>
      <option value="proportional">proportional to time</option>
      <option value="logarithmic">logarithmic gaps</option>
    </select>
  </label>
  <label class="seg-toggle" hidden title="Show the TCP segments the kernel sent (thin arrows)"><input type="checkbox" class="segs" checked> segments</label>
  <span class="info"></span>
  <button type="button" class="follow" hidden>Follow newest ↓</button>
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
  <svg class="seq-diagram" xmlns="${SVG_NS}" width="0" height="0" role="group" aria-label="Message sequence diagram; time flows down">
    <rect class="bg" x="0" y="0" width="0" height="0"></rect>
    <g class="layer-gutter" aria-hidden="true"></g>
    <g class="layer-lifelines"></g>
    <g class="layer-bars" aria-hidden="true"></g>
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
<div class="details" part="details" id="details" role="tooltip" hidden></div>
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
function constructedSheet() {
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

/**
 * Tells screen readers about new events through a polite live region, at
 * most once a second: one sentence, or a summary of a burst.
 */
class Announcer {
  constructor(region) {
    this.region = region;
    this.timer = 0;
    this.last = 0;
    this.reset();
  }

  /** Drops what is queued. */
  reset() {
    clearTimeout(this.timer);
    this.timer = 0;
    this.count = 0;
    this.tally = new Map();
    this.latest = '';
  }

  /** Queues a sentence; key groups it in a burst's summary. */
  say(sentence, key = '') {
    this.count++;
    this.latest = sentence;
    if (key) this.tally.set(key, (this.tally.get(key) ?? 0) + 1);
    if (!this.timer) this.timer = setTimeout(() => this.speak(), Math.max(0, this.last + 1000 - Date.now()));
  }

  /** Puts what is queued in the live region: one sentence, or a burst's summary. */
  speak() {
    const { count, tally, latest } = this;
    this.reset();
    this.last = Date.now();
    if (!count) return;
    if (count === 1) {
      this.region.textContent = latest;
      return;
    }
    const parts = [...tally].map(([key, n]) => `${key} ${n === 1 ? 'once' : `${n} times`}`);
    this.region.textContent = `${count} new events${parts.length ? `: ${parts.join(', ')}` : ''}. Latest: ${latest.replace(/\.$/, '')}.`;
  }
}

/** How a burst summary names what an actor did. */
function burstKey(mark) {
  const verb = { send: 'wrote', recv: 'read' }[mark.kind] ?? `called ${mark.kind}`;
  return `${mark.actor} ${verb}`;
}

/** Fetches JSON; a failure throws an Error carrying the server's message and status. */
async function fetchJSON(url, init) {
  const res = await fetch(url, init);
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON: the status speaks.
  }
  if (!res.ok) {
    const err = new Error(body?.error || `${res.status} ${res.statusText}`.trim());
    err.status = res.status;
    throw err;
  }
  return body;
}

/** The scenarios of each server, GET /api/scenarios, fetched once a page. */
const scenarioLists = new Map();

/** The scenarios the server at base describes (their sources included). */
function scenariosOf(base) {
  let list = scenarioLists.get(base);
  if (!list) {
    list = fetchJSON(`${base}/api/scenarios`);
    list.catch(() => scenarioLists.delete(base)); // try again next time
    scenarioLists.set(base, list);
  }
  return list;
}

/**
 * Step tokens by session id: kept in sessionStorage so that a reload of
 * the page in the same tab can still step, and in memory where storage is
 * not allowed.
 */
const stepTokens = new Map();
const TOKEN_PREFIX = 'seqd-step-token:';

function saveToken(id, token) {
  stepTokens.set(id, token);
  try {
    sessionStorage.setItem(TOKEN_PREFIX + id, token);
  } catch {
    // Storage refused (a sandboxed frame): this page keeps it in memory.
  }
}

function loadToken(id) {
  if (stepTokens.has(id)) return stepTokens.get(id);
  try {
    return sessionStorage.getItem(TOKEN_PREFIX + id) ?? '';
  } catch {
    return '';
  }
}

function dropToken(id) {
  stepTokens.delete(id);
  try {
    sessionStorage.removeItem(TOKEN_PREFIX + id);
  } catch {
    // Nothing stored.
  }
}

let viewer = '';

/** This browser's made-up viewer id for answering questions, kept in localStorage. */
function viewerId() {
  if (viewer) return viewer;
  try {
    viewer = localStorage.getItem('seqd-viewer') ?? '';
  } catch {
    // No storage: an id for this page.
  }
  if (!/^[\w-]{8,64}$/.test(viewer)) {
    const bytes = crypto.getRandomValues(new Uint8Array(12));
    viewer = Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
    try {
      localStorage.setItem('seqd-viewer', viewer);
    } catch {
      // Kept for this page only.
    }
  }
  return viewer;
}

/** Whether focus is in a field that takes typing (where keys are not shortcuts). */
function isTextField(el) {
  if (!el || el.nodeType !== 1) return false;
  if (el.isContentEditable) return true;
  const tag = el.localName;
  if (tag === 'textarea' || tag === 'select') return true;
  return tag === 'input' && !/^(button|checkbox|radio|submit|reset|image|color|file|range)$/i.test(el.type);
}

/** Normalises a record: an events array alone is a record too. */
function asRecord(data) {
  const rec = Array.isArray(data) ? { events: data } : { ...data };
  rec.events = (rec.events ?? []).slice().sort((a, b) => a.seq - b.seq);
  rec.actors = Array.isArray(rec.actors) ? rec.actors.slice() : [];
  for (const ev of rec.events) if (ev.actor && !rec.actors.includes(ev.actor)) rec.actors.push(ev.actor);
  rec.state ??= 'done';
  rec.event_count = rec.events.length;
  return rec;
}

const Base = globalThis.HTMLElement ?? class {};
const definedClasses = new WeakSet();

/**
 * <seq-diagram>: draws a session record as a message sequence diagram with
 * a transcript, live or saved.
 *
 * Attributes: src (URL of a saved record JSON), session (an id to follow),
 * scenario (start one; params from names, rounds, clients, pace-ms or a
 * params JSON attribute), server (base URL, default same origin), scale
 * (compact|proportional|logarithmic), controls ("none" hides the toolbar),
 * transcript ("closed" folds it, "none" hides it), code (show the programs'
 * C source beside the diagram; "collapsed" starts it folded), step (a
 * scenario started here waits before each call: Next lets one happen) and
 * questions (with step: ask the viewers to predict some calls).
 *
 * Events (bubbling, composed): seq-diagram:state {state, error, id},
 * seq-diagram:session {id}, seq-diagram:event-selected {seq, event},
 * seq-diagram:progress {id, count, state}, seq-diagram:pending {id,
 * pending}, seq-diagram:line-selected {src, line, seqs}, seq-diagram:code
 * {open}.
 */
export class SeqDiagram extends Base {
  static observedAttributes = [
    'src', 'session', 'scenario', 'server', 'scale', 'controls', 'transcript',
    'names', 'rounds', 'clients', 'pace-ms', 'params', 'code', 'step', 'questions',
  ];

  /** Defines the element under tag in registry; returns the class defined. */
  static define(tag = 'seq-diagram', registry = globalThis.customElements) {
    const existing = registry.get(tag);
    if (existing) return existing;
    const cls = definedClasses.has(this) ? class extends this {} : this;
    registry.define(tag, cls);
    definedClasses.add(cls);
    return cls;
  }

  #ui;
  #record = null;
  #layout = new Layout();
  #live = false; // the record came from a server that can export it
  #gen = 0; // bumped whenever the element turns to another session
  #key = ''; // the source the attributes named last
  #syncQueued = false;
  #feed = null; // {close()} of the live WebSocket feed
  #next = 0; // the next seq wanted from the server
  #pending = [];
  #pendingActors = null; // the server's latest list of actors, in its order
  #pendingFinal = null;
  #gap = false; // the feed skipped a seq: reconnect from #next
  #quiet = false; // the pending events are history: summarise, don't announce
  #frame = 0;
  #timer = 0;
  #drawn = null;
  #openLines = new Map();
  #rowsDrawn = 0;
  #following = true;
  #followingTranscript = true;
  #announcer;
  #hl = [];
  #pinned = false;
  // Step mode
  #stepToken = ''; // this browser's token for the session drawn: it may step it
  #stepBusy = false; // a step or run request is on its way
  #released = false; // the session was told to run to its end
  #stepPending = null; // the call the session makes next, drawn as a ghost
  #nextPending = null; // the latest pending call the server sent, for the next frame
  #pendingDirty = false;
  #question = null; // the question asked about a pending call, and its answers
  // Teaching
  #selectedSeq = null; // the event picked (click, Enter): its note shows and its line is marked
  #ghostKey = '';
  #calloutKey = '';
  #sources = null; // the listings shown: [{file, text}]
  #sourcesKey = '';
  #codeLines = new Map(); // file → its line elements
  #codeMarks = { current: null, pending: null, hl: null };
  #called = new Set(); // "file:line" of the lines that made calls
  #calledUpTo = 0; // events whose lines are marked called
  #codeOpen = true;
  #listingBox = new Map(); // listing <pre> → {height, top}: read by observers, not in frames
  #onDocKey = (e) => this.#docKey(e);

  constructor() {
    super();
    const root = this.attachShadow({ mode: 'open' });
    root.innerHTML = TEMPLATE;
    const sheet = constructedSheet();
    if (sheet && 'adoptedStyleSheets' in root) root.adoptedStyleSheets = [sheet];
    else {
      const style = document.createElement('style');
      style.textContent = HOST_CSS;
      root.prepend(style);
    }
    const $ = (sel) => root.querySelector(sel);
    this.#ui = {
      root,
      toolbar: $('.toolbar'),
      scale: $('select.scale'),
      info: $('.info'),
      follow: $('button.follow'),
      serverExports: [...root.querySelectorAll('[data-server-export]')],
      pcapng: $('a.pcapng'),
      segToggle: $('.seg-toggle'),
      segBox: $('input.segs'),
      message: $('.message'),
      viewport: $('.viewport'),
      heads: $('.heads'),
      svg: $('svg.seq-diagram'),
      canvas: $('.canvas'),
      bg: $('rect.bg'),
      gutter: $('.layer-gutter'),
      lifelines: $('.layer-lifelines'),
      bars: $('.layer-bars'),
      msgs: $('.layer-msgs'),
      events: $('.layer-events'),
      details: $('.details'),
      transcriptBox: $('.transcript-box'),
      transcriptScroll: $('.transcript-scroll'),
      table: $('table.transcript'),
      live: $('div.sr-only[aria-live]'),
      stepbar: $('.stepbar'),
      stepControls: $('.step-controls'),
      next: $('[data-step="next"]'),
      run: $('[data-step="run"]'),
      stepStatus: $('.step-status'),
      stepLast: $('.step-last'),
      question: $('.question'),
      qText: $('.q-text'),
      qChoices: $('.q-choices'),
      qResult: $('.q-result'),
      qLast: $('.q-last'),
      split: $('.split'),
      code: $('.code'),
      codeInfo: $('.code-info'),
      codeToggle: $('.code-toggle'),
      codeFiles: $('.code-files'),
      pendingLayer: $('.layer-pending'),
      noteLayer: $('.layer-note'),
    };
    this.#announcer = new Announcer(this.#ui.live);
    this.#resetDrawing();
    this.#wire();
  }

  // --- attributes and properties

  /** The URL of a saved session record (JSON) to draw; needs no server. */
  get src() { return this.getAttribute('src') ?? ''; }
  set src(v) { this.#setAttr('src', v); }
  /** The id of a session on the server to draw, followed live while it runs. */
  get session() { return this.getAttribute('session') ?? ''; }
  set session(v) { this.#setAttr('session', v); }
  /** A scenario to start a session of on the server, and follow. */
  get scenario() { return this.getAttribute('scenario') ?? ''; }
  set scenario(v) { this.#setAttr('scenario', v); }
  /** The server's base URL without a trailing slash; '' is same origin. */
  get server() { return (this.getAttribute('server') ?? '').replace(/\/+$/, ''); }
  set server(v) { this.#setAttr('server', v); }
  /** The time scale: compact (the default), proportional or logarithmic. */
  get scale() { return normalizeScale(this.getAttribute('scale') ?? ''); }
  set scale(v) { this.setAttribute('scale', normalizeScale(v)); }
  /** Whether the toolbar shows: false when the attribute is "none" or "false". */
  get controls() { return !/^(none|false)$/.test(this.getAttribute('controls') ?? ''); }
  set controls(v) { if (v) this.removeAttribute('controls'); else this.setAttribute('controls', 'none'); }
  /** Whether the programs' source shows beside the diagram (the code attribute). */
  get code() { return this.#flag('code'); }
  set code(v) { if (v) this.setAttribute('code', ''); else this.removeAttribute('code'); }
  /** Whether a scenario started here runs in step mode (the step attribute). */
  get step() { return this.#flag('step'); }
  set step(v) { if (v) this.setAttribute('step', ''); else this.removeAttribute('step'); }
  /** Whether a stepped session started here asks questions (the questions attribute). */
  get questions() { return this.#flag('questions'); }
  set questions(v) { if (v) this.setAttribute('questions', ''); else this.removeAttribute('questions'); }

  /** The call a stepped session makes next ({actor, kind, fd, src, line, question?}), or null. */
  get pending() { return this.#stepPending; }
  /** Whether this browser may step the session drawn (it holds the step token). */
  get canStep() {
    return Boolean(this.#stepToken) && this.#live && this.#record?.state === 'running' && !this.#released;
  }
  /** The C listings shown beside the diagram, [{file, text}], or null. */
  get sources() { return this.#sources; }

  /** A boolean attribute: present, and not "false", "0", "no" or "off". */
  #flag(name) {
    const v = this.getAttribute(name);
    return v != null && !/^(false|0|no|off)$/i.test(v.trim());
  }

  /** The session drawn: its metadata and its events so far. */
  get record() { return this.#record; }
  /** The events drawn so far, in seq order. */
  get events() { return this.#record?.events ?? []; }
  /** How many of the events drawn are calls and how many captured segments. */
  get counts() {
    const n = this.#record?.events.length ?? 0;
    const segments = Math.min(n, this.#layout.segCount);
    return { calls: n - segments, segments };
  }

  #setAttr(name, v) {
    if (v == null || v === '') this.removeAttribute(name);
    else this.setAttribute(name, String(v));
  }

  attributeChangedCallback(name, old, value) {
    if (old === value) return;
    if (name === 'scale') {
      this.#ui.scale.value = this.scale;
      if (this.#layout.scale !== this.scale) this.#redraw();
    } else if (name === 'transcript') {
      this.#ui.transcriptBox.open = value !== 'closed';
    } else if (name === 'code') {
      if (old == null || value == null) this.#setCodeOpen(value !== 'collapsed', false);
      this.#loadSources();
    } else if (name !== 'controls') {
      this.#queueSync();
    }
  }

  connectedCallback() {
    document.addEventListener('keydown', this.#onDocKey);
    this.#queueSync();
  }

  disconnectedCallback() {
    document.removeEventListener('keydown', this.#onDocKey);
    this.#closeFeed();
    this.#announcer.reset();
    this.#hideDetails();
  }

  #queueSync() {
    if (this.#syncQueued) return;
    this.#syncQueued = true;
    queueMicrotask(() => {
      this.#syncQueued = false;
      if (this.isConnected) this.#sync();
    });
  }

  /** Acts on src, session or scenario when the source they name changed. */
  #sync() {
    const { src, session, scenario, server } = this;
    const params = scenario ? this.#attributeParams() : null;
    const steps = scenario ? { step: this.step, questions: this.step && this.questions } : null;
    const key = src ? `src ${src}` : session ? `session ${server} ${session}` : scenario ? `scenario ${server} ${scenario} ${JSON.stringify(params)} ${JSON.stringify(steps)}` : '';
    if (key === this.#key) {
      // Back in the document: pick the live feed up where it stopped.
      if (this.#live && !this.#feed && this.#record?.state === 'running') this.#connect(++this.#gen);
      return;
    }
    this.#key = key;
    if (src) this.#loadURL(src);
    else if (session) this.follow(session).catch(() => {});
    else if (scenario) {
      this.start(scenario, params, steps).catch((err) => this.#showMessage(`Could not start ${scenario}: ${err.message}`, true));
    }
  }

  /** The parameters the scenario attribute runs with. */
  #attributeParams() {
    let params = {};
    try {
      params = JSON.parse(this.getAttribute('params') || '{}') ?? {};
    } catch {
      // A malformed params attribute is ignored; the named ones still count.
    }
    const names = this.getAttribute('names');
    if (names != null) params.names = names.split(',').map((s) => s.trim()).filter(Boolean);
    for (const [attr, param] of [['rounds', 'rounds'], ['clients', 'clients'], ['pace-ms', 'pace_ms']]) {
      const v = this.getAttribute(attr);
      if (v != null && v.trim() !== '' && Number.isFinite(Number(v))) params[param] = Number(v);
    }
    return params;
  }

  /** The URL of an API path on the server. */
  #api(path) {
    return `${this.server}${path}`;
  }

  // --- public methods

  /** Draws a record (metadata and events), replacing what was drawn. No server needed. */
  load(record) {
    this.#gen++;
    this.#live = false;
    this.#begin(asRecord(record ?? {}));
    this.#finishWhenDrawn(this.#record.state, this.#record.error);
  }

  /** Clears the element: no session drawn. */
  clear() {
    this.#gen++;
    this.#key = '';
    this.#live = false;
    this.#closeFeed();
    this.#record = null;
    this.#clearView();
    this.#loadSources();
    this.removeAttribute('data-state');
    this.removeAttribute('data-session');
    this.#showMessage('');
  }

  /**
   * Draws session id from the server, following it live while it runs.
   * Resolves once its history is drawn; rejects (and shows why) if it
   * cannot be read.
   */
  async follow(id) {
    const gen = ++this.#gen;
    this.#closeFeed();
    this.#showMessage('Loading…');
    let rec;
    try {
      rec = await fetchJSON(this.#api(`/api/sessions/${encodeURIComponent(id)}`));
    } catch (err) {
      if (gen === this.#gen) {
        this.#record = null;
        this.#clearView();
        this.setAttribute('data-session', id);
        this.#setState('failed', err.message, id);
      }
      throw err;
    }
    if (gen !== this.#gen) return;
    this.#live = true;
    this.#begin(asRecord(rec));
    if (this.#record.state === 'running') {
      this.#setState('running');
      this.#connect(gen);
    } else this.#finishWhenDrawn(this.#record.state, this.#record.error);
  }

  /**
   * Starts a new session of scenario with params and follows it live.
   * options.step makes it wait before each call until this browser steps
   * it (next()); options.questions (with step) asks the viewers to predict
   * some calls. Both default to the step and questions attributes.
   * Resolves to the new session's id; rejects with the server's message
   * (the current drawing stays) when the server refuses.
   */
  async start(scenario, params = {}, options = {}) {
    const gen = ++this.#gen;
    const step = Boolean(options?.step ?? this.step);
    const questions = step && Boolean(options?.questions ?? this.questions);
    const body = { scenario, params };
    if (step) body.step = true;
    if (questions) body.questions = true;
    if (options?.segments) body.segments = true;
    // The token is this browser's alone: it stays out of the record (and its exports).
    const { step_token: token, ...meta } = await fetchJSON(this.#api('/api/sessions'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (token) saveToken(meta.id, token);
    if (gen !== this.#gen) return meta.id;
    this.#closeFeed();
    this.#live = true;
    this.#begin(asRecord({ scenario, params, ...meta, state: 'running', events: [] }));
    this.#setState('running');
    this.#emit('seq-diagram:session', { id: meta.id });
    this.#connect(gen);
    return meta.id;
  }

  /**
   * Plays the drawn session again, event by event, with its gaps (each at
   * most a second, and at least a short beat so that fast ones can be seen).
   */
  replay() {
    if (!this.#record) return;
    const gen = ++this.#gen;
    const rec = this.#record;
    const events = rec.events;
    const finalState = rec.state === 'running' ? 'done' : rec.state;
    this.#begin({ ...rec, events: [] });
    this.#setState('running');
    const beat = Math.min(60, 6000 / Math.max(1, events.length));
    const at = [];
    let t = 0;
    for (let i = 0; i < events.length; i++) {
      t += Math.max(beat, Math.min(1000, i ? (events[i].t_ns - events[i - 1].t_ns) / 1e6 : 0));
      at.push(t);
    }
    const t0 = performance.now();
    let i = 0;
    let timer = 0;
    const tick = () => {
      if (gen !== this.#gen) return;
      const now = performance.now() - t0;
      const batch = [];
      while (i < events.length && at[i] <= now) batch.push(events[i++]);
      this.#enqueue(batch);
      if (i < events.length) timer = setTimeout(tick, Math.min(250, at[i] - now));
      else {
        this.#pendingFinal = { state: finalState, error: rec.error };
        this.#schedule();
      }
    };
    this.#feed = { close: () => clearTimeout(timer) };
    tick();
  }

  /** A standalone SVG document of the diagram, its styles resolved. */
  exportSVG() {
    this.#decorateAll();
    const clone = this.#ui.svg.cloneNode(true);
    const w = this.#layout.actors.length ? this.#layout.width : 0;
    const h = this.#layout.actors.length ? this.#layout.height + this.#extra() : 0;
    for (const el of [clone, clone.querySelector('rect.bg')]) {
      el.setAttribute('width', w);
      el.setAttribute('height', h);
    }
    clone.setAttribute('viewBox', `0 0 ${w} ${h}`);
    for (const el of clone.querySelectorAll('.hl')) el.classList.remove('hl');
    for (const el of clone.querySelectorAll('.layer-note, .layer-pending')) el.remove();
    const cs = getComputedStyle(this);
    const css = DIAGRAM_CSS.replace(/var\((--seq-[\w-]+)\)/g, (m, name) => cs.getPropertyValue(name).trim() || 'currentColor');
    const style = document.createElementNS(SVG_NS, 'style');
    style.textContent = css;
    clone.prepend(style);
    clone.removeAttribute('role');
    return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}`;
  }

  /** A PNG of the diagram (at most 2× and within canvas limits). */
  async exportPNG() {
    const w = this.#layout.width;
    const h = this.#layout.height;
    const scale = Math.min(2, 16000 / w, 30000 / h, Math.sqrt(120e6 / (w * h)));
    const url = URL.createObjectURL(new Blob([this.exportSVG()], { type: 'image/svg+xml' }));
    try {
      const img = new Image();
      img.src = url;
      await img.decode();
      const canvas = document.createElement('canvas');
      canvas.width = Math.round(w * scale);
      canvas.height = Math.round(h * scale);
      const ctx = canvas.getContext('2d');
      ctx.scale(scale, scale);
      ctx.drawImage(img, 0, 0, w, h);
      return await new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the PNG could not be made'))), 'image/png'));
    } finally {
      URL.revokeObjectURL(url);
    }
  }

  /**
   * The session as text from the server's exporter: kind mermaid or
   * ladder (GET /api/sessions/{id}/mermaid, /ladder). Seqd has one
   * generator of each, in Go; a diagram drawn from a file has no server to
   * ask, and this rejects saying so.
   */
  async exportText(kind) {
    const rec = this.#record;
    if (!this.#live || !rec?.id) throw new Error(SERVER_EXPORT_REASON);
    const res = await fetch(this.#api(`/api/sessions/${encodeURIComponent(rec.id)}/${kind}`));
    if (!res.ok) throw new Error(`the ${kind} export could not be fetched: ${res.status} ${res.statusText}`.trim());
    return res.text();
  }

  /** The session as a Mermaid sequenceDiagram, from the server. */
  exportMermaid() {
    return this.exportText('mermaid');
  }

  /** Saves the diagram as kind: svg, png, mermaid, ladder or json. */
  async download(kind) {
    const rec = this.#record;
    if (!rec) return;
    const base = `seqd-${rec.scenario || 'session'}-${rec.id || 'saved'}`;
    let blob;
    let ext = kind;
    switch (kind) {
      case 'svg':
        blob = new Blob([this.exportSVG()], { type: 'image/svg+xml' });
        break;
      case 'png':
        blob = await this.exportPNG();
        break;
      case 'mermaid':
        blob = new Blob([await this.exportText('mermaid')], { type: 'text/plain' });
        ext = 'mmd';
        break;
      case 'ladder':
        blob = new Blob([await this.exportText('ladder')], { type: 'text/plain' });
        ext = 'txt';
        break;
      case 'json':
        blob = new Blob([JSON.stringify(rec, null, 1)], { type: 'application/json' });
        break;
      default:
        throw new Error(`unknown export ${kind}`);
    }
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${base}.${ext}`;
    a.hidden = true;
    this.#ui.root.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  // --- sources

  /** Draws the saved record at src. */
  async #loadURL(src) {
    const gen = ++this.#gen;
    this.#closeFeed();
    this.#showMessage('Loading…');
    try {
      const data = await fetchJSON(new URL(src, document.baseURI).href);
      if (gen === this.#gen) this.load(data);
    } catch (err) {
      if (gen === this.#gen) {
        this.#clearView();
        this.#setState('failed', `Could not load ${src}: ${err.message}`);
      }
    }
  }

  /** Makes rec the session drawn, drawing the events it already has. */
  #begin(rec) {
    this.#closeFeed();
    const events = rec.events;
    const { pending, ...meta } = rec;
    this.#record = { ...meta, events: [] };
    this.#next = 0;
    this.#pending = [];
    this.#pendingAt = 0;
    this.#pendingActors = null;
    this.#pendingFinal = null;
    this.#firstScreen = true;
    this.#stepToken = rec.id && rec.step ? loadToken(rec.id) : '';
    this.#stepBusy = false;
    this.#released = false;
    this.#stepPending = null;
    this.#nextPending = this.#live && rec.state === 'running' ? pending ?? null : null;
    this.#pendingDirty = true;
    this.#question = null;
    this.#clearView();
    this.#loadSources();
    this.#showMessage('');
    if (rec.id) this.setAttribute('data-session', rec.id);
    else this.removeAttribute('data-session');
    // The state shown was the session drawn before's: this one's is set
    // once it runs, or once its events are drawn.
    this.removeAttribute('data-state');
    this.#offerServerExports(this.#live);
    this.#ui.segBox.checked = true;
    this.#ui.svg.classList.remove('no-segs');
    this.#layout = new Layout({ scale: this.scale, pxPerNs: fitPxPerNs(events), actors: rec.actors });
    this.#enqueue(events, true);
    this.#flush();
  }

  /**
   * Offers the exports only the server makes (Mermaid, ladder) when there
   * is a server to ask; otherwise leaves them shown but disabled, saying
   * why (title, and a message when pressed).
   */
  #offerServerExports(available) {
    for (const b of this.#ui.serverExports) {
      if (available) {
        b.removeAttribute('aria-disabled');
        b.title = `The ${b.textContent} export, made by the seqd server`;
      } else {
        b.setAttribute('aria-disabled', 'true');
        b.title = SERVER_EXPORT_REASON;
      }
    }
  }

  /** Follows the record's session over a WebSocket from #next, reconnecting with backoff. */
  #connect(gen) {
    const id = this.#record.id;
    let attempt = 0;
    let timer = 0;
    let ws = null;
    let ended = false;
    const feed = {
      close: () => {
        ended = true;
        clearTimeout(timer);
        ws?.close(1000);
      },
    };
    this.#feed = feed;
    const retry = (fast) => {
      const delay = fast && attempt === 0 ? 100 : Math.min(10000, 400 * 2 ** attempt) * (0.75 + Math.random() / 2);
      attempt++;
      timer = setTimeout(open, delay);
    };
    const open = async () => {
      if (ended || gen !== this.#gen) return;
      if (attempt >= 3) {
        // The socket keeps failing: ask what became of the session.
        try {
          const rec = await fetchJSON(this.#api(`/api/sessions/${encodeURIComponent(id)}`));
          if (ended || gen !== this.#gen) return;
          if (rec.state !== 'running') {
            ended = true;
            this.#enqueue((rec.events ?? []).filter((ev) => ev.seq >= this.#next));
            this.#pendingFinal = { state: rec.state, error: rec.error };
            this.#schedule();
            return;
          }
        } catch (err) {
          if (ended || gen !== this.#gen) return;
          if (err.status === 404) {
            ended = true;
            this.#pendingFinal = { state: 'failed', error: `Session ${id} is gone` };
            this.#schedule();
            return;
          }
        }
      }
      const url = new URL(this.#api(`/api/sessions/${encodeURIComponent(id)}/ws?from=${this.#next}`), location.href);
      url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
      let sock;
      try {
        sock = ws = new WebSocket(url);
      } catch {
        retry(false);
        return;
      }
      sock.onmessage = (e) => {
        if (ended || ws !== sock) return;
        attempt = 0;
        let msg;
        try {
          msg = JSON.parse(e.data);
        } catch {
          return;
        }
        if (this.#receive(msg)) {
          ended = true;
        } else if (this.#gap) {
          this.#gap = false;
          ws = null;
          sock.close(4000, 'gap');
          retry(true);
        }
      };
      sock.onclose = (e) => {
        if (ended || ws !== sock || gen !== this.#gen) return;
        ws = null;
        retry(e.code === 1008 || e.code === 1001);
      };
    };
    open();
  }

  /** Takes one feed message; returns true when it was the final state. */
  #receive(msg) {
    if (Array.isArray(msg.actors)) {
      this.#pendingActors = msg.actors;
      this.#schedule();
    }
    if (Array.isArray(msg.events)) {
      const fresh = [];
      for (const ev of msg.events) {
        if (ev.seq < this.#next) continue;
        if (ev.seq > this.#next) {
          this.#gap = true;
          break;
        }
        fresh.push(ev);
        this.#next++;
      }
      this.#enqueue(fresh, false, true);
    }
    if ('pending' in msg) {
      this.#nextPending = msg.pending ?? null;
      this.#pendingDirty = true;
      this.#schedule();
    }
    if (msg.state && msg.state !== 'running') {
      this.#pendingFinal = { state: msg.state, error: msg.error };
      this.#schedule();
      return true;
    }
    return false;
  }

  /** Stops following: closes the WebSocket (or the replay) and its retries. */
  #closeFeed() {
    this.#feed?.close();
    this.#feed = null;
  }

  // --- drawing

  /** Queues events for the next frame. counted says #next already counts them. */
  #enqueue(events, quiet = false, counted = false) {
    if (!events.length) return;
    if (this.#pendingAt >= this.#pending.length) this.#quiet = quiet;
    for (const ev of events) this.#pending.push(ev);
    if (!counted) this.#next = Math.max(this.#next, events[events.length - 1].seq + 1);
    this.#schedule();
  }

  /** Flushes on the next animation frame, or soon if frames are not coming (hidden tab). */
  #schedule() {
    if (this.#frame) return;
    const run = () => this.#flush();
    this.#frame = requestAnimationFrame(run);
    this.#timer = setTimeout(run, 250);
  }

  /**
   * Goes on drawing a backlog in a task of its own, right after this one:
   * the browser renders frames in between, so a big session fills in
   * while the page stays responsive.
   */
  #continue() {
    if (this.#task) return;
    this.#task = true;
    if (!this.#channel) {
      this.#channel = new MessageChannel();
      this.#channel.port1.onmessage = () => {
        this.#task = false;
        if (this.#pendingAt < this.#pending.length || this.#pendingFinal) this.#flush();
      };
    }
    this.#channel.port2.postMessage(0);
  }

  #pendingAt = 0; // #pending[#pendingAt…] are still to draw
  #task = false; // a #continue task is queued
  #channel = null;
  #firstScreen = false; // the first screen of the drawing begun last is still to announce

  /**
   * Whether the drawing would finish with the state final now: only once
   * every event queued is drawn.
   */
  #finishWhenDrawn(state, error) {
    if (this.#pendingAt >= this.#pending.length) this.#finish(state, error);
    else this.#pendingFinal = { state, error }; // the drawing under way finishes it
  }

  /**
   * Adds pending events to the record, the layout, the drawing and the
   * transcript: as many as FRAME_BUDGET_MS of work allows, the rest in
   * the next task or frame. The state changes to done or failed only once
   * every event is drawn.
   */
  #flush() {
    cancelAnimationFrame(this.#frame);
    clearTimeout(this.#timer);
    this.#frame = 0;
    this.#timer = 0;
    const rec = this.#record;
    if (!rec) return;
    const t0 = performance.now();
    let L = this.#layout;
    // The server's order of lifelines wins over the order events showed them in.
    let reordered = false;
    if (this.#pendingActors) {
      const order = [...new Set([...this.#pendingActors, ...rec.actors])];
      reordered = rec.actors.some((a, i) => order[i] !== a);
      rec.actors = order;
      for (const name of order) L.actor(name);
      this.#pendingActors = null;
    }
    const queue = this.#pending;
    const from = this.#pendingAt;
    // The first screen of a drawing first, within a frame's budget; then
    // a backlog in bigger tasks between frames.
    const budget = !this.#firstScreen && queue.length - from > 4 * CHUNK ? BACKLOG_BUDGET_MS : FRAME_BUDGET_MS;
    const screen = this.#scrollTop + this.#viewHeight;
    let at = from;
    const firstMark = L.marks.length;
    if (reordered || L.needsRelayout || L.scale !== this.scale) {
      this.#redraw();
      L = this.#layout;
    }
    // Slices of SLICE events: lay them out, draw them, add their rows; stop
    // when the budget is spent.
    while (at < queue.length) {
      const end = Math.min(queue.length, at + SLICE);
      for (; at < end; at++) {
        const ev = queue[at];
        rec.events.push(ev);
        if (ev.actor && !rec.actors.includes(ev.actor)) rec.actors.push(ev.actor);
        L.add(ev);
      }
      if (L.needsRelayout || L.scale !== this.scale) {
        this.#redraw();
        L = this.#layout;
      } else this.#render();
      this.#appendTranscript();
      if (performance.now() - t0 >= budget || (this.#firstScreen && L.height >= screen)) break;
    }
    if (at === from) this.#render(); // nothing new: the ghost or the actors may have changed
    if (at > from) this.#clock = { t: queue[at - 1].t_ns ?? 0, at: performance.now() };
    const drained = at >= queue.length;
    if (drained) {
      this.#pending = [];
      this.#pendingAt = 0;
    } else this.#pendingAt = at;
    const events = at > from ? queue.slice(from, at) : [];
    rec.event_count = rec.events.length;
    // A question is answered by the call it asked about; then comes the next call.
    if (events.length && this.#question && !this.#question.revealed) this.#reveal(events);
    if (this.#pendingDirty && drained) {
      this.#pendingDirty = false;
      this.#applyPending(this.#nextPending);
      this.#render();
    } else if (this.#stepPending && events.some((e) => this.#isPendingCall(e))) {
      // The pending call happened: its ghost goes until the server names the next.
      this.#applyPending(null);
      this.#render();
    }
    this.#syncCode();
    if (events.length) this.#updateLast();
    this.#updateStepbar();

    if (events.length && !this.#quiet) {
      const marks = this.#layout.marks;
      for (let i = Math.min(firstMark, marks.length); i < marks.length; i++) {
        if (marks[i].kind !== 'segment') this.#announcer.say(marks[i].sentence, burstKey(marks[i]));
      }
    } else if (drained && this.#quiet && rec.events.length && (events.length || this.#pendingFinal)) {
      this.#announcer.say(`Showing ${plural(rec.events.length, 'event')} of ${rec.scenario || 'the'} session`);
    }
    let shown = false;
    if (this.#firstScreen && (drained || this.#layout.height >= screen)) {
      // What the viewer sees is drawn; the rest fills in below, after the
      // browser has painted it.
      this.#firstScreen = false;
      shown = true;
      performance.mark?.('seq-diagram:first-screen');
      this.#emit('seq-diagram:first-screen', { id: rec.id ?? '', count: rec.events.length, total: rec.events.length + queue.length - at });
    }
    if (drained && this.#bareRows) {
      this.#bareRows = false;
      this.#fillRowsWhenIdle();
    }
    const final = drained ? this.#pendingFinal : null;
    if (final) {
      this.#pendingFinal = null;
      this.#finish(final.state, final.error);
    }
    this.#updateInfo();
    if (events.length) this.#emit('seq-diagram:progress', { id: rec.id, count: rec.events.length, state: rec.state });
    if (!drained && shown) {
      const gen = this.#gen;
      requestAnimationFrame(() => setTimeout(() => { if (gen === this.#gen) this.#continue(); }, 0));
      this.#timer = setTimeout(() => this.#flush(), 250); // frames may not come (a hidden tab)
    } else if (!drained) this.#continue();
    // Follow the newest event, unless this was a finished session drawn at once
    // (read it from the top) or the viewer scrolled away.
    if (this.#quiet && rec.state !== 'running') return;
    if (!events.length && !final) return;
    if (this.#following) this.#ui.viewport.scrollTop = this.#layout.height + this.#extra();
    // The transcript follows too while it is on screen: scrolled to its end
    // it lays out and paints every new row, which is wasted off screen. It
    // jumps to the end when it comes into view.
    // Live, it moves at most every TRANSCRIPT_FOLLOW_MS: each move costs a
    // layout and paint of the rows in view.
    const now = performance.now();
    if (this.#followingTranscript && this.#transcriptShown && (rec.state !== 'running' || now - this.#transcriptMoved >= TRANSCRIPT_FOLLOW_MS)) {
      this.#transcriptMoved = now;
      this.#ui.transcriptScroll.scrollTop = 1e9; // the browser clamps it to the end
    }
  }

  #transcriptMoved = 0;

  #transcriptShown = true; // the transcript's box intersects the document's viewport

  /** Forgets what has been drawn, so that #render draws the layout from the start. */
  #resetDrawing() {
    this.#drawn = { actors: 0, segments: 0, marks: 0, arrows: 0, bars: 0, closed: 0, gutter: 0, paired: 0 };
    this.#openLines.clear();
    this.#openBars.clear();
    cancelAnimationFrame(this.#barFrame);
    this.#barFrame = 0;
    this.#barLabelAt = 0;
    this.#decorated = [];
    this.#chunkItems = { arrows: [], gutter: [] };
  }

  #decorated = []; // chunk k → true once its items have their texts and hit areas
  #chunkItems = { arrows: [], gutter: [] }; // chunk k → indices of its arrows, Δt labels

  /**
   * Gives chunk k's marks, arrows and Δt labels their texts and hit areas,
   * once: a chunk gets them when it first comes near the viewport.
   */
  #decorate(k) {
    if (this.#decorated[k]) return;
    this.#decorated[k] = true;
    const L = this.#layout;
    const ui = this.#ui;
    const d = this.#drawn;
    const marks = ui.events.children[k];
    if (marks) {
      const end = Math.min(d.marks, (k + 1) * CHUNK);
      for (let i = k * CHUNK; i < end; i++) {
        const el = marks.children[i - k * CHUNK];
        if (!el) break;
        el.setAttribute('aria-label', markName(L.marks[i]));
        el.insertAdjacentHTML('beforeend', renderMarkLabel(L.marks[i]));
      }
    }
    const msgs = ui.msgs.children[k];
    const arrows = this.#chunkItems.arrows[k];
    if (msgs && arrows) {
      for (let j = 0; j < arrows.length; j++) {
        const el = msgs.children[j];
        if (!el) break;
        const [hit, label] = renderArrowDecor(L.arrows[arrows[j]]);
        el.insertAdjacentHTML('afterbegin', hit);
        el.insertAdjacentHTML('beforeend', label);
      }
    }
    const gutter = ui.gutter.children[k];
    const dts = this.#chunkItems.gutter[k];
    if (gutter && dts) gutter.insertAdjacentHTML('beforeend', dts.map((i) => renderGutter(L.gutter[i])).join(''));
  }

  /** Decorates every chunk drawn (for exports, which show every label). */
  #decorateAll() {
    const n = Math.max(this.#ui.events.children.length, this.#ui.msgs.children.length, this.#ui.gutter.children.length);
    for (let k = 0; k < n; k++) this.#decorate(k);
  }

  /** Empties the drawing and the transcript. */
  #clearView() {
    const ui = this.#ui;
    for (const g of [ui.gutter, ui.lifelines, ui.bars, ui.msgs, ui.events, ui.heads, ui.noteLayer, ui.pendingLayer]) g.replaceChildren();
    this.#ghostKey = '';
    this.#calloutKey = '';
    this.#selectedSeq = null;
    this.#resetCode();
    this.#stepPending = null;
    this.#question = null;
    ui.stepLast.replaceChildren();
    ui.question.hidden = true;
    this.#renderLastAnswer(null);
    for (const tb of [...ui.table.tBodies]) tb.remove();
    this.#near = null;
    this.#layout = new Layout({ scale: this.scale });
    this.#resetDrawing();
    this.#rowsDrawn = 0;
    this.#rowsFilled = [];
    this.#bareRows = false;
    this.#scrollTop = 0;
    ui.viewport.scrollTop = 0;
    this.#following = true;
    this.#followingTranscript = true;
    this.#hl = [];
    this.#hideDetails();
    this.#announcer.reset();
    this.#sizeSVG();
    this.#updateInfo();
    this.#updateStepbar();
  }

  /** Lays every event out afresh (the scale changed) and draws it. */
  #redraw() {
    const rec = this.#record;
    const ui = this.#ui;
    for (const g of [ui.gutter, ui.lifelines, ui.bars, ui.msgs, ui.events, ui.heads, ui.noteLayer, ui.pendingLayer]) g.replaceChildren();
    this.#ghostKey = '';
    this.#calloutKey = '';
    this.#near = null;
    this.#resetDrawing();
    this.#layout = new Layout({ scale: this.scale, pxPerNs: fitPxPerNs(rec?.events ?? []), actors: rec?.actors ?? [] });
    for (const ev of rec?.events ?? []) this.#layout.add(ev);
    this.#render();
    const keep = this.#hl;
    this.#hl = [];
    this.#highlight(keep.map((el) => Number(el.dataset.seq)).filter(Number.isFinite));
  }

  /** Appends what the layout holds that is not drawn yet; writes only, no layout reads. */
  #render() {
    const L = this.#layout;
    const d = this.#drawn;
    const ui = this.#ui;
    // Appends the new items of a chunked layer, a run of one chunk at a
    // time. Chunks far from the viewport get their items bare (no texts, no
    // hit areas): #decorate adds those when the chunk comes near.
    const append = (layer, items, key, render) => {
      let i = d[key];
      const index = this.#chunkItems[key];
      while (i < items.length) {
        const k = items[i].chunk;
        const full = this.#decorated[k] === true;
        let s = '';
        const start = i;
        while (i < items.length && items[i].chunk === k) s += render(items[i++], full);
        if (index) {
          const list = (index[k] ??= []);
          for (let j = start; j < i; j++) list.push(j);
        }
        if (s) this.#chunk(layer, k).insertAdjacentHTML('beforeend', s);
        else this.#chunk(layer, k);
      }
      d[key] = items.length;
    };
    if (!d.actors && L.actors.length) requestAnimationFrame(() => this.#centerLifelines());
    for (; d.actors < L.actors.length; d.actors++) {
      const a = L.actors[d.actors];
      ui.lifelines.insertAdjacentHTML('beforeend', renderLifeline(a, L.spacing));
      const head = document.createElement('span');
      head.className = `actor-head ${actorClass(a.name)}`;
      head.textContent = a.name;
      head.style.left = `${a.x}px`;
      ui.heads.append(head);
    }
    const bottom = L.bottom + this.#extra();
    for (const [seg, line] of this.#openLines) {
      line.setAttribute('y2', seg.y2 ?? bottom);
      if (seg.y2 != null) this.#openLines.delete(seg);
    }
    for (; d.segments < L.segments.length; d.segments++) {
      const seg = L.segments[d.segments];
      const group = ui.lifelines.children[seg.index];
      group.insertAdjacentHTML('beforeend', renderSegment(seg, bottom));
      if (seg.y2 == null) this.#openLines.set(seg, group.lastElementChild);
    }
    const marksBefore = d.marks;
    append(ui.gutter, L.gutter, 'gutter', (g, full) => (full ? renderGutter(g) : ''));
    append(ui.msgs, L.arrows, 'arrows', renderArrow);
    append(ui.events, L.marks, 'marks', renderMark);
    this.#renderBars(bottom);
    for (; d.paired < L.paired.length; d.paired++) {
      const i = L.pos.get(L.paired[d.paired]);
      if (i < marksBefore) this.#markAt(i).setAttribute('data-paired', '');
    }
    this.#sizeSVG();
    this.#showNearLabels(true);
    this.#drawPending();
    this.#drawCallout();
  }

  /**
   * Appends the new bars and closes the open ones whose end came: the bar
   * then spans begin to end, and the begin's label says how long it was
   * blocked. Open bars are kept to grow in the painter's frames.
   */
  #renderBars(bottom) {
    const L = this.#layout;
    const d = this.#drawn;
    const ui = this.#ui;
    if (d.bars < L.bars.length) {
      const start = ui.bars.children.length;
      ui.bars.insertAdjacentHTML('beforeend', L.bars.slice(d.bars).map((b) => renderBar(b, bottom)).join(''));
      for (let i = d.bars; i < L.bars.length; i++) {
        if (L.bars[i].open) this.#openBars.set(L.bars[i], ui.bars.children[start + i - d.bars]);
      }
      d.bars = L.bars.length;
    }
    for (; d.closed < L.closed.length; d.closed++) {
      const bar = L.closed[d.closed];
      const rect = this.#openBars.get(bar);
      this.#openBars.delete(bar);
      if (rect) {
        rect.setAttribute('height', barHeight(bar, bottom));
        rect.removeAttribute('data-open');
        rect.setAttribute('data-end-seq', bar.endSeq);
        rect.classList.remove('open');
      }
      this.#relabel(bar.seq);
    }
    if (this.#openBars.size) this.#growOpenBars();
  }

  /** Writes the label the layout holds for event seq's mark into its drawn text, if drawn. */
  #relabel(seq) {
    const i = this.#layout.pos.get(seq);
    const text = this.#markAt(i)?.querySelector('.label');
    const label = this.#layout.marks[i]?.label;
    if (text && label != null && text.textContent !== label) text.textContent = label;
  }

  #openBars = new Map(); // bar → its rect, while the call is open
  #barFrame = 0;
  #barLabelAt = 0; // when the open bars' labels were last written
  #clock = { t: 0, at: 0 }; // the newest event's t_ns, and performance.now() when it was drawn

  /**
   * The session's time now, in ns, estimated from the newest event drawn
   * and the time since; for a live session also from its start on the
   * wall clock (a viewer who joins while a call blocks sees how long it
   * has blocked), when that is later and not absurdly so.
   */
  #sessionNow() {
    let now = this.#clock.t + (performance.now() - this.#clock.at) * 1e6;
    const rec = this.#record;
    const started = this.#live && rec?.state === 'running' ? Date.parse(String(rec.started_at ?? '').replace(/(\.\d{3})\d+/, '$1')) : NaN;
    if (Number.isFinite(started)) {
      const wall = (Date.now() - started) * 1e6;
      if (wall > now && wall - now < 60e9) now = wall;
    }
    return now;
  }

  /**
   * Grows the open bars to where the newest row is (and, in the
   * proportional scale, to where time has got to), and writes "read…
   * blocked 120 ms" into their begins' labels: one rect and one text per
   * open call, in animation frames, while the session runs.
   */
  #growOpenBars() {
    if (this.#barFrame || !this.#openBars.size) return;
    this.#barFrame = requestAnimationFrame(() => {
      this.#barFrame = 0;
      const rec = this.#record;
      if (!this.#openBars.size || !rec) return;
      const L = this.#layout;
      const running = rec.state === 'running';
      const now = running ? this.#sessionNow() : L.rows[L.rows.length - 1]?.t ?? 0;
      const bottom = L.openBottom(now);
      const relabel = performance.now() - this.#barLabelAt >= OPEN_LABEL_MS;
      if (relabel) this.#barLabelAt = performance.now();
      for (const [bar, rect] of this.#openBars) {
        const h = String(Math.round(barHeight(bar, bottom) * 10) / 10);
        if (rect.getAttribute('height') !== h) rect.setAttribute('height', h);
        if (!relabel) continue;
        const mark = L.marks[L.pos.get(bar.seq)];
        const ev = rec.events[L.pos.get(bar.seq)];
        if (!mark || !ev) continue;
        mark.label = running ? beginLabel(ev, Math.max(0, now - bar.t)) : `${beginLabel(ev, Math.max(0, now - bar.t))}, no end recorded`;
        this.#relabel(bar.seq);
      }
      if (running) this.#growOpenBars();
    });
  }

  /**
   * On a viewport narrower than the diagram (a phone), scrolls it across
   * to show the lifelines and what passes between them rather than the
   * gutter and the outer labels. Once a drawing: one layout read.
   */
  #centerLifelines() {
    const vp = this.#ui.viewport;
    const actors = this.#layout.actors;
    if (!actors.length || vp.scrollLeft > 0) return;
    const width = vp.clientWidth;
    const first = actors[0].x;
    const last = actors[actors.length - 1].x;
    // Unscrolled, the lifelines show (and the Δt gutter with them): leave it.
    if (!width || last + G.r + 20 <= width) return;
    // The lifelines in the middle when they fit, else from the first one on.
    const left = last - first + 2 * G.r + 40 <= width ? (first + last) / 2 - width / 2 : first - 40;
    vp.scrollLeft = Math.max(0, left);
  }

  /** The chunk group k of a layer, made (with any before it) if new. */
  #chunk(layer, k) {
    while (layer.children.length <= k) {
      const g = document.createElementNS(SVG_NS, 'g');
      g.setAttribute('class', 'chunk');
      layer.append(g);
    }
    return layer.children[k];
  }

  /** The mark of the event at index i. */
  #markAt(i) {
    return this.#ui.events.children[Math.floor(i / CHUNK)]?.children[i % CHUNK] ?? null;
  }

  /** The transcript row of the event at index i, its cells filled. */
  #rowAt(i) {
    const k = Math.floor(i / CHUNK);
    if (!this.#rowsFilled[k]) this.#fillRows(k);
    return this.#ui.table.tBodies[k]?.rows[i % CHUNK] ?? null;
  }

  #near = null; // [first, last] chunk whose labels show
  #scrollTop = 0;
  #viewHeight = 800;

  /**
   * Shows the labels of the chunks in and next to the viewport, hides the
   * others'. #near is null when the layers were emptied. Uses the scroll position the scroll handler last read, or the
   * bottom while following: no layout reads.
   */
  #showNearLabels(force = false) {
    const L = this.#layout;
    const rows = L.rows;
    if (!rows.length) return;
    const top = this.#following && this.#record?.state === 'running' ? Math.max(0, L.height - this.#viewHeight) : this.#scrollTop;
    const rowAt = (y) => {
      let lo = 0;
      let hi = rows.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (rows[mid].y < y) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const first = Math.max(0, Math.floor(rowAt(top) / CHUNK) - 1);
    const last = Math.floor(rowAt(top + this.#viewHeight) / CHUNK) + 1;
    // force: chunks may have been added in the range since it was shown.
    if (!force && this.#near && this.#near[0] === first && this.#near[1] === last) return;
    const ui = this.#ui;
    const chunks = Math.max(ui.events.children.length, ui.msgs.children.length, ui.gutter.children.length);
    for (let k = first; k <= last && k < chunks; k++) this.#decorate(k);
    // Only the chunks that leave or enter the range change class: toggling
    // a chunk off and on again would restyle (and relayout) all its labels.
    const [was0, was1] = this.#near ?? [0, -1];
    for (const layer of [ui.events, ui.msgs, ui.gutter]) {
      const groups = layer.children;
      for (let k = was0; k <= was1 && k < groups.length; k++) if (k < first || k > last) groups[k].classList.remove('near');
      for (let k = first; k <= last && k < groups.length; k++) if (!groups[k].classList.contains('near')) groups[k].classList.add('near');
    }
    this.#near = [first, last];
  }

  /**
   * Sizes the drawing (and the sticky names) to the layout. Any change to
   * the SVG root's size or attributes makes Chromium lay out every text in
   * it again (SVG text counts as sized relative to the viewport), so the
   * SVG canvas grows in powers of two and only its clipping box, a div,
   * follows the layout's height row by row; attributes are written only
   * when they change.
   */
  #sizeSVG() {
    const { width, height } = this.#layout;
    const w = this.#layout.actors.length ? width : 0;
    const h = this.#layout.actors.length ? height + this.#extra() : 0;
    const ui = this.#ui;
    let canvasH = this.#canvas.h;
    if (h > canvasH || h < canvasH / 4 || !h) canvasH = h ? Math.max(2048, 2 ** Math.ceil(Math.log2(h))) : 0;
    if (w !== this.#canvas.w || canvasH !== this.#canvas.h) {
      this.#canvas.w = w;
      this.#canvas.h = canvasH;
      for (const el of [ui.svg, ui.bg]) {
        el.setAttribute('width', w);
        el.setAttribute('height', canvasH);
      }
      ui.heads.style.width = `${w}px`;
      ui.canvas.style.width = `${w}px`;
    }
    if (h !== this.#canvas.shown) {
      this.#canvas.shown = h;
      ui.canvas.style.height = `${h}px`;
    }
    if (w && w !== this.#widthShown) {
      this.#widthShown = w;
      this.#ui.split.style.setProperty('--seq-diagram-width', `${w}px`);
    }
  }

  /**
   * Appends the new events' transcript rows, CHUNK rows a row group. A
   * backlog's row groups after the first get their rows bare (the row,
   * no cells): #fillRows gives them their cells when the group comes into
   * view (content-visibility tells), when a row is picked, and in idle
   * time once the drawing is done.
   */
  #appendTranscript() {
    const events = this.#record?.events ?? [];
    const table = this.#ui.table;
    let i = this.#rowsDrawn;
    const bare = this.#quiet && this.#pending.length - this.#pendingAt + events.length - i > CHUNK;
    while (i < events.length) {
      const k = Math.floor(i / CHUNK);
      let body = table.tBodies[k];
      if (!body) {
        body = table.createTBody();
        body.setAttribute('role', 'rowgroup');
        body.addEventListener('contentvisibilityautostatechange', (e) => { if (!e.skipped) this.#fillRows(k); });
        if (k === 0 || !bare) this.#rowsFilled[k] = true;
        else this.#bareRows = true;
      }
      const full = this.#rowsFilled[k] === true;
      let s = '';
      for (; i < events.length && Math.floor(i / CHUNK) === k; i++) {
        const m = this.#layout.marks[i];
        s += full ? renderTranscriptRow(events[i], i ? Math.max(0, events[i].t_ns - events[i - 1].t_ns) : 0, m?.note ?? '', m) : renderTranscriptRow(events[i], 0, '', null, false);
      }
      body.insertAdjacentHTML('beforeend', s);
    }
    this.#rowsDrawn = events.length;
  }

  #rowsFilled = []; // row group k → true once its rows have their cells
  #bareRows = false; // some row group still has bare rows

  /** Gives the bare rows of row group k their cells. */
  #fillRows(k) {
    if (this.#rowsFilled[k]) return;
    const body = this.#ui.table.tBodies[k];
    if (!body) return;
    this.#rowsFilled[k] = true;
    const events = this.#record?.events ?? [];
    const rows = body.rows;
    for (let j = 0; j < rows.length; j++) {
      const i = k * CHUNK + j;
      const ev = events[i];
      if (!ev || rows[j].firstChild) continue;
      const m = this.#layout.marks[i];
      rows[j].innerHTML = renderTranscriptCells(ev, i ? Math.max(0, ev.t_ns - events[i - 1].t_ns) : 0, m?.note ?? '', m);
    }
  }

  /** Fills the bare row groups left, a few at a time in idle periods. */
  #fillRowsWhenIdle() {
    if (this.#idleFill) return;
    // Works on whatever is drawn when it runs (a later drawing's rows too).
    const idle = globalThis.requestIdleCallback ?? ((f) => setTimeout(() => f({ timeRemaining: () => 8 }), 16));
    const step = (deadline) => {
      this.#idleFill = 0;
      const n = this.#ui.table.tBodies.length;
      let k = 0;
      while (k < n && this.#rowsFilled[k]) k++;
      for (; k < n && deadline.timeRemaining() > 3; k++) this.#fillRows(k);
      while (k < n && this.#rowsFilled[k]) k++;
      if (k < n) this.#idleFill = idle(step, { timeout: 500 });
    };
    this.#idleFill = idle(step, { timeout: 500 });
  }

  #idleFill = 0;

  // --- state

  /** Ends the session drawn in state (done or failed), saying so. */
  #finish(state, error) {
    const rec = this.#record;
    if (!rec) return;
    rec.state = state || 'done';
    if (error) rec.error = error;
    this.#closeFeed();
    if (this.#stepPending) {
      this.#stepPending = null;
      this.#render(); // no ghost, and the lifelines end at the last row again
      this.#syncCode();
      this.#emit('seq-diagram:pending', { id: rec.id ?? '', pending: null });
    }
    this.#nextPending = null;
    this.#stepBusy = false;
    if (this.#question && !this.#question.revealed) this.#renderQuestion();
    this.#updateStepbar();
    // Calls still open never returned in the record: their bars say so.
    this.#barLabelAt = 0;
    this.#growOpenBars();
    this.#setState(rec.state, error);
    const n = plural(rec.events.length, 'event');
    const took = rec.events.length ? ` in ${formatDuration(rec.events[rec.events.length - 1].t_ns)}` : '';
    this.#announcer.say(rec.state === 'failed' ? `The session failed: ${error || 'unknown error'}` : `The session is done: ${n}${took}.`);
  }

  /** Reflects state in data-state and tells listeners (seq-diagram:state). */
  #setState(state, error, id = this.#record?.id) {
    this.setAttribute('data-state', state);
    if (state === 'failed') this.#showMessage(error || 'The session failed.', true);
    this.#updateInfo();
    this.#emit('seq-diagram:state', { state, error: error || '', id: id ?? '' });
  }

  /** Shows a line above the diagram (loading, errors); '' hides it. */
  #showMessage(text, isError = false) {
    const m = this.#ui.message;
    m.textContent = text;
    m.hidden = !text;
    m.classList.toggle('error', isError);
    m.setAttribute('role', isError ? 'alert' : 'status');
  }

  /** Updates the toolbar's summary and the follow button. */
  #updateInfo() {
    const rec = this.#record;
    const ui = this.#ui;
    const { calls, segments } = this.counts;
    const what = segments ? `${plural(calls, 'call')}, ${plural(segments, 'segment')}` : plural(calls, 'event');
    ui.info.textContent = rec ? `${rec.scenario ? rec.scenario + ' · ' : ''}${what} · ${rec.state}` : '';
    ui.follow.hidden = this.#following || rec?.state !== 'running';
    // The segment layer's toggle and the pcapng export, once there are segments.
    const has = segments > 0;
    if (ui.segToggle.hidden === has) ui.segToggle.hidden = !has;
    const pcap = has && this.#live && rec?.id ? this.#api(`/api/sessions/${encodeURIComponent(rec.id)}/pcapng`) : '';
    if (ui.pcapng.getAttribute('href') !== (pcap || null)) {
      if (pcap) ui.pcapng.setAttribute('href', pcap);
      else ui.pcapng.removeAttribute('href');
      ui.pcapng.hidden = !pcap;
    }
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  // --- interaction

  /** Listens to the toolbar, scrolling, and pointer, focus and keys on marks, arrows and rows. */
  #wire() {
    const ui = this.#ui;
    ui.scale.addEventListener('change', () => { this.scale = ui.scale.value; });
    ui.segBox.addEventListener('change', () => ui.svg.classList.toggle('no-segs', !ui.segBox.checked));
    ui.follow.addEventListener('click', () => {
      this.#following = true;
      ui.viewport.scrollTop = this.#layout.height;
      this.#updateInfo();
    });
    ui.toolbar.addEventListener('click', (e) => {
      const button = e.target.closest('[data-export]');
      const kind = button?.dataset.export;
      if (!kind) return;
      if (button.getAttribute('aria-disabled') === 'true') {
        this.#showMessage(button.title);
        return;
      }
      this.download(kind).catch((err) => this.#showMessage(`Export failed: ${err.message}`, true));
    });
    ui.viewport.addEventListener('scroll', () => {
      const vp = ui.viewport;
      this.#scrollTop = vp.scrollTop;
      this.#viewHeight = vp.clientHeight;
      this.#following = vp.scrollTop + vp.clientHeight >= vp.scrollHeight - 40;
      this.#showNearLabels();
      vp.classList.toggle('scrolled', vp.scrollTop > G.nameTop + G.nameHeight);
      if (!this.#pinned) this.#hideDetails();
      this.#updateInfo();
    }, { passive: true });
    new ResizeObserver(([entry]) => {
      this.#viewHeight = entry.contentRect.height;
      this.#showNearLabels();
    }).observe(ui.viewport);
    new IntersectionObserver((entries) => {
      const shown = entries[entries.length - 1].isIntersecting;
      if (shown && !this.#transcriptShown && this.#followingTranscript && this.#record?.state === 'running') ui.transcriptScroll.scrollTop = 1e9;
      this.#transcriptShown = shown;
    }).observe(ui.transcriptScroll);
    ui.transcriptScroll.addEventListener('scroll', () => {
      const sc = ui.transcriptScroll;
      this.#followingTranscript = sc.scrollTop + sc.clientHeight >= sc.scrollHeight - 40;
    }, { passive: true });

    const item = (e) => e.target.closest?.('.event, .msg');
    ui.svg.addEventListener('pointerover', (e) => {
      const el = item(e);
      if (el && !this.#pinned) this.#inspect(el);
    });
    ui.svg.addEventListener('pointerout', (e) => {
      const el = item(e);
      if (el && !el.contains(e.relatedTarget) && !this.#pinned) this.#inspect(null);
    });
    ui.svg.addEventListener('focusin', (e) => {
      const el = item(e);
      if (el) {
        this.#pinned = false;
        this.#inspect(el);
        this.#scrollRowIntoView(Number(el.dataset.seq));
      }
    });
    ui.svg.addEventListener('focusout', (e) => {
      if (!ui.svg.contains(e.relatedTarget)) {
        this.#pinned = false;
        this.#inspect(null);
      }
    });
    ui.svg.addEventListener('click', (e) => {
      const el = item(e);
      if (!el) {
        this.#pinned = false;
        this.#inspect(null);
        this.#unselect();
        return;
      }
      this.#pinned = true;
      this.#inspect(el);
      const seq = Number(el.dataset.seq ?? el.dataset.recvSeq);
      this.#scrollRowIntoView(seq);
      this.#select(seq);
    });
    ui.svg.addEventListener('keydown', (e) => this.#onKey(e));
    ui.root.addEventListener('keydown', (e) => {
      if (e.key === 'Escape' && !ui.details.hidden) {
        this.#pinned = false;
        this.#inspect(null);
      }
    });
    ui.table.addEventListener('pointerover', (e) => {
      const tr = e.target.closest('tr[data-seq]');
      if (tr && !this.#pinned) this.#highlight([Number(tr.dataset.seq)]);
    });
    ui.table.addEventListener('click', (e) => {
      const tr = e.target.closest('tr[data-seq]');
      if (tr) this.#activateRow(tr);
    });
    // Rows take focus from the keyboard: Enter in the transcript moves into
    // them, ↑ ↓ move between them, Enter or Space picks one, Escape leaves.
    ui.table.addEventListener('keydown', (e) => {
      const tr = e.target.closest?.('tr[data-seq]');
      if (!tr) return;
      const i = this.#layout.pos.get(Number(tr.dataset.seq));
      let to = null;
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        this.#activateRow(tr);
        return;
      } else if (e.key === 'ArrowDown') to = this.#rowAt(i + 1);
      else if (e.key === 'ArrowUp') to = this.#rowAt(i - 1);
      else if (e.key === 'Escape') to = ui.transcriptScroll;
      else return;
      e.preventDefault();
      to?.focus();
    });
    ui.transcriptScroll.addEventListener('keydown', (e) => {
      if (e.target !== ui.transcriptScroll || e.key !== 'Enter') return;
      e.preventDefault();
      const hl = this.#hl.find((el) => el.localName === 'tr');
      (hl ?? this.#firstVisibleRow())?.focus();
    });

    // Step mode
    ui.next.addEventListener('click', () => this.next());
    ui.run.addEventListener('click', () => this.runToEnd());
    ui.qChoices.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-choice]');
      if (b && !b.disabled) this.answer(Number(b.dataset.choice));
    });

    // The code pane: clicking (or Enter on) a line marks the calls it made.
    ui.codeToggle.addEventListener('click', () => this.#setCodeOpen(!this.#codeOpen, true));
    ui.codeFiles.addEventListener('click', (e) => {
      const line = e.target.closest('.line');
      if (line) this.#activateLine(line);
    });
    ui.codeFiles.addEventListener('keydown', (e) => this.#onCodeKey(e));
    ui.codeFiles.addEventListener('scroll', (e) => {
      const box = this.#listingBox.get(e.target);
      if (box) box.top = e.target.scrollTop;
    }, { capture: true, passive: true });
    this.#listingObserver = new ResizeObserver((entries) => {
      for (const entry of entries) {
        const box = this.#listingBox.get(entry.target);
        if (!box) continue;
        const shown = !box.height;
        box.height = entry.contentRect.height;
        box.top = entry.target.scrollTop;
        // Just shown: bring the lines marked meanwhile into view.
        if (shown) for (const el of [this.#codeMarks.current, this.#codeMarks.pending]) if (el?.parentElement === entry.target) this.#scrollLine(el);
      }
    });
  }

  #listingObserver = null;
  #canvas = { w: -1, h: -1, shown: -1 }; // the SVG's size (w, h) and the height shown
  #widthShown = 0; // the diagram width the code pane leaves room for

  /** Picks a transcript row: highlights its mark and its line, and scrolls the diagram to it. */
  #activateRow(tr) {
    const seq = Number(tr.dataset.seq);
    this.#pinned = false;
    this.#hideDetails();
    this.#highlight([seq]);
    this.#scrollMarkIntoView(seq);
    this.#select(seq);
  }

  /** The first transcript row in view (reads layout: on a key press only). */
  #firstVisibleRow() {
    const sc = this.#ui.transcriptScroll;
    const top = sc.getBoundingClientRect().top;
    for (const body of this.#ui.table.tBodies) {
      const r = body.getBoundingClientRect();
      if (r.bottom < top) continue;
      for (const row of body.rows) if (row.getBoundingClientRect().bottom > top + 30) return row;
    }
    return this.#rowAt(0);
  }

  /** Keys on a focused mark: ↑/↓ the previous/next event, ←/→ along its arrows, Enter selects. */
  #onKey(e) {
    const el = e.target.closest?.('.event');
    if (!el) return;
    const seq = Number(el.dataset.seq);
    let to;
    if (e.key === 'ArrowDown') to = this.#markEl(seq + 1);
    else if (e.key === 'ArrowUp') to = this.#markEl(seq - 1);
    else if (e.key === 'ArrowRight' || e.key === 'ArrowLeft') {
      const arrow = this.#arrowsOf(seq)[0];
      if (arrow) to = this.#markEl(arrow.sendSeq === seq ? arrow.recvSeq : arrow.sendSeq);
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      this.#pinned = true;
      this.#inspect(el);
      this.#select(seq);
      return;
    } else return;
    e.preventDefault();
    to?.focus();
  }

  /** The mark of event seq, if drawn. */
  #markEl(seq) {
    const i = this.#layout.pos.get(seq);
    return i === undefined ? null : this.#markAt(i);
  }

  /** The arrows that start or end at event seq. */
  #arrowsOf(seq) {
    return this.#layout.arrows.filter((a) => a.sendSeq === seq || a.recvSeq === seq);
  }

  /** Tells listeners that the viewer picked event seq (seq-diagram:event-selected). */
  #select(seq) {
    const event = this.#record?.events[this.#layout.pos.get(seq)];
    if (!event) return;
    this.#selectedSeq = seq;
    this.#drawCallout();
    if (this.#markLine('hl', sourceOf(event), true)) {
      const [file, line] = sourceOf(event);
      this.#ui.codeInfo.textContent = `#${seq} ${event.actor}: ${eventLabel(event)} — ${file} line ${line}`;
    }
    this.#emit('seq-diagram:event-selected', { seq, event });
  }

  /** Forgets the event picked: its note and its line go. */
  #unselect() {
    if (this.#selectedSeq == null) return;
    this.#selectedSeq = null;
    this.#drawCallout();
    this.#markLine('hl', null);
  }

  /** Shows the details of a mark or arrow and highlights it with its rows; null hides them. */
  #inspect(el) {
    if (!el) {
      this.#hideDetails();
      this.#highlight([]);
      return;
    }
    const seqs = el.classList.contains('msg') ? [Number(el.dataset.sendSeq), Number(el.dataset.recvSeq)] : [Number(el.dataset.seq)];
    this.#highlight(seqs, el);
    this.#showDetails(el, seqs);
  }

  /** Highlights the marks, rows and arrows of seqs (and extra, an arrow hovered). */
  #highlight(seqs, extra) {
    for (const el of this.#hl) el.classList.remove('hl');
    const ui = this.#ui;
    const hl = [];
    for (const seq of seqs) {
      const i = this.#layout.pos.get(seq);
      if (i === undefined) continue;
      const mark = this.#markAt(i);
      const row = this.#rowAt(i);
      if (mark) hl.push(mark);
      if (row) hl.push(row);
      if (seqs.length === 1) {
        hl.push(...ui.msgs.querySelectorAll(`.msg[data-send-seq="${seq}"], .msg[data-recv-seq="${seq}"]`));
        // Either half of a split call lights up the other half and its bar.
        const other = this.#layout.partnerOf(seq);
        const j = other === undefined ? undefined : this.#layout.pos.get(other);
        if (j !== undefined) hl.push(...[this.#markAt(j), this.#rowAt(j)].filter(Boolean));
        const call = this.#layout.marks[i]?.call;
        if (call) hl.push(...ui.bars.querySelectorAll(`.bar[data-call="${call}"]`));
      }
    }
    if (extra) hl.push(extra);
    for (const el of hl) el.classList.add('hl');
    this.#hl = hl;
  }

  /** Scrolls the transcript (only) to show event seq's row. */
  #scrollRowIntoView(seq) {
    const row = this.#rowAt(this.#layout.pos.get(seq));
    const sc = this.#ui.transcriptScroll;
    if (!row || !this.#ui.transcriptBox.open) return;
    const top = row.offsetTop - sc.clientHeight / 2;
    if (row.offsetTop < sc.scrollTop + 30 || row.offsetTop + row.offsetHeight > sc.scrollTop + sc.clientHeight) sc.scrollTop = top;
  }

  /** Scrolls the diagram (only) to show event seq's mark, from the layout: no page jump. */
  #scrollMarkIntoView(seq) {
    const m = this.#layout.marks[this.#layout.pos.get(seq)];
    const vp = this.#ui.viewport;
    if (!m) return;
    vp.scrollTop = m.y - vp.clientHeight / 2;
    if (m.x < vp.scrollLeft || m.x > vp.scrollLeft + vp.clientWidth) vp.scrollLeft = m.x - vp.clientWidth / 2;
  }

  /** Hides the details popup. */
  #hideDetails() {
    const d = this.#ui.details;
    d.hidden = true;
    d.classList.remove('pinned');
    this.#ui.svg.querySelector('[aria-describedby]')?.removeAttribute('aria-describedby');
  }

  /** Fills and places the details popup beside el. */
  #showDetails(el, seqs) {
    const d = this.#ui.details;
    const events = this.#record?.events ?? [];
    const L = this.#layout;
    const evs = seqs.map((s) => events[L.pos.get(s)]).filter(Boolean);
    if (!evs.length) return;
    d.replaceChildren();
    const h = (tag, text, cls) => {
      const n = document.createElement(tag);
      n.textContent = text;
      if (cls) n.className = cls;
      d.append(n);
      return n;
    };
    if (evs.length === 2) {
      const [s, r] = evs;
      const arrow = L.arrows.find((a) => a.sendSeq === s.seq && a.recvSeq === r.seq);
      h('h3', `${s.actor} → ${r.actor}: ${arrow ? arrow.hi - arrow.lo : 0} bytes`);
      const dl = document.createElement('dl');
      const rows = [
        ['write', `#${s.seq} ${eventLabel(s)} at ${formatTime(s.t_ns)}`],
        ['read', `#${r.seq} ${eventLabel(r)} at ${formatTime(r.t_ns)}`],
      ];
      if (arrow) rows.push(['stream bytes', `${arrow.lo} – ${arrow.hi - 1}`]);
      rows.push(['read after write', formatDuration(r.t_ns - s.t_ns)]);
      fillDL(dl, rows);
      d.append(dl);
      if (arrow) {
        const bytes = payloadBytes(s);
        this.#payload(h, bytes.subarray(arrow.lo - (s.offset ?? 0), arrow.hi - (s.offset ?? 0)), !!s.data_b64);
      }
    } else {
      const ev = evs[0];
      const mark = L.marks[L.pos.get(ev.seq)];
      const title = ev.kind === 'segment' ? `${ev.actor} → ${mark?.to || ev.peer || '?'}: segment ${eventLabel(ev)}` : `${ev.actor}: ${eventLabel(ev)}`;
      h('h3', `#${ev.seq} ${title}`, isError(ev) || mark?.rst ? 'error' : '');
      const note = mark?.note;
      if (note) h('p', note, 'note');
      const partnerSeq = L.partnerOf(ev.seq);
      const partner = partnerSeq === undefined ? null : events[L.pos.get(partnerSeq)] ?? null;
      const dl = document.createElement('dl');
      fillDL(dl, detailRows(ev, mark, partner));
      d.append(dl);
      if (isBegin(ev) || isEnd(ev)) this.#splitCall(h, ev, partner);
      const links = this.#arrowsOf(ev.seq);
      if (links.length) {
        h('h4', 'Arrows');
        const lines = links.slice(0, 8).map((a) => (a.sendSeq === ev.seq ? `→ read #${a.recvSeq} by ${a.to}` : `← write #${a.sendSeq} by ${a.from}`) + `, bytes ${a.lo}–${a.hi - 1}`);
        if (links.length > 8) lines.push(`… ${links.length - 8} more`);
        h('pre', lines.join('\n'));
      }
      if (ev.data || ev.data_b64) this.#payload(h, payloadBytes(ev), !!ev.data_b64, ev.truncated);
    }
    d.hidden = false;
    d.classList.toggle('pinned', this.#pinned);
    this.#ui.svg.querySelector('[aria-describedby]')?.removeAttribute('aria-describedby');
    el.setAttribute('aria-describedby', 'details');
    // Place it: reads layout once, on interaction only.
    const r = el.getBoundingClientRect();
    const w = d.offsetWidth;
    const hgt = d.offsetHeight;
    let left = r.right + 12;
    if (left + w > innerWidth - 8) left = Math.max(8, r.left - w - 12);
    const top = Math.min(Math.max(8, r.top - 8), Math.max(8, innerHeight - hgt - 8));
    d.style.left = `${left}px`;
    d.style.top = `${top}px`;
  }

  // --- step mode

  /**
   * Lets the next call of the stepped session happen (this browser must
   * hold its step token). Resolves true once its event is recorded.
   */
  next() {
    return this.#stepRequest('step');
  }

  /** Lets the remaining calls of the stepped session happen at its pace. */
  async runToEnd() {
    const ok = await this.#stepRequest('run');
    if (ok) {
      this.#released = true;
      this.#updateStepbar();
    }
    return ok;
  }

  /** Answers the question asked about the pending call with choice i (any viewer may). */
  async answer(choice) {
    const q = this.#question;
    const rec = this.#record;
    if (!q || q.revealed || !rec?.id || rec.state !== 'running' || !(choice >= 0 && choice < q.choices.length)) return false;
    q.mine = choice;
    this.#renderQuestion();
    try {
      await fetchJSON(this.#api(`/api/sessions/${encodeURIComponent(rec.id)}/answer`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ viewer: viewerId(), choice }),
      });
      return true;
    } catch (err) {
      if (this.#question === q && !q.revealed) this.#ui.qResult.textContent = `Your answer was not counted: ${err.message}`;
      return false;
    }
  }

  /** POSTs step or run with the token; says why when the server refuses. */
  async #stepRequest(what) {
    if (!this.canStep || this.#stepBusy) return false;
    const rec = this.#record;
    const gen = this.#gen;
    this.#stepBusy = true;
    this.#updateStepbar();
    try {
      await fetchJSON(this.#api(`/api/sessions/${encodeURIComponent(rec.id)}/${what}`), {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.#stepToken}` },
      });
      return true;
    } catch (err) {
      if (gen !== this.#gen) return false;
      if (err.status === 403) {
        dropToken(rec.id);
        this.#stepToken = '';
        this.#showMessage(`This browser may not step the session: ${err.message}`, true);
      } else if (err.status === 409) {
        this.#released = true; // it has ended, or runs to its end
      } else {
        this.#showMessage(`The ${what} did not complete: ${err.message}`, true);
      }
      return false;
    } finally {
      if (gen === this.#gen) {
        this.#stepBusy = false;
        this.#updateStepbar();
      }
    }
  }

  /** Space and → anywhere on the page do Next, unless focus is where those keys mean something. */
  #docKey(e) {
    if (e.key !== ' ' && e.key !== 'ArrowRight') return;
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || !this.canStep) return;
    const t = e.composedPath()[0];
    if (isTextField(t)) return;
    if (t?.closest?.('input, select, [role="slider"], [role="radio"], [role="tab"], [role="option"], [role="menuitem"]')) return;
    if (e.key === ' ' && t?.closest?.('button, a[href], summary, [role="button"], [role="checkbox"], [role="switch"], [role="link"]')) return;
    e.preventDefault();
    this.next();
  }

  /** Takes the pending call the server sent last: the ghost, the pending line and any question. */
  #applyPending(p) {
    const rec = this.#record;
    if (rec.state !== 'running' || !this.#live || !p?.actor) p = null;
    const prev = this.#stepPending;
    this.#stepPending = p;
    if (p && !rec.actors.includes(p.actor)) {
      rec.actors.push(p.actor);
      this.#layout.actor(p.actor);
    }
    if (p?.question) this.#ask(p);
    const same = prev && p && prev.actor === p.actor && prev.kind === p.kind && prev.fd === p.fd && prev.line === p.line;
    if (!same && (prev || p)) this.#emit('seq-diagram:pending', { id: rec.id ?? '', pending: p });
  }

  /** Whether event ev is the call shown as pending. */
  #isPendingCall(ev) {
    const p = this.#stepPending;
    return Boolean(p) && ev.actor === p.actor && ev.kind === p.kind && (!p.line || ev.line === p.line);
  }

  /** Shows the question asked about pending call p, or updates its tally. */
  #ask(p) {
    const q = p.question;
    const key = `${this.#next}|${p.actor}|${p.kind}|${p.fd}|${p.line}|${q.text}`;
    const tally = Array.isArray(q.tally) ? q.tally : [];
    if (this.#question?.key === key) {
      this.#question.tally = tally;
      this.#renderQuestion();
      return;
    }
    // A revealed question gives way, its answer kept in a line above.
    if (this.#question?.revealed) this.#renderLastAnswer(this.#question);
    this.#question = {
      key,
      actor: p.actor,
      kind: p.kind,
      text: String(q.text ?? ''),
      choices: (Array.isArray(q.choices) ? q.choices : []).map(String),
      tally,
      mine: null,
      atSeq: this.#next,
      revealed: false,
      right: -1,
      event: null,
    };
    this.#renderQuestion(true);
  }

  /** The answer to the question before the one asked now, on one line. */
  #renderLastAnswer(q) {
    const el = this.#ui.qLast;
    if (!q) {
      el.hidden = true;
      el.replaceChildren();
      el.removeAttribute('data-right');
      return;
    }
    const total = q.tally.reduce((a, b) => a + (Number(b) || 0), 0);
    const correct = q.right >= 0 ? Number(q.tally[q.right]) || 0 : 0;
    const strong = document.createElement('strong');
    strong.className = 'right';
    strong.textContent = q.right >= 0 ? `✓ ${q.choices[q.right]}` : eventLabel(q.event);
    const mine = q.mine == null ? '' : q.mine === q.right ? ' You predicted it.' : ` You said “${q.choices[q.mine]}”.`;
    el.replaceChildren(`Last question (${q.actor} · ${callName(q)}): `, strong,
      total ? ` — ${correct} of ${plural(total, 'answer')} right.${mine}` : ` — nobody answered.`);
    el.dataset.right = String(q.right);
    el.hidden = false;
  }

  /** Reveals the question's answer when the call it asked about is among events. */
  #reveal(events) {
    const q = this.#question;
    // A begin has no result yet: its end (or a whole call) answers.
    const ev = events.find((e) => e.seq >= q.atSeq && e.actor === q.actor && e.kind === q.kind && !isBegin(e));
    if (!ev) return;
    q.revealed = true;
    q.event = ev;
    q.right = rightChoice(q.kind, ev);
    this.#renderQuestion();
  }

  /** Draws the question: its choices with the tally, and once revealed the right one. */
  #renderQuestion(fresh = false) {
    const q = this.#question;
    const ui = this.#ui;
    ui.question.hidden = !q;
    if (!q) return;
    ui.question.classList.toggle('revealed', q.revealed);
    if (fresh || ui.qChoices.children.length !== q.choices.length) {
      ui.qText.textContent = `${q.actor} · ${callName(q)}: ${q.text}`;
      ui.qChoices.replaceChildren(...q.choices.map((text, i) => {
        const b = document.createElement('button');
        b.type = 'button';
        b.className = 'choice';
        b.dataset.choice = String(i);
        for (const [cls, t] of [['share', ''], ['text', text], ['count', '0']]) {
          const span = document.createElement('span');
          span.className = cls;
          span.textContent = t;
          b.append(span);
        }
        return b;
      }));
      ui.qResult.textContent = '';
    }
    const total = q.tally.reduce((a, b) => a + (Number(b) || 0), 0);
    const over = q.revealed || this.#record?.state !== 'running';
    Array.from(ui.qChoices.children).forEach((b, i) => {
      const n = Number(q.tally[i]) || 0;
      b.lastElementChild.textContent = String(n);
      b.firstElementChild.style.setProperty('--share', total ? `${Math.round((1000 * n) / total) / 10}%` : '0%');
      b.setAttribute('aria-pressed', String(q.mine === i));
      b.disabled = over;
      b.classList.toggle('right', q.revealed && i === q.right);
      b.setAttribute('aria-label', `${q.choices[i]}: ${plural(n, 'answer')}${q.revealed && i === q.right ? ' — what the kernel did' : ''}`);
    });
    const r = ui.qResult;
    if (q.revealed) {
      const strong = document.createElement('strong');
      strong.className = 'right';
      strong.textContent = q.right >= 0 ? `✓ ${q.choices[q.right]}` : eventLabel(q.event);
      const correct = q.right >= 0 ? Number(q.tally[q.right]) || 0 : 0;
      const mine = q.mine == null ? '' : q.mine === q.right ? ' You predicted it.' : ` You said “${q.choices[q.mine]}”.`;
      const count = total ? ` ${correct} of ${plural(total, 'answer')} ${correct === 1 ? 'was' : 'were'} right.` : '';
      const note = this.#layout.marks[this.#layout.pos.get(q.event.seq)]?.note;
      r.replaceChildren('The kernel: ', strong, ` (${eventLabel(q.event)}).${mine}${count}`, note ? ` It ${note}.` : '');
    } else if (over) {
      r.textContent = 'The session ended before this call.';
    } else if (!r.textContent.startsWith('Your answer was not counted')) {
      r.textContent = total ? `${plural(total, 'answer')} so far: the answer shows after the call.` : 'Predict, then watch: everyone sees the tally.';
    }
  }

  /** Shows or hides the step bar and its controls, and says what comes next. */
  #updateStepbar() {
    const ui = this.#ui;
    const rec = this.#record;
    const stepped = Boolean(rec?.step) && this.#live;
    const running = rec?.state === 'running';
    const control = this.canStep;
    ui.stepbar.hidden = !(stepped && (running || this.#question));
    ui.stepControls.hidden = !control;
    for (const b of [ui.next, ui.run]) b.setAttribute('aria-disabled', String(this.#stepBusy));
    if (stepped && running) this.setAttribute('data-step', control ? 'control' : 'watch');
    else this.removeAttribute('data-step');
    const p = this.#stepPending;
    let parts;
    if (!stepped) parts = [];
    else if (!running) parts = ['The session has ended.'];
    else if (this.#released) parts = ['Running to the end…'];
    else if (p) {
      const [file, line] = sourceOf(p);
      const call = document.createElement('code');
      call.className = 'next-call';
      call.textContent = `${p.actor} ${callName(p)}(${p.fd >= 0 ? `fd ${p.fd}` : ''})`;
      parts = ['Next: ', call, line ? ` — ${file} line ${line}` : '', control ? '' : ' · the presenter steps this session'];
    } else parts = [control ? 'Waiting for the next call…' : 'Step mode: the presenter advances this session one call at a time.'];
    const text = parts.map((x) => (typeof x === 'string' ? x : x.textContent)).join('');
    if (ui.stepStatus.textContent !== text) ui.stepStatus.replaceChildren(...parts);
  }

  /** In step mode, says what the newest call did. */
  #updateLast() {
    const rec = this.#record;
    const ui = this.#ui;
    const L = this.#layout;
    let m = null;
    for (let i = L.marks.length - 1; i >= 0 && !m; i--) if (L.marks[i].kind !== 'segment') m = L.marks[i];
    if (!rec?.step || !m) {
      ui.stepLast.replaceChildren();
      return;
    }
    const b = document.createElement('strong');
    b.textContent = 'Last call: ';
    const call = document.createElement('code');
    call.textContent = `${m.actor} ${m.label}`;
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = m.note ? ` — ${m.note}` : '';
    ui.stepLast.replaceChildren(b, call, what);
  }

  /** Room below the last row for the pending call's ghost. */
  #extra() {
    return this.#stepPending ? G.row : 0;
  }

  /** Draws the pending call as a ghost mark on its lifeline, a row below the last. */
  #drawPending() {
    const p = this.#stepPending;
    const L = this.#layout;
    const layer = this.#ui.pendingLayer;
    const actor = p ? L.actors.find((a) => a.name === p.actor) : null;
    if (!actor) {
      if (this.#ghostKey) layer.replaceChildren();
      this.#ghostKey = '';
      return;
    }
    const last = L.rows[L.rows.length - 1];
    const y = last ? last.y + G.row : G.top + G.row / 2;
    const key = `${actor.x} ${y} ${p.kind} ${p.fd} ${p.src} ${p.line} ${Boolean(p.question)}`;
    if (key === this.#ghostKey) return;
    this.#ghostKey = key;
    layer.innerHTML = renderPending(p, { x: actor.x, y, side: actor.side });
  }

  /** Draws the note of the event picked under its mark, or none. */
  #drawCallout() {
    const L = this.#layout;
    const seq = this.#selectedSeq;
    const m = seq == null ? null : L.marks[L.pos.get(seq)];
    const key = m?.note ? `${m.seq} ${m.x} ${m.y} ${L.width}` : '';
    if (key === this.#calloutKey) return;
    this.#calloutKey = key;
    this.#ui.noteLayer.innerHTML = key ? renderCallout(m, L.width) : '';
  }

  // --- the code pane

  /** Shows the programs' source when the code attribute asks for it and the record's scenario has some. */
  #loadSources() {
    const rec = this.#record;
    if (!this.code || !rec) {
      this.#showCode(null, '');
      return;
    }
    if (Array.isArray(rec.sources) && rec.sources.length) {
      this.#showCode(rec.sources, `record ${rec.id ?? ''} ${rec.scenario ?? ''}`);
      return;
    }
    // A saved record without sources, and no server to ask: no pane.
    if (!rec.scenario || !(this.#live || this.hasAttribute('server'))) {
      this.#showCode(null, '');
      return;
    }
    const base = this.server;
    const key = `api ${base} ${rec.scenario}`;
    if (key === this.#sourcesKey) {
      this.#showCode(this.#sources, key);
      return;
    }
    const gen = this.#gen;
    scenariosOf(base).then(
      (list) => {
        if (gen !== this.#gen || !this.code) return;
        const sc = Array.isArray(list) ? list.find((s) => s?.name === rec.scenario) : null;
        this.#showCode(Array.isArray(sc?.sources) && sc.sources.length ? sc.sources : null, key);
      },
      () => {
        if (gen === this.#gen) this.#showCode(null, '');
      },
    );
  }

  /** Fills the code pane with sources (server.c first), or hides it (null). */
  #showCode(sources, key) {
    const ui = this.#ui;
    if (!sources) {
      this.#sources = null;
      this.#sourcesKey = '';
      ui.code.hidden = true;
      ui.split.classList.remove('with-code');
      ui.codeFiles.replaceChildren();
      this.#codeLines.clear();
      this.#listingBox.clear();
      this.#listingObserver.disconnect();
      this.#codeMarks = { current: null, pending: null, hl: null };
      return;
    }
    if (key !== this.#sourcesKey || sources !== this.#sources) {
      this.#sources = sources;
      this.#sourcesKey = key;
      const order = (f) => (f === 'server.c' ? 0 : f === 'client.c' ? 1 : 2);
      const files = sources.filter((f) => typeof f?.file === 'string').sort((a, b) => order(a.file) - order(b.file));
      ui.codeFiles.innerHTML = files.map((f) => renderListing(f.file, String(f.text ?? ''))).join('');
      this.#codeLines = new Map();
      this.#listingBox.clear();
      this.#listingObserver.disconnect();
      for (const section of ui.codeFiles.children) {
        const pre = section.querySelector('.listing');
        this.#codeLines.set(section.dataset.file, Array.from(pre.children));
        this.#listingBox.set(pre, { height: 0, top: 0 });
        this.#listingObserver.observe(pre);
      }
      this.#codeMarks = { current: null, pending: null, hl: null };
      this.#called.clear();
      this.#calledUpTo = 0;
    }
    ui.code.hidden = false;
    ui.split.classList.add('with-code');
    this.#syncCode();
  }

  /** Forgets the marks of the session drawn before: called lines, current, pending, picked. */
  #resetCode() {
    for (const cls of Object.keys(this.#codeMarks)) this.#markLine(cls, null);
    for (const el of this.#blockedLines) el.classList.remove('blocked');
    this.#blockedLines = new Set();
    for (const k of this.#called) {
      const i = k.lastIndexOf(':');
      this.#codeLines.get(k.slice(0, i))?.[Number(k.slice(i + 1)) - 1]?.classList.remove('called');
    }
    this.#called.clear();
    this.#calledUpTo = 0;
    this.#ui.codeInfo.textContent = '';
  }

  /** Marks the lines that made calls, the newest call's line (current) and the pending call's. */
  #syncCode() {
    if (!this.#sources) return;
    const events = this.#record?.events ?? [];
    for (let i = this.#calledUpTo; i < events.length; i++) {
      const [file, line] = sourceOf(events[i]);
      const k = `${file}:${line}`;
      if (this.#called.has(k)) continue;
      this.#called.add(k);
      this.#codeLines.get(file)?.[line - 1]?.classList.add('called');
    }
    this.#calledUpTo = events.length;
    // The newest call that names a line (captured segments and inferred
    // calls name none).
    let last = null;
    for (let i = events.length - 1; i >= Math.max(0, events.length - 64) && !last; i--) if (events[i].line > 0) last = events[i];
    this.#markLine('current', last ? sourceOf(last) : null, true);
    this.#markLine('pending', this.#stepPending ? sourceOf(this.#stepPending) : null, true);
    this.#markBlockedLines();
  }

  /** Marks the lines of the calls still blocked (a begin without its end): "◂ blocked". */
  #markBlockedLines() {
    const events = this.#record?.events ?? [];
    const L = this.#layout;
    const lines = new Set();
    for (const bar of L.openBars) {
      const ev = events[L.pos.get(bar.seq)];
      if (!ev?.line) continue;
      const [file, line] = sourceOf(ev);
      const el = this.#codeLines.get(file)?.[line - 1];
      if (el) lines.add(el);
    }
    for (const el of this.#blockedLines) if (!lines.has(el)) el.classList.remove('blocked');
    for (const el of lines) el.classList.add('blocked');
    this.#blockedLines = lines;
  }

  #blockedLines = new Set(); // the code lines of calls still blocked

  /** Moves class cls (current, pending, hl) to the line [file, line]; null takes it away. */
  #markLine(cls, where, scroll = false) {
    const el = where ? this.#codeLines.get(where[0])?.[where[1] - 1] ?? null : null;
    const old = this.#codeMarks[cls];
    if (old !== el) {
      old?.classList.remove(cls);
      el?.classList.add(cls);
      this.#codeMarks[cls] = el;
      if (el && scroll) this.#scrollLine(el);
    }
    return Boolean(el);
  }

  /**
   * Scrolls a listing (only) to show line el, from the line's number and
   * the listing's size its observer read: no layout reads in a frame.
   */
  #scrollLine(el) {
    const pre = el.parentElement;
    const box = this.#listingBox.get(pre);
    if (!box?.height) return;
    const top = LISTING_PAD + (Number(el.dataset.line) - 1) * LINE_PX;
    if (top >= box.top + LINE_PX && top + 2 * LINE_PX <= box.top + box.height) return;
    box.top = Math.max(0, Math.round(top - box.height / 3));
    pre.scrollTop = box.top;
  }

  /** Picks a line: highlights the marks and rows of the calls it made. */
  #activateLine(el) {
    const file = el.dataset.src;
    const line = Number(el.dataset.line);
    this.#rove(el);
    const seqs = [];
    for (const ev of this.#record?.events ?? []) {
      const [f, l] = sourceOf(ev);
      if (f === file && l === line) seqs.push(ev.seq);
    }
    this.#pinned = false;
    this.#hideDetails();
    this.#highlight(seqs.length > MAX_HIGHLIGHT ? seqs.slice(0, MAX_HIGHLIGHT) : seqs);
    this.#markLine('hl', [file, line]);
    this.#selectedSeq = seqs.length === 1 ? seqs[0] : null;
    this.#drawCallout();
    const p = this.#stepPending;
    const next = p && sourceOf(p)[0] === file && sourceOf(p)[1] === line ? '; it makes the next call' : '';
    this.#ui.codeInfo.textContent = `${file} line ${line}: ${seqs.length ? plural(seqs.length, 'call') : 'no calls yet'}${next}`;
    if (seqs.length && !this.#anyMarkInView(seqs)) this.#scrollMarkIntoView(seqs[0]);
    this.#emit('seq-diagram:line-selected', { src: file, line, seqs });
  }

  /** Whether the diagram shows one of the marks of seqs (reads the scroll position: on interaction only). */
  #anyMarkInView(seqs) {
    const vp = this.#ui.viewport;
    const top = vp.scrollTop;
    const bottom = top + vp.clientHeight;
    const L = this.#layout;
    return seqs.some((seq) => {
      const m = L.marks[L.pos.get(seq)];
      return m && m.y >= top && m.y <= bottom;
    });
  }

  /** Keys in a listing: ↑ ↓ PageUp PageDown Home End move between lines; Enter or Space picks one. */
  #onCodeKey(e) {
    const el = e.target.closest?.('.line');
    if (!el) return;
    const lines = this.#codeLines.get(el.dataset.src) ?? [];
    const i = Number(el.dataset.line) - 1;
    let to;
    switch (e.key) {
      case 'ArrowDown': to = lines[i + 1]; break;
      case 'ArrowUp': to = lines[i - 1]; break;
      case 'PageDown': to = lines[Math.min(lines.length - 1, i + 15)]; break;
      case 'PageUp': to = lines[Math.max(0, i - 15)]; break;
      case 'Home': to = lines[0]; break;
      case 'End': to = lines[lines.length - 1]; break;
      case 'Enter':
      case ' ':
        e.preventDefault();
        this.#activateLine(el);
        return;
      default:
        return;
    }
    e.preventDefault();
    if (to) {
      this.#rove(to);
      to.focus();
    }
  }

  /** Makes line el its listing's one tab stop. */
  #rove(el) {
    for (const l of this.#codeLines.get(el.dataset.src) ?? []) if (l !== el && l.tabIndex === 0) l.tabIndex = -1;
    el.tabIndex = 0;
  }

  /** Folds or unfolds the code pane; by the viewer, it tells the page (seq-diagram:code). */
  #setCodeOpen(open, byViewer) {
    const ui = this.#ui;
    this.#codeOpen = open;
    ui.split.classList.toggle('code-collapsed', !open);
    ui.codeToggle.setAttribute('aria-expanded', String(open));
    ui.codeToggle.textContent = open ? 'Hide code' : 'Show code';
    if (byViewer) this.#emit('seq-diagram:code', { open });
  }

  /**
   * Adds both halves of a split call to the details, the way strace shows
   * them: `read(5, 1024) <unfinished …>` at its entry, `<… read resumed> = 16`
   * when it returned.
   */
  #splitCall(h, ev, partner) {
    const begin = isBegin(ev) ? ev : partner;
    const end = isEnd(ev) ? ev : partner;
    h('h4', 'Blocked call: both halves');
    const lines = [];
    if (begin) lines.push(`#${begin.seq} ${formatTime(begin.t_ns)}  ${callSignature(begin)}`);
    if (end) {
      const result = isError(end) ? `${end.ret} ${end.errno ?? ''}`.trim() : String(end.ret);
      lines.push(`#${end.seq} ${formatTime(end.t_ns)}  ${callSignature(end)} = ${result}  (blocked ${formatDuration(end.dur_ns ?? 0)})`);
    } else lines.push('  … still blocked: no end recorded yet');
    h('pre', lines.join('\n'));
  }

  /** Adds a payload to the details: as text (unless binary) and as a hex dump. */
  #payload(h, bytes, binary, truncated = false) {
    if (!bytes.length) return;
    if (!binary) {
      textDecoder ??= new TextDecoder('utf-8', { fatal: true });
      let text;
      try {
        text = textDecoder.decode(bytes.subarray(0, 2048));
      } catch {
        text = new TextDecoder().decode(bytes.subarray(0, 2048));
      }
      h('h4', `Payload as text${truncated || bytes.length > 2048 ? ' (preview)' : ''}`);
      h('pre', escapeText(text).replace(/\\n/g, '\\n\n'));
    }
    h('h4', `Payload as hex${bytes.length > 256 ? ' (first 256 bytes)' : ''}`);
    h('pre', hexdump(bytes, 256), 'hex');
  }
}

/** Fills a description list with [term, value] rows. */
function fillDL(dl, rows) {
  for (const [term, value] of rows) {
    const dt = document.createElement('dt');
    dt.textContent = term;
    const dd = document.createElement('dd');
    dd.textContent = String(value);
    dl.append(dt, dd);
  }
}

if (globalThis.customElements && !customElements.get('seq-diagram')) SeqDiagram.define();
