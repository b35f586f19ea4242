/**
 * embed.js — the embed page, framed by course pages. Its address says what
 * it shows:
 *   /embed/s/{id}                               a recorded session; Replay plays it again
 *   /embed/{scenario}?names=a,b&pace_ms=300     a fresh session; Replay runs another
 * and how, with options that are not scenario parameters:
 *   code=1        the programs' C source beside the diagram
 *   step=1        (fresh sessions) wait before each call: Next, Space or → steps
 *   questions=1   (with step) ask the viewers to predict some calls
 *   theme=light   light (the default), dark, or auto (the reader's preference)
 *   height=600    the diagram's box in CSS pixels; rows=30: room for 30 calls (default 20)
 * The page tells the page that frames it its height whenever it changes,
 * as a message {type: "seqd:height", height}; the README's one-line
 * listener sizes the iframe to it.
 */
import './seq-diagram.js'; // defines <seq-diagram> before the page uses it
import { fetchJSON, statusText, scenariosOf } from './core/api.js';

const diagram = document.getElementById('diagram');
const replay = document.getElementById('replay');
const status = document.getElementById('status');
const open = document.getElementById('open');
const heading = document.getElementById('embed-title');

const recorded = /^\/embed\/s\/([^/]+)\/?$/.exec(location.pathname);
const fresh = /^\/embed\/([^/]+)\/?$/.exec(location.pathname);

/** The page's own options in the query; the rest are scenario parameters. */
const OPTIONS = ['code', 'step', 'questions', 'theme', 'height', 'rows'];
const query = new URLSearchParams(location.search);
const option = (name) => query.has(name) && !/^(0|false|no|off)$/i.test(query.get(name).trim());
if (option('code')) diagram.setAttribute('code', query.get('code') === 'collapsed' ? 'collapsed' : '');
const steps = { step: option('step'), questions: option('step') && option('questions') };
const theme = ['light', 'dark', 'auto'].includes(query.get('theme')) ? query.get('theme') : 'light';
diagram.setAttribute('theme', theme);
document.documentElement.dataset.theme = theme;
if (query.get('height')) diagram.setAttribute('height', query.get('height'));
else diagram.setAttribute('rows', /^\d+$/.test(query.get('rows') ?? '') ? query.get('rows') : '20');
postHeight();

diagram.addEventListener('seq-diagram:state', (e) => show(e.detail.state, e.detail.error));
diagram.addEventListener('seq-diagram:progress', (e) => {
  if (e.detail.state === 'running') show('running');
});
diagram.addEventListener('seq-diagram:connection', () => {
  if (diagram.record?.state === 'running') show('running');
});

if (recorded) {
  const id = decodeURIComponent(recorded[1]);
  open.href = `/s/${encodeURIComponent(id)}`;
  replay.title = 'Play the recorded session again';
  replay.addEventListener('click', () => diagram.replay());
  diagram.follow(id).catch(() => {}); // the diagram shows why it failed
} else if (fresh) {
  const scenario = decodeURIComponent(fresh[1]);
  replay.title = 'Run the scenario again: a new session on real sockets';
  replay.addEventListener('click', () => start(scenario));
  start(scenario);
} else {
  status.textContent = 'Nothing to show: the address names no session or scenario.';
}

/** Starts a fresh session of scenario with the parameters in the query. */
async function start(scenario) {
  replay.disabled = true;
  status.textContent = 'Starting…';
  try {
    const id = await diagram.start(scenario, await queryParams(scenario), steps);
    open.href = `/s/${encodeURIComponent(id)}`;
  } catch (err) {
    status.textContent = `Could not start ${scenario}: ${err.message}`;
  }
  replay.disabled = false;
}

/**
 * The query's parameters, typed as the scenario declares them: strings
 * split at commas, ints as numbers. Unknown names are left for the server
 * to refuse; "pace-ms" is taken for pace_ms.
 */
async function queryParams(scenario) {
  let declared = new Map();
  try {
    const all = await scenariosOf(''); // the element's, cached
    declared = new Map((all.find((s) => s.name === scenario)?.params ?? []).map((p) => [p.name, p.type]));
  } catch {
    // Without the declarations, guess from the values.
  }
  const params = {};
  for (const [key, value] of query) {
    if (OPTIONS.includes(key)) continue;
    const name = key.replace(/-/g, '_');
    const type = declared.get(name) ?? (/^-?\d+$/.test(value.trim()) ? 'int' : 'strings');
    params[name] = type === 'strings'
      ? value.split(',').map((s) => s.trim()).filter(Boolean)
      : /^-?\d+$/.test(value.trim()) ? Number(value) : value;
  }
  return params;
}

function show(state, error) {
  if (recorded) replay.disabled = state === 'running' || !diagram.record;
  const rec = diagram.record;
  if (heading && rec?.scenario) heading.textContent = `seqd diagram: ${rec.scenario}${rec.id ? ` (session ${rec.id})` : ''}`;
  status.textContent = state === 'running' && diagram.connectionLost
    ? `${rec?.scenario ?? ''} lost the connection to the server: trying again`
    : statusText(state, error, rec, diagram.counts, `${rec?.scenario ?? ''} `, '');
}

/**
 * Tells the page that frames this one how tall it is, whenever that
 * changes: {type: "seqd:height", height} (CSS pixels), for any origin —
 * the height is no secret.
 */
function postHeight() {
  if (window.parent === window) return;
  let last = 0;
  const post = () => {
    const h = Math.ceil(document.body.getBoundingClientRect().height);
    if (h === last) return;
    last = h;
    window.parent.postMessage({ type: 'seqd:height', height: h }, '*');
  };
  const ro = new ResizeObserver(post);
  ro.observe(document.body);
  ro.observe(diagram);
  // A frame out of view may get no frames (Chromium throttles offscreen
  // cross-origin frames): the diagram's events and a slow timer post too.
  for (const type of ['seq-diagram:state', 'seq-diagram:progress', 'seq-diagram:code', 'seq-diagram:first-screen', 'seq-diagram:connection']) {
    diagram.addEventListener(type, () => setTimeout(post, 50));
  }
  setInterval(post, 1000);
  post();
}
