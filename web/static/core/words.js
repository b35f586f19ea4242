//# allFunctionsCalledOnLoad
/**
 * words.js — the words the diagram says: labels, transcript sentences,
 * details rows and the kernel notes that explain each call.
 */
import { formatDuration, formatTime, preview } from './format.js';
import { callName, isError, isBegin, isEnd, hasFlag, isEOF } from './record.js';

/**
 * The label of a begin while its call is open, and after: "read… blocked",
 * "accept… blocked 120 ms". blockedNs is how long it has waited (or
 * waited in all, once it returned), when known.
 */
export function beginLabel(ev, blockedNs = null) {
  return `${callName(ev)}… blocked${blockedNs != null && blockedNs >= 0 ? ` ${formatDuration(blockedNs)}` : ''}`;
}

/** A segment's flags as a label shows them: "SYN,ACK", "PSH,ACK 6". */
export function segmentLabel(ev) {
  const flags = Array.isArray(ev.flags) && ev.flags.length ? ev.flags.join(',') : 'segment';
  return `${flags}${ev.len > 0 ? ` ${ev.len}` : ''}`;
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
export function who(name) {
  return name === 'client' || name === 'server' ? `the ${name}` : name;
}

/** "1 byte", "2 bytes". */
export function plural(n, one, many = one + 's') {
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
      if (!ev.host && !ev.service) return `${a} looked up a name`;
      return `${a} looked up ${ev.host ?? ''}${ev.service ? ':' + ev.service : ''}`;
    default:
      return `${a} called ${call}, which returned ${ev.ret}`;
  }
}

/** What a blocked call of each kind waits for, as a sentence ends. */
export const WAITS_FOR = {
  accept: 'for a connection',
  recv: 'for data',
  send: 'for room in the send buffer',
  connect: 'for the handshake',
};

/**
 * How the class voted on the question asked about a call, from its event
 * (ev.asked, the tally when the call happened) and what the call bore out
 * (ev.answer): null when the class was not asked about it.
 */
export function classVotes(ev) {
  const q = ev.asked;
  if (!q?.text) return null;
  const total = q.tally.reduce((a, n) => a + n, 0);
  const at = q.choice_ids.indexOf(ev.answer ?? '');
  const counts = q.choices.map((c, i) => `${q.tally[i] ?? 0} for “${c}”`).join('; ');
  return {
    question: q.text,
    said: total ? counts : 'nobody answered',
    kernel: at >= 0 ? q.choices[at] ?? ev.answer : 'none of the choices',
    right: at >= 0 ? q.tally[at] ?? 0 : 0,
    total,
  };
}

/** One short line on how the class voted (classVotes), for the mark's note; '' when it was not asked. */
export function votesNote(ev) {
  const v = classVotes(ev);
  if (!v) return '';
  return v.total ? `the class was asked: ${v.right} of ${plural(v.total, 'answer')} right` : 'the class was asked: nobody answered';
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
  if (ev.inferred && ev.kind !== 'getaddrinfo') rows.push(['fd', 'unknown: the other program\'s']);
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
  const votes = classVotes(ev);
  if (votes) rows.push(['asked', votes.question], ['the class said', votes.said], ['the kernel did', votes.kernel]);
  if (isEnd(ev)) rows.push(['entered at', `${formatTime(ev.t_ns - (ev.dur_ns ?? 0))}${partner ? ` (begin #${partner.seq})` : ''}`]);
  rows.push(['returned at', formatTime(ev.t_ns)]);
  rows.push(['took', `${formatDuration(ev.dur_ns ?? 0)}${ev.blocked ? ' (blocked)' : ''}`]);
  return rows;
}

/** The rows of a begin's details: what was known at entry, and its end if drawn. */
export function beginRows(ev, end) {
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

export const SOCKOPT_NOTES = {
  SO_REUSEADDR: 'lets bind take the port even while old connections on it wait in TIME_WAIT',
  SO_REUSEPORT: 'lets several sockets bind the same port; the kernel spreads connections among them',
  TCP_NODELAY: "turns off Nagle's algorithm: small writes go out at once instead of waiting to be combined",
  SO_RCVBUF: (v) => `asks for a ${v}-byte receive buffer (the kernel doubles it for bookkeeping): the peer can send less before it must wait`,
  SO_SNDBUF: (v) => `asks for a ${v}-byte send buffer (the kernel doubles it for bookkeeping): writes fill it and wait sooner`,
  SO_KEEPALIVE: 'probes an idle connection now and then to find out whether the peer is still there',
  SO_LINGER: 'sets what close does with unsent data: wait for it, or drop it and send RST',
};

/** What the kernel does while a call of each kind is blocked (a begin's note). */
export const BEGIN_NOTES = {
  accept: "the listen queue is empty: accept waits until a client's handshake completes",
  recv: 'the receive queue is empty: read waits until data or end of file arrives',
  send: 'the send buffer is full: write waits until the reader makes room',
  connect: 'sends SYN and waits for the SYN-ACK (three-way handshake)',
};

export const ERRNO_NOTES = {
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

/**
 * A kernel note (explain) as a sentence of its own: a man page's phrase
 * ("returns 0: …") or a clause ("the port had no listener: …") alike, so
 * that no subject needs to be put before it ("It the port had …").
 */
export function noteSentence(note) {
  return note ? `${note[0].toUpperCase()}${note.slice(1)}.` : '';
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

/** How a burst summary names what an actor did. */
export function burstKey(mark) {
  const verb = { send: 'wrote', recv: 'read' }[mark.kind] ?? `called ${mark.kind}`;
  return `${mark.actor} ${verb}`;
}
