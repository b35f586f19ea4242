/**
 * app.js — seqd's main page: scenario buttons with their parameter forms,
 * the pace and teaching options (step mode, questions), the live
 * <seq-diagram> with its code pane, the status line and the share/embed
 * snippets.
 * The page is served at / and at /s/{id}; the address says which session
 * the diagram shows.
 */
import './seq-diagram.js'; // defines <seq-diagram> before the page uses it
import { fetchJSON, countText, statusText, scenariosOf } from './core/api.js';
import { callName } from './core/record.js';
import { clockTime } from './core/format.js';

const diagram = document.getElementById('diagram');
const list = document.getElementById('scenarios');
const statusLine = document.getElementById('status');
const pace = document.getElementById('pace');
const paceMs = document.getElementById('pace-ms');
const share = document.getElementById('share');
const teach = document.getElementById('teach');
const stepBox = document.getElementById('step-mode');
const questionsBox = document.getElementById('questions');
const segmentsBox = document.getElementById('segments');
const lab = document.getElementById('lab');
const labList = document.getElementById('lab-sessions');

/** The scenarios by name, as GET /api/scenarios describes them. */
const scenarios = new Map();

/** The parameter the shared pace control sets, in every scenario that has it. */
const PACE = 'pace_ms';

/** The lab list's next poll, and what it shows. */
let labTimer = 0;
let labShown = '';

/** Counts what the diagram was last asked to show (a route, a run): only the latest may say it failed. */
let shown = 0;

async function main() {
  wire();
  setUpSegments();
  setUpLab();
  setUpReplay();
  showRecent();
  try {
    // The element's own request for the code pane's listings (scenariosOf
    // caches it): the pane then comes with the drawing, not a frame after
    // it, which fitted the diagram to the wider box first.
    const all = await scenariosOf('');
    for (const sc of all) scenarios.set(sc.name, sc);
    renderScenarios(all);
  } catch (err) {
    list.replaceChildren(el('li', { class: 'error', role: 'alert' }, `Could not load the scenarios: ${err.message}`));
  }
  list.removeAttribute('aria-busy');
  route();
}

/** Makes an element with attributes and children (strings become text). */
function el(tag, attrs = {}, ...children) {
  const n = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v == null || v === false) continue;
    n.setAttribute(k, v === true ? '' : String(v));
  }
  n.append(...children.filter((c) => c != null));
  return n;
}

/** "read_delay_ms" → "read delay"; the unit is shown apart. */
function humanName(name) {
  return name.replace(/_ms$/, '').replace(/_/g, ' ');
}

// ---------------------------------------------------------------------------
// Scenario cards and the pace control

function renderScenarios(all) {
  const paced = all.map((sc) => sc.params.find((p) => p.name === PACE)).find(Boolean);
  if (paced) setUpPace(paced);
  teach.hidden = false;
  list.replaceChildren(...all.map(card));
}

/** One card: the scenario's button, its summary and its parameters. */
function card(sc) {
  const sumId = `sum-${sc.name}`;
  const fields = sc.params.filter((p) => p.name !== PACE).map((p) => field(sc, p));
  const form = el(
    'form',
    { class: 'scenario', 'data-name': sc.name, novalidate: true },
    el('button', { type: 'submit', 'data-scenario': sc.name, 'aria-describedby': sumId }, sc.title),
    el('p', { class: 'summary', id: sumId }, sc.summary),
    sc.summary.length > 160 ? el('button', { type: 'button', class: 'more', 'aria-expanded': 'false' }, 'more') : null,
    fields.length ? el('div', { class: 'params' }, ...fields) : null,
    el('p', { class: 'form-error', role: 'alert', hidden: true }),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    run(sc, form);
  });
  form.querySelector('button.more')?.addEventListener('click', (e) => {
    const open = form.classList.toggle('open');
    e.currentTarget.setAttribute('aria-expanded', String(open));
    e.currentTarget.textContent = open ? 'less' : 'more';
  });
  return el('li', {}, form);
}

/** The input for one parameter: a number, or comma-separated strings. */
function field(sc, p) {
  const id = `p-${sc.name}-${p.name}`;
  const helpId = `${id}-help`;
  let input;
  if (p.type === 'strings') {
    input = el('input', {
      type: 'text', id, name: p.name, value: (p.default ?? []).join(', '),
      autocomplete: 'off', spellcheck: 'false', 'aria-describedby': helpId,
    });
  } else {
    input = el('input', {
      type: 'number', id, name: p.name, value: p.default ?? '', min: p.min, max: p.max,
      step: 1, inputmode: 'numeric', 'aria-describedby': helpId,
    });
  }
  input.dataset.type = p.type;
  // The help usually states the limits; say them when it does not.
  const limits = /\d\s*[–-]\s*\d/.test(p.help ?? '') ? '' : ` (${p.min}–${p.max}${p.unit ? ' ' + p.unit : ''})`;
  const help = `${p.type === 'strings' ? 'Comma-separated. ' : ''}${p.help ?? ''}${limits}`;
  return el(
    'div',
    { class: 'field' },
    el('label', { for: id }, humanName(p.name), p.unit ? el('span', { class: 'unit' }, ` (${p.unit})`) : null),
    input,
    el('small', { id: helpId, class: 'help' }, help),
  );
}

/** Shows the shared pace control with the limits and default of pace_ms. */
function setUpPace(p) {
  pace.hidden = false;
  paceMs.min = p.min;
  paceMs.max = p.max;
  const def = String(p.default ?? 0);
  const preset = pace.querySelector(`input[name="pace"][value="${def}"]`);
  if (preset) preset.checked = true;
  else {
    pace.querySelector('input[value="custom"]').checked = true;
    paceMs.value = def;
  }
  if (p.help) document.getElementById('pace-help').textContent = `${p.help} (${p.min}–${p.max} ms)`;
  paceMs.addEventListener('input', () => { pace.querySelector('input[value="custom"]').checked = true; });
}

/** The pace chosen: a preset, or the custom number as typed. */
function paceValue() {
  const choice = pace.querySelector('input[name="pace"]:checked')?.value ?? '0';
  if (choice !== 'custom') return Number(choice);
  const v = paceMs.value.trim();
  return v === '' || !Number.isFinite(Number(v)) ? v : Number(v);
}

/**
 * The parameters a card's form holds. Values are sent as typed (a number
 * out of range included) so that the server says what is wrong.
 */
function collect(sc, form) {
  const params = {};
  for (const input of form.querySelectorAll('input[name]')) {
    const v = input.value.trim();
    if (input.dataset.type === 'strings') {
      params[input.name] = v.split(',').map((s) => s.trim()).filter(Boolean);
    } else if (input.validity.badInput) {
      throw new Error(`parameter "${input.name}": must be a whole number`);
    } else if (v !== '') {
      params[input.name] = Number(v);
    }
  }
  if (sc.params.some((p) => p.name === PACE)) {
    const v = paceValue();
    if (typeof v === 'string') throw new Error(`parameter "${PACE}": must be a whole number of milliseconds`);
    params[PACE] = v;
  }
  return params;
}

// ---------------------------------------------------------------------------
// Running and showing sessions

/** Starts a session of sc with the form's parameters and shows it live. */
async function run(sc, form) {
  const error = form.querySelector('.form-error');
  const button = form.querySelector('button[data-scenario]');
  error.hidden = true;
  for (const i of document.querySelectorAll('[aria-invalid]')) i.removeAttribute('aria-invalid');
  let params;
  try {
    params = collect(sc, form);
  } catch (err) {
    showFormError(form, err.message);
    setStatus(`${sc.title} was not started: ${err.message}`, true); // the line below the cards says so too
    return;
  }
  setStatus(`${sc.title}: starting…`);
  shown++; // a permalink still loading no longer speaks for the diagram
  button.setAttribute('aria-busy', 'true');
  button.disabled = true;
  try {
    diagram.hidden = false;
    const step = stepBox.checked;
    const segments = segmentsBox.checked && !segmentsBox.disabled;
    const id = await diagram.start(sc.name, params, { step, questions: step && questionsBox.checked, segments });
    history.pushState({ id }, '', `/s/${encodeURIComponent(id)}`);
    markCurrent(sc.name);
    showShare(id, sc.name);
    revealDiagram(step);
    // The keyboard goes where the session is drawn: arrow keys move between its calls.
    diagram.focusDiagram();
  } catch (err) {
    showFormError(form, err.message);
    setStatus(`failed: ${err.message}`, true);
    if (!diagram.record) diagram.hidden = true;
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
  }
}

function showFormError(form, message) {
  const error = form.querySelector('.form-error');
  error.textContent = message;
  error.hidden = false;
  const name = /parameter "([^"]+)"/.exec(message)?.[1];
  const input = name && form.querySelector(`input[name="${CSS.escape(name)}"]`);
  if (input) input.setAttribute('aria-invalid', 'true');
  else if (name === PACE) paceMs.setAttribute('aria-invalid', 'true');
}

/** Shows the session the address names, or nothing at /. */
function route() {
  const m = /^\/s\/([^/]+)\/?$/.exec(location.pathname);
  if (!m) {
    diagram.clear();
    diagram.hidden = true;
    hideReplay();
    share.hidden = true;
    markCurrent('');
    setStatus('Choose a scenario to run it.');
    return;
  }
  const id = decodeURIComponent(m[1]);
  if (diagram.record?.id === id) return;
  const asked = ++shown;
  diagram.hidden = false;
  setStatus('Loading the session…');
  diagram.follow(id).then(
    () => {
      if (asked !== shown) return; // the reader went elsewhere, or ran a scenario, since
      markCurrent(diagram.record?.scenario ?? '');
      showShare(id, diagram.record?.scenario ?? '');
      // A permalink to a session being stepped opens on its step bar and
      // drawing, as the one who started it sees them (from the section's
      // heading, the description left the phone's window no drawing).
      revealDiagram(diagram.record?.step === true && diagram.record?.state === 'running');
    },
    (err) => {
      if (asked !== shown) return; // the reader went elsewhere, or ran a scenario, since
      // Nothing to draw: no empty toolbar and transcript, and the reason
      // where the reader is (the status line is below the scenarios).
      share.hidden = true;
      diagram.hidden = true;
      hideReplay();
      markCurrent('');
      setStatus(`Could not open this session: ${err.message}. Run a scenario above to make a new one.`, true);
      statusLine.scrollIntoView({ block: 'center' });
    },
  );
}

/** Marks the scenario shown as current and explains it above the diagram. */
function markCurrent(name) {
  for (const b of list.querySelectorAll('button[data-scenario]')) {
    if (b.dataset.scenario === name) b.setAttribute('aria-current', 'true');
    else b.removeAttribute('aria-current');
  }
  const sc = scenarios.get(name);
  document.getElementById('about').hidden = !sc;
  document.getElementById('about-title').textContent = sc?.title ?? '';
  document.getElementById('about-summary').textContent = sc?.summary ?? '';
}

/**
 * Scrolls the diagram into view, the viewer having asked for it: from its
 * section's heading, or, stepping, from the element itself, whose step
 * bar, question and drawing then fill the window (the call about to
 * happen in view; the scenario's description above them pushed it out).
 */
function revealDiagram(stepping = false) {
  (stepping ? diagram : document.getElementById('diagram-section')).scrollIntoView({ block: 'start' });
}

function setStatus(text, isError = false) {
  statusLine.textContent = text;
  statusLine.classList.toggle('error', isError);
}

/** The status line for the diagram's session. */
function describe(state, error) {
  const rec = diagram.record;
  const title = scenarios.get(rec?.scenario)?.title ?? rec?.scenario ?? 'session';
  const p = diagram.pending;
  if (state === 'running' && diagram.connectionLost) {
    return [`${title} — lost the connection to the server: trying again; what is drawn stays (${countText(rec?.events.length ?? 0, diagram.counts)})`, true];
  }
  if (state === 'running' && p) {
    const who = diagram.canStep ? 'press Next' : 'waiting for the presenter';
    const events = countText(rec?.events.length ?? 0, diagram.counts);
    return [`${title} — step mode, ${events}; next: ${p.actor} ${callName(p)}(${p.fd >= 0 ? `fd ${p.fd}` : ''}) — ${who}`, false];
  }
  return [statusText(state, error, rec, diagram.counts, `${title} — `), state === 'failed'];
}

// ---------------------------------------------------------------------------
// Share and embed

/** The line that lets a course page's seqd iframes take their content's height (README's). */
const HEIGHT_LISTENER = `<script>addEventListener('message', (e) => { if (e.data && e.data.type === 'seqd:height') for (const f of document.querySelectorAll('iframe')) if (f.contentWindow === e.source) f.style.height = e.data.height + 'px'; });</script>`;

/** Escapes text for an HTML attribute value. */
function attr(s) {
  return String(s).replace(/&/g, '&amp;').replace(/"/g, '&quot;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function showShare(id, scenario) {
  const origin = location.origin;
  const enc = encodeURIComponent(id);
  const title = scenarios.get(scenario)?.title ?? scenario ?? 'session';
  document.getElementById('share-link').href = `/s/${enc}`;
  document.getElementById('dl-json').href = `/api/sessions/${enc}?download`;
  document.getElementById('dl-mermaid').href = `/api/sessions/${enc}/mermaid`;
  document.getElementById('dl-ladder').href = `/api/sessions/${enc}/ladder`;
  // The height fits the embed's first screen (20 rows, the transcript
  // closed); the script line, once on a page, makes every seqd iframe
  // follow what it shows (README, "Embed diagrams").
  document.getElementById('embed-code').value =
    `<iframe src="${origin}/embed/s/${enc}" width="100%" height="820" style="border:0" title="${attr(`seqd diagram: ${title} (session ${id})`)}"></iframe>\n${HEIGHT_LISTENER}`;
  document.getElementById('element-code').value =
    `<script type="module" src="${origin}/seq-diagram.js"></script>\n<seq-diagram session="${attr(id)}" server="${attr(origin)}"></seq-diagram>`;
  share.hidden = false;
}

/** Copies a snippet, or selects it for Ctrl+C when the clipboard is not allowed. */
async function copy(button) {
  const area = document.getElementById(button.dataset.copy);
  const note = button.parentElement.querySelector('.copied');
  try {
    await navigator.clipboard.writeText(area.value);
    note.textContent = 'Copied.';
  } catch {
    area.focus();
    area.select();
    note.textContent = 'Selected: press Ctrl+C (⌘C) to copy.';
  }
  setTimeout(() => { note.textContent = ''; }, 4000);
}

/** Remembers a setting in this browser; storage may be refused. */
function remember(key, value) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Not kept: the page works the same.
  }
}

function recall(key) {
  try {
    return localStorage.getItem(key);
  } catch {
    return null;
  }
}

/** The teaching options: questions only with step mode; both kept in this browser. */
function setUpTeaching() {
  stepBox.checked = recall('seqd-step-mode') === '1';
  questionsBox.checked = recall('seqd-questions') === '1';
  const sync = () => { questionsBox.disabled = !stepBox.checked; };
  sync();
  stepBox.addEventListener('change', () => {
    sync();
    remember('seqd-step-mode', stepBox.checked ? '1' : '0');
  });
  questionsBox.addEventListener('change', () => remember('seqd-questions', questionsBox.checked ? '1' : '0'));
  // The code pane stays folded if the viewer folded it.
  if (recall('seqd-code') === 'collapsed') diagram.setAttribute('code', 'collapsed');
  diagram.addEventListener('seq-diagram:code', (e) => remember('seqd-code', e.detail.open ? 'open' : 'collapsed'));
}

/**
 * The TCP segments option: offered when the server can capture them
 * (GET /api/capabilities); otherwise disabled, saying why and how to enable it.
 */
async function setUpSegments() {
  const label = document.getElementById('segments-label');
  const help = document.getElementById('segments-help');
  const base = help.textContent;
  segmentsBox.disabled = true;
  let caps = null;
  try {
    caps = await fetchJSON('/api/capabilities');
  } catch (err) {
    caps = { segments: { available: false, reason: `the server's capabilities could not be read (${err.message})` } };
  }
  const seg = caps?.segments ?? { available: false, reason: 'this server does not capture segments' };
  if (seg.available) {
    segmentsBox.disabled = false;
    segmentsBox.checked = recall('seqd-segments') === '1';
    label.classList.remove('unavailable');
    label.removeAttribute('title');
    help.textContent = base;
    segmentsBox.addEventListener('change', () => remember('seqd-segments', segmentsBox.checked ? '1' : '0'));
  } else {
    segmentsBox.checked = false;
    const why = seg.reason || 'this server cannot capture segments';
    label.classList.add('unavailable');
    label.title = `Unavailable: ${why}`;
    help.textContent = `${base} Unavailable here: ${why}`;
  }
}

// ---------------------------------------------------------------------------
// Lab: sessions of the students' own programs

/** Shows the lab port and its sessions when the server has one, polling while the page is visible. */
function setUpLab() {
  labList.addEventListener('click', (e) => {
    const a = e.target.closest('a[data-id]');
    if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    history.pushState({ id: a.dataset.id }, '', a.getAttribute('href'));
    route();
  });
  document.addEventListener('visibilitychange', () => {
    clearTimeout(labTimer);
    labTimer = 0;
    if (document.visibilityState === 'visible') pollLab();
  });
  pollLab();
}

async function pollLab() {
  clearTimeout(labTimer);
  labTimer = 0;
  let info;
  try {
    info = await fetchJSON('/api/lab');
  } catch {
    info = null; // try again at the next poll
  }
  if (info && !info.enabled) {
    lab.hidden = true;
    return; // no lab port: nothing to poll for
  }
  if (info) renderLab(info);
  if (document.visibilityState === 'visible') labTimer = setTimeout(pollLab, 2000);
}

function renderLab(info) {
  const key = JSON.stringify(info) + (diagram.record?.id ?? '');
  if (key === labShown) return;
  labShown = key;
  lab.hidden = false;
  document.getElementById('lab-addr').textContent = info.addr;
  const [host, port] = splitAddr(info.addr);
  document.getElementById('lab-nc').textContent = `nc ${host} ${port}`;
  const sessions = Array.isArray(info.sessions) ? info.sessions : [];
  document.getElementById('lab-empty').hidden = sessions.length > 0;
  const current = diagram.record?.id ?? '';
  labList.replaceChildren(...sessions.map((s) => {
    const when = clockTime(s.started_at);
    const a = el('a', { href: s.url || `/s/${encodeURIComponent(s.id)}`, 'data-id': s.id, 'aria-current': s.id === current ? 'true' : null },
      el('span', { class: 'when' }, when),
      el('span', { class: 'what' }, `${s.scenario}${s.client ? ` from ${s.client}` : ''}`),
      el('span', { class: `state ${s.state}` }, s.state === 'failed' && s.error ? `failed: ${s.error}` : s.state));
    return el('li', {}, a);
  }));
}

// ---------------------------------------------------------------------------
// Recent runs and replay

/** How many recent runs the page lists. */
const RECENT_RUNS = 10;

/** Counts showRecent's calls: only the latest one's answer is shown. */
let recentAsked = 0;

/**
 * Lists the newest sessions started through the API (GET
 * /api/sessions?limit=RECENT_RUNS) beside the lab list, and the run the page draws
 * while it runs; nothing when the server does not answer.
 */
async function showRecent() {
  const section = document.getElementById('recent');
  const asked = ++recentAsked;
  let data;
  try {
    data = await fetchJSON(`/api/sessions?limit=${RECENT_RUNS}`);
  } catch {
    if (asked === recentAsked) section.hidden = true;
    return;
  }
  if (asked !== recentAsked) return; // a later call's answer lists newer runs
  let sessions = Array.isArray(data?.sessions) ? data.sessions.filter((s) => s && typeof s.id === 'string') : [];
  // The server lists finished runs only (a running one is its presenter's
  // to share); the run this page draws is listed as it starts, so the list
  // grows then and keeps its height when the run ends, above the diagram.
  const rec = diagram.record;
  if (rec?.state === 'running' && rec.id && !sessions.some((s) => s.id === rec.id)) {
    sessions = [{ id: rec.id, scenario: rec.scenario, state: 'running', started_at: rec.started_at }, ...sessions].slice(0, RECENT_RUNS);
  }
  section.hidden = sessions.length === 0;
  const current = rec?.id ?? '';
  document.getElementById('recent-sessions').replaceChildren(...sessions.map((s) => {
    const when = clockTime(s.started_at);
    const state = typeof s.state === 'string' ? s.state : '';
    const a = el('a', { href: `/s/${encodeURIComponent(s.id)}`, 'data-id': s.id, 'aria-current': s.id === current ? 'true' : null },
      el('span', { class: 'when' }, when),
      el('span', { class: 'what' }, String(s.scenario ?? '')),
      el('span', { class: `state ${state.replace(/\W/g, '')}` }, state));
    return el('li', {}, a);
  }));
}

/** Takes the replay controls away: the page shows no session. */
function hideReplay() {
  const box = document.getElementById('replay');
  box.hidden = true;
  box.classList.remove('nothing');
  document.getElementById('replay-none').hidden = true;
  document.getElementById('replay-next').hidden = true;
}

/** The replay controls: a finished session plays again at ½×, 1×, 2×, 10× or call by call. */
function setUpReplay() {
  const box = document.getElementById('replay');
  const speed = document.getElementById('replay-speed');
  const next = document.getElementById('replay-next');
  const go = document.getElementById('replay-go');
  const none = document.getElementById('replay-none');
  go.addEventListener('click', () => {
    if (go.getAttribute('aria-disabled') === 'true') return; // a session is being drawn
    const v = speed.value;
    next.hidden = v !== 'step';
    diagram.replay(v === 'step' ? 'step' : Number(v));
    if (v === 'step') {
      diagram.replayNext();
      next.focus();
    }
  });
  next.addEventListener('click', () => {
    if (!diagram.replayNext()) next.hidden = true;
  });
  diagram.addEventListener('seq-diagram:state', (e) => {
    const s = e.detail.state;
    if (s !== 'running') next.hidden = true;
    const ended = s === 'done' || s === 'failed';
    // Only a finished session replays (a live one is still being drawn).
    // The controls keep their place meanwhile, unavailable (aria-disabled,
    // so a focused button keeps the focus): shown only at the end, they
    // would push the diagram down under the reader's eyes.
    // A run that ended with nothing to replay keeps the controls' room if
    // they were shown while it ran, and says so there (not a session that
    // failed to load: the status says why): the controls go out of sight,
    // focus and screen readers (visibility: hidden); hiding them would
    // pull the diagram up under the reader's eyes.
    if (ended && !diagram.record?.events.length) {
      box.classList.toggle('nothing', !box.hidden);
      none.hidden = box.hidden || !diagram.record;
    } else if (ended || s === 'running') {
      box.hidden = false;
      box.classList.remove('nothing');
      none.hidden = true;
    }
    go.setAttribute('aria-disabled', String(!ended && next.hidden));
    // The list takes a new run as it starts: it grows then, before the
    // drawing, not under it when the run ends.
    showRecent();
  });
}

/** "127.0.0.1:7000" → ["127.0.0.1", "7000"]; "[::1]:7000" → ["::1", "7000"]. */
function splitAddr(addr) {
  const m = /^\[?(.*?)\]?:(\d+)$/.exec(addr ?? '');
  return m ? [m[1], m[2]] : [addr ?? '', ''];
}

function wire() {
  setUpTeaching();
  addEventListener('popstate', route);
  share.addEventListener('click', (e) => {
    const b = e.target.closest('button.copy');
    if (b) copy(b);
  });
  diagram.addEventListener('seq-diagram:state', (e) => setStatus(...describe(e.detail.state, e.detail.error)));
  diagram.addEventListener('seq-diagram:progress', (e) => {
    if (e.detail.state === 'running') setStatus(...describe('running'));
  });
  diagram.addEventListener('seq-diagram:pending', () => {
    if (diagram.record?.state === 'running') setStatus(...describe('running'));
  });
  diagram.addEventListener('seq-diagram:connection', () => {
    if (diagram.record?.state === 'running') setStatus(...describe('running'));
  });
}

// Last, once every declaration above has its value: main's first calls read
// them (a `let` below a call that runs at once is not yet initialised).
main();
