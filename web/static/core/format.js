//# allFunctionsCalledOnLoad
/**
 * format.js — durations, times, escaped text, payload previews and hex dumps.
 */

/** x with three significant digits or so: 52.3, 1.25, 312. */
export function fixed(x) {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/**
 * Formats a duration in nanoseconds: "850 ns", "52.3 µs", "1.25 ms", "2.00 s".
 * A value that rounds up to 1000 of a unit takes the next: 999.7 ms is
 * "1.00 s", not "1000 ms".
 */
export function formatDuration(ns) {
  const a = Math.abs(ns);
  if (a < 999.5) return `${Math.round(ns)} ns`;
  if (a < 999.5e3) return `${fixed(ns / 1e3)} µs`;
  if (a < 999.5e6) return `${fixed(ns / 1e6)} ms`;
  return `${fixed(ns / 1e9)} s`;
}

/** Formats a time since the session started: "12.345 ms", "3.210 s". */
export function formatTime(ns) {
  return ns < 1e9 ? `${(ns / 1e6).toFixed(3)} ms` : `${(ns / 1e9).toFixed(3)} s`;
}

/**
 * clockTime is the local wall-clock time of an RFC 3339 timestamp, as
 * "14:05:09" ('' if it is not one): the lists of runs use it. Not
 * toLocaleTimeString: the first Intl date format in a page loads the
 * locale's data, 20–60 ms on the main thread, and the lists are drawn as
 * a live session starts, in its first frames.
 */
export function clockTime(iso) {
  const d = typeof iso === 'string' ? new Date(iso) : null;
  if (!d || Number.isNaN(d.getTime())) return '';
  const two = (n) => String(n).padStart(2, '0');
  return `${two(d.getHours())}:${two(d.getMinutes())}:${two(d.getSeconds())}`;
}

export const ESCAPES = { '\n': '\\n', '\r': '\\r', '\t': '\\t', '"': '\\"', '\\': '\\\\' };

/** One character as a visible escape: "\x00", "\u200b", "\u{e0001}". */
export function escapeChar(c) {
  if (ESCAPES[c]) return ESCAPES[c];
  const code = c.codePointAt(0);
  if (code < 0x100) return `\\x${code.toString(16).padStart(2, '0')}`;
  return code > 0xffff ? `\\u{${code.toString(16)}}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/**
 * The characters that do not show, or show as something else: controls
 * (Unicode Cc, U+0085 among them), format characters (Cf: U+200B,
 * U+FEFF, the bidi overrides and isolates, soft hyphen), and the line and
 * paragraph separators (Zl, Zp).
 */
export const INVISIBLE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu;

/**
 * Makes payload text safe to show on one line: every invisible character
 * (INVISIBLE), quotes and backslashes become visible escapes ("\n",
 * "\x00", "\u200b", "\u202e").
 */
export function escapeText(s) {
  return String(s).replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}"\\]/gu, escapeChar);
}

/**
 * Shows text that is not payload (an actor's name, an address, an
 * error) with its invisible characters as visible escapes, quotes and
 * backslashes as they are.
 */
export function showInvisible(s) {
  s = String(s ?? '');
  INVISIBLE.lastIndex = 0;
  return INVISIBLE.test(s) ? s.replace(INVISIBLE, escapeChar) : s;
}

export const payloadCache = new WeakMap();
let textEncoder, textDecoder;

/** The shared strict UTF-8 decoder: it throws on bytes that are not text. */
export function utf8Decoder() {
  textDecoder ??= new TextDecoder('utf-8', { fatal: true });
  return textDecoder;
}

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
export function hexBytes(bytes) {
  return Array.from(bytes, (x) => x.toString(16).padStart(2, '0')).join(' ');
}

/**
 * A short quoted preview of bytes: `"alice\n"`, `"hello, alice…"`, or for
 * binary `<de ad be ef…>`. more says that bytes stop short of the payload.
 */
export function quote(bytes, max, more) {
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

export const ESC = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escapes text for markup text and attribute values. */
export function esc(s) {
  s = String(s);
  return /[&<>"']/.test(s) ? s.replace(/[&<>"']/g, (c) => ESC[c]) : s;
}
