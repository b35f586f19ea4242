//# allFunctionsCalledOnLoad
/**
 * api.js — talking to a seqd server: fetchJSON, the scenarios list, and the
 * status text the pages show for a session.
 */
import { formatDuration } from './format.js';
import { plural } from './words.js';

/**
 * Fetches JSON; a failure throws an Error carrying the server's message and
 * status. A request that never got an answer (the server down, or, for a
 * page on another origin, a server that does not allow it: the browser
 * tells a script no more than "Failed to fetch") says both.
 */
export async function fetchJSON(url, init) {
  let res;
  try {
    res = await fetch(url, init);
  } catch (err) {
    throw new Error(unreachable(url, init?.method ?? 'GET', err));
  }
  let body = null;
  try {
    body = await res.json();
  } catch {
    // Not JSON: the status speaks.
  }
  if (!res.ok) {
    const err = new Error(body?.error || `${res.status} ${res.statusText}`.trim());
    err.status = res.status;
    err.retryAfter = Number(res.headers.get('Retry-After')) || 0;
    throw err;
  }
  return body;
}

/**
 * fetchJSON, trying again when the server says it is busy for now (429,
 * 503: a course page with several diagrams may ask for more at once than
 * one address may download), after its Retry-After (at most 5 s) or a
 * second and a bit, up to tries times.
 */
export async function fetchPatiently(url, init, tries = 6) {
  for (let i = 1; ; i++) {
    try {
      return await fetchJSON(url, init);
    } catch (err) {
      if (i >= tries || (err.status !== 429 && err.status !== 503)) throw err;
      const wait = Math.min(5, err.retryAfter || 1) * 1000 * (0.5 + Math.random());
      await new Promise((ok) => setTimeout(ok, wait));
    }
  }
}

/** The scenarios of each server, GET /api/scenarios, fetched once a page. */
export const scenarioLists = new Map();

/** The lists of scenarioLists that have come, by base. */
const scenariosHad = new Map();

/** The scenarios the server at base describes (their sources included). */
export function scenariosOf(base) {
  let list = scenarioLists.get(base);
  if (!list) {
    list = fetchJSON(`${base}/api/scenarios`);
    list.then((had) => scenariosHad.set(base, had), () => scenarioLists.delete(base)); // a failure: try again next time
    scenarioLists.set(base, list);
  }
  return list;
}

/**
 * The scenarios of base if scenariosOf has them already, else undefined:
 * for a caller that must know now (the code pane, before the diagram is
 * laid out for the width it leaves).
 */
export function scenariosNow(base) {
  return scenariosHad.get(base);
}

/**
 * How many events a session has, as the pages' status lines say it:
 * "12 events", or with captured segments (not calls) counted apart,
 * "9 calls, 4 segments". counts is the element's {calls, segments}.
 */
export function countText(n, counts) {
  const { calls, segments } = counts ?? { calls: n, segments: 0 };
  return segments ? `${plural(calls, 'call')}, ${plural(segments, 'segment')}` : plural(n, 'event');
}

/**
 * The status line of a session in state (running, failed, done): prefix
 * names it ("Echo — "), failedPrefix when it failed.
 */
export function statusText(state, error, record, counts, prefix = '', failedPrefix = prefix) {
  const n = record?.events.length ?? 0;
  const events = countText(n, counts);
  if (state === 'running') return `${prefix}running: ${events}`;
  if (state === 'failed') return `${failedPrefix}failed: ${error || 'unknown error'}`;
  return `${prefix}done${n ? ` in ${formatDuration(record.events[n - 1].t_ns)}` : ''}: ${events}`;
}

/**
 * The words for a request to url that got no answer: the server could not
 * be reached, or, from a page of another origin, it refused to let it (a
 * session is started only from the origins its -allow-origins lists).
 */
export function unreachable(url, method, err) {
  let target;
  try {
    target = new URL(url, globalThis.location?.href);
  } catch {
    return `the request failed (${err?.message ?? err})`;
  }
  const here = globalThis.location?.origin;
  if (!here || target.origin === here) return `the server did not answer (${err?.message ?? err}); is it running?`;
  const hint = method === 'GET' ? '' : `, or it does not let pages of ${here} start sessions (its operator can add -allow-origins ${here})`;
  return `the server at ${target.origin} could not be reached${hint}`;
}
