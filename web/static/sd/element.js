//# allFunctionsCalledOnLoad
/**
 * element.js — the <seq-diagram> custom element: attributes, properties,
 * lifecycle and public API. It owns the session drawn and composes the
 * ui/ controllers, which share one context (#context) and never import
 * each other: the feed brings events, the painter draws them, the
 * transcript lists them, the inspector picks them, the code pane and the
 * stepper teach with them, exports saves them, the announcer says them.
 */
import { fetchJSON, fetchPatiently, countText, scenariosOf } from '../core/api.js';
import { formatDuration } from '../core/format.js';
import { normalizeScale, Layout } from '../core/layout.js';
import { recordHead } from '../core/record.js';
import { HOST_CSS } from '../core/styles.js';
import { plural } from '../core/words.js';
import { TEMPLATE, constructedSheet } from './template.js';
import { Announcer } from '../ui/announcer.js';
import { CodePane } from '../ui/code-pane.js';
import { Exports } from '../ui/exports.js';
import { Feed } from '../ui/feed.js';
import { Inspector } from '../ui/inspector.js';
import { Painter } from '../ui/painter.js';
import { Stepper, saveToken } from '../ui/stepper.js';
import { Transcript } from '../ui/transcript.js';
import { Zoom } from '../ui/zoom.js';

/** The controllers, in the order they wire their listeners. */
const CONTROLLERS = ['painter', 'transcript', 'inspector', 'stepper', 'code', 'exports', 'zoom'];

const Base = globalThis.HTMLElement ?? class {};
const definedClasses = new WeakSet();
let instances = 0; // elements made, to name each one's regions apart

/** The line above the diagram while a live feed has lost its server. */
const LOST = 'Lost the connection to the server: trying again. What is drawn stays.';

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
 * questions (with step: ask the viewers to predict some calls), theme
 * (light, the default; dark; auto: the reader's preference), height (the
 * diagram's box, CSS pixels or a length) and rows (a box for that many
 * calls).
 *
 * Events (bubbling, composed): seq-diagram:state {state, error, id},
 * seq-diagram:session {id}, seq-diagram:event-selected {seq, event},
 * seq-diagram:progress {id, count, state}, seq-diagram:pending {id,
 * pending}, seq-diagram:line-selected {src, line, seqs}, seq-diagram:code
 * {open}, seq-diagram:connection {id, lost} (a live feed lost its server,
 * or has it back; the property connectionLost says which).
 */
export class SeqDiagram extends Base {
  static observedAttributes = [
    'src', 'session', 'scenario', 'server', 'scale', 'controls', 'transcript',
    'names', 'rounds', 'clients', 'pace-ms', 'params', 'code', 'step', 'questions', 'height', 'rows',
  ];

  #c; // the context the controllers share (#context)
  #key = ''; // the source the attributes named last

  #syncQueued = false;

  #infoRowOf = -1; // the gen of the record seen running, whose summary keeps a toolbar row of its own (#updateInfo)

  #n = ++instances; // this element's number on the page

  #onDocKey = (e) => {
    this.#c.transcript.docKey(e);
    this.#c.stepper.docKey(e);
  };

  /** Defines the element under tag in registry; returns the class defined. */
  static define(tag = 'seq-diagram', registry = globalThis.customElements) {
    const existing = registry.get(tag);
    if (existing) return existing;
    const cls = definedClasses.has(this) ? class extends this {} : this;
    registry.define(tag, cls);
    definedClasses.add(cls);
    return cls;
  }

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
    const ui = {
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
      bundles: $('.layer-bundles'),
      bundleHl: $('.layer-bundle-hl'),
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
    this.#c = this.#context(ui);
    this.#c.painter.resetDrawing();
    ui.scale.addEventListener('change', () => { this.scale = ui.scale.value; });
    ui.segBox.addEventListener('change', () => ui.svg.classList.toggle('no-segs', !ui.segBox.checked));
    for (const name of CONTROLLERS) this.#c[name].wire();
    this.#updateInfo(); // empty until a session comes
  }

  /**
   * The context the controllers share: the shadow DOM's parts (ui), the
   * session drawn (record, its layout, whether it came from a server:
   * live, and gen, bumped whenever the element turns to another session),
   * the controllers themselves, and the few element methods they call.
   */
  #context(ui) {
    const c = {
      el: this, ui, record: null, layout: new Layout(), live: false, gen: 0,
      announcer: new Announcer(ui.live),
      api: (path) => this.#api(path),
      emit: (type, detail) => this.#emit(type, detail),
      finish: (state, error) => this.#finish(state, error),
      showMessage: (text, isError) => this.#showMessage(text, isError),
      updateInfo: () => this.#updateInfo(),
      connection: (lost) => this.#connection(lost),
      lost: false, // the live feed lost its server and is trying again
    };
    c.feed = new Feed(c);
    c.painter = new Painter(c);
    c.transcript = new Transcript(c);
    c.inspector = new Inspector(c);
    c.stepper = new Stepper(c);
    c.code = new CodePane(c);
    c.exports = new Exports(c);
    c.zoom = new Zoom(c);
    return c;
  }

  /** True while a live session's feed has lost its server and is trying to reach it again. */
  get connectionLost() { return this.#c.lost; }

  /** The width, in CSS pixels, the diagram is laid out to fit (0: the widest, it had no box). */
  get layoutWidth() { return Math.round(this.#c.layout.fitWidth); }

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
  get pending() { return this.#c.stepper.stepPending; }

  /** Whether this browser may step the session drawn (it holds the step token). */
  get canStep() {
    return Boolean(this.#c.stepper.stepToken) && this.#c.live && this.#c.record?.state === 'running' && !this.#c.stepper.released;
  }

  /** The C listings shown beside the diagram, [{file, text}], or null. */
  get sources() { return this.#c.code.sources; }

  /** A boolean attribute: present, and not "false", "0", "no" or "off". */
  #flag(name) {
    const v = this.getAttribute(name);
    return v != null && !/^(false|0|no|off)$/i.test(v.trim());
  }

  /** The session drawn: its metadata and its events so far. */
  get record() { return this.#c.record; }

  /** The events drawn so far, in seq order. */
  get events() { return this.#c.record?.events ?? []; }

  /** How many of the events drawn are calls and how many captured segments. */
  get counts() {
    const n = this.#c.record?.events.length ?? 0;
    const segments = Math.min(n, this.#c.layout.segCount);
    return { calls: n - segments, segments };
  }

  #setAttr(name, v) {
    if (v == null || v === '') this.removeAttribute(name);
    else this.setAttribute(name, String(v));
  }

  attributeChangedCallback(name, old, value) {
    if (old === value) return;
    if (name === 'scale') {
      this.#c.ui.scale.value = this.scale;
      if (this.#c.layout.scale !== this.scale) this.#c.painter.redraw();
    } else if (name === 'height' || name === 'rows') {
      this.#applyHeight();
    } else if (name === 'transcript') {
      this.#c.ui.transcriptBox.open = value !== 'closed';
    } else if (name === 'code') {
      if (old == null || value == null) this.#c.code.setCodeOpen(value !== 'collapsed', false);
      this.#c.code.loadSources();
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
    this.#c.feed.closeFeed();
    this.#c.announcer.reset();
    this.#c.inspector.hideDetails();
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
      if (this.#c.live && !this.#c.feed.feed && this.#c.record?.state === 'running') this.#c.feed.connect(++this.#c.gen);
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

  /** Draws a record (metadata and events), replacing what was drawn. No server needed. */
  load(record) {
    this.#c.gen++;
    this.#c.live = false;
    this.#begin(recordHead(record ?? {}));
    this.#c.painter.finishWhenDrawn(this.#c.record.state, this.#c.record.error);
  }

  /** Clears the element: no session drawn. */
  clear() {
    this.#c.gen++;
    this.#key = '';
    this.#c.live = false;
    this.#c.feed.closeFeed();
    this.#c.record = null;
    this.#clearView();
    this.#c.code.loadSources();
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
    const gen = ++this.#c.gen;
    this.#c.feed.closeFeed();
    this.#showMessage('Loading…');
    // The code pane's listings asked for beside the record: had by the
    // time it is drawn, the pane takes its room before the diagram is
    // laid out, not a frame after (the diagram jumped sideways).
    if (this.code) scenariosOf(this.server).catch(() => {});
    let rec;
    try {
      rec = await fetchPatiently(this.#api(`/api/sessions/${encodeURIComponent(id)}`));
    } catch (err) {
      if (gen === this.#c.gen) {
        this.#c.record = null;
        this.#clearView();
        this.setAttribute('data-session', id);
        this.#setState('failed', err.message, id);
      }
      throw err;
    }
    if (gen !== this.#c.gen) return;
    this.#c.live = true;
    this.#begin(recordHead(rec));
    if (this.#c.record.state === 'running') {
      this.#setState('running');
      this.#c.feed.connect(gen);
    } else this.#c.painter.finishWhenDrawn(this.#c.record.state, this.#c.record.error);
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
    const gen = ++this.#c.gen;
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
    if (gen !== this.#c.gen) return meta.id;
    this.#c.feed.closeFeed();
    this.#c.live = true;
    this.#begin(recordHead({ scenario, params, ...meta, state: 'running', events: [] }));
    this.#setState('running');
    this.#emit('seq-diagram:session', { id: meta.id });
    this.#c.feed.connect(gen);
    return meta.id;
  }

  /**
   * Plays the drawn session again, event by event, with its gaps (each at
   * most a second, and at least a short beat so that fast ones can be
   * seen) shortened speed times (0.5, 1, 2, 10…); speed "step" plays it
   * call by call, one each replayNext().
   */
  replay(speed = 1) {
    // A replay begun during another plays the whole session again, not what the other drew so far.
    const rec = this.#replayOf?.gen === this.#c.gen ? this.#replayOf.rec : this.#c.record;
    if (!rec) return;
    const gen = ++this.#c.gen;
    this.#replayOf = { gen, rec };
    const events = rec.events;
    const finalState = rec.state === 'running' ? 'done' : rec.state;
    this.#begin({ ...rec, events: [] });
    this.#setState('running');
    let i = 0;
    let timer = 0;
    const finish = () => this.#c.painter.finishLater(finalState, rec.error);
    if (speed === 'step') {
      this.#replayStep = () => {
        if (gen !== this.#c.gen || i >= events.length) return false;
        this.#c.painter.enqueue([events[i++]]);
        if (i >= events.length) finish();
        return true;
      };
      this.#c.feed.use({ close: () => { this.#replayStep = null; } });
      if (!events.length) finish();
      return;
    }
    const k = Number(speed) > 0 ? Number(speed) : 1;
    const beat = Math.min(60, 6000 / Math.max(1, events.length));
    const at = [];
    let t = 0;
    for (let j = 0; j < events.length; j++) {
      t += Math.max(beat, Math.min(1000, j ? (events[j].t_ns - events[j - 1].t_ns) / 1e6 : 0)) / k;
      at.push(t);
    }
    const t0 = performance.now();
    const tick = () => {
      if (gen !== this.#c.gen) return;
      const now = performance.now() - t0;
      const batch = [];
      while (i < events.length && at[i] <= now) batch.push(events[i++]);
      this.#c.painter.enqueue(batch);
      if (i < events.length) timer = setTimeout(tick, Math.min(250, at[i] - now));
      else finish();
    };
    this.#c.feed.use({ close: () => clearTimeout(timer) });
    tick();
  }

  #replayStep = null; // the next call of a replay call by call, while one is under way

  #replayOf = null; // {gen, rec}: the session a replay under way (while gen is current) plays

  /** Draws the next call of a replay call by call (replay("step")); false when there is none. */
  replayNext() {
    return this.#replayStep ? this.#replayStep() : false;
  }

  /** The session as a Mermaid sequenceDiagram, from the server. */
  exportMermaid() {
    return this.#c.exports.exportText('mermaid');
  }

  /** Draws the saved record at src. */
  async #loadURL(src) {
    const gen = ++this.#c.gen;
    this.#c.feed.closeFeed();
    this.#showMessage('Loading…');
    try {
      const data = await fetchPatiently(new URL(src, document.baseURI).href);
      if (!data || typeof data !== 'object') throw new Error('it is not a session record (a JSON object or an array of events)');
      if (gen === this.#c.gen) this.load(data);
    } catch (err) {
      if (gen === this.#c.gen) {
        this.#clearView();
        this.#setState('failed', `Could not load ${src}: ${err.message}`);
      }
    }
  }

  /** Makes rec (a recordHead: its events are cleaned as they are drawn) the session drawn, drawing the events it already has. */
  #begin(rec) {
    this.#c.feed.closeFeed();
    const events = rec.events;
    const { pending, ...meta } = rec;
    this.#c.record = { ...meta, events: [] };
    this.#c.feed.restart();
    this.#c.painter.begin();
    this.#c.stepper.begin(rec, this.#c.live && rec.state === 'running' ? pending ?? null : null);
    this.#clearView();
    this.#c.code.loadSources();
    this.#showMessage('');
    this.#nameRegions(rec);
    if (rec.id) this.setAttribute('data-session', rec.id);
    else this.removeAttribute('data-session');
    // The state shown was the session drawn before's: this one's is set
    // once it runs, or once its events are drawn.
    this.removeAttribute('data-state');
    this.#c.exports.offerServerExports(this.#c.live);
    this.#c.ui.segBox.checked = true;
    this.#c.ui.svg.classList.remove('no-segs');
    this.#c.layout = this.#c.painter.newLayout(events, rec.actors);
    this.#c.painter.enqueue(events, true, false, true);
    this.#c.painter.flush();
  }

  /**
   * Names the element's regions after the session shown (and the
   * element's number after the first), so that several diagrams on one
   * page have landmarks a screen reader tells apart.
   */
  #nameRegions(rec) {
    const ui = this.#c.ui;
    const what = [rec.scenario, rec.id ? `session ${rec.id}` : ''].filter(Boolean).join(', ');
    const suffix = `${this.#n > 1 ? ` ${this.#n}` : ''}${what ? ` (${what})` : ''}`;
    ui.viewport.setAttribute('aria-label', `Sequence diagram${suffix}`);
    ui.transcriptScroll.setAttribute('aria-label', `Transcript${suffix} (Enter moves into the rows)`);
    ui.code.setAttribute('aria-label', `The programs' source code${suffix}`);
  }

  /** Empties the drawing and the transcript. */
  #clearView() {
    const c = this.#c;
    c.painter.clearLayers();
    c.inspector.selectedSeq = null;
    c.code.resetCode();
    c.stepper.clear();
    c.transcript.clear();
    c.layout = c.painter.newLayout();
    c.painter.clear();
    c.inspector.clear();
    c.announcer.reset();
    c.painter.sizeSVG();
    this.#updateInfo();
    c.stepper.updateStepbar();
  }

  /** Ends the session drawn in state (done or failed), saying so. */
  #finish(state, error) {
    const rec = this.#c.record;
    if (!rec) return;
    rec.state = state || 'done';
    if (error) rec.error = error;
    this.#c.feed.closeFeed();
    this.#c.stepper.finish(rec);
    this.#c.painter.endOpenBars();
    this.#setState(rec.state, error);
    // Past its address's share the server keeps it in memory only: say so
    // (beside a failure's reason), with what to do.
    if (rec.unsaved && this.#c.live) {
      const failed = rec.state === 'failed';
      this.#showMessage(`${failed ? `${error || 'The session failed.'} ` : ''}Not saved: ${rec.unsaved}.`, failed);
    }
    const n = plural(rec.events.length, 'event');
    const took = rec.events.length ? ` in ${formatDuration(rec.events[rec.events.length - 1].t_ns)}` : '';
    this.#c.announcer.say(rec.state === 'failed' ? `The session failed: ${error || 'unknown error'}` : `The session is done: ${n}${took}.`);
  }

  /** Reflects state in data-state and tells listeners (seq-diagram:state). */
  #setState(state, error, id = this.#c.record?.id) {
    this.setAttribute('data-state', state);
    if (state === 'failed') this.#showMessage(error || 'The session failed.', true);
    this.#updateInfo();
    this.#emit('seq-diagram:state', { state, error: error || '', id: id ?? '' });
  }

  /** Shows a line above the diagram (loading, errors); '' hides it. */
  #showMessage(text, isError = false) {
    const m = this.#c.ui.message;
    m.textContent = text;
    m.hidden = !text;
    m.classList.toggle('error', isError);
    m.setAttribute('role', isError ? 'alert' : 'status');
  }

  /**
   * Says that the live feed lost its server and is trying again (lost), or
   * has it back: above the diagram, in the toolbar's summary and to the
   * page, by seq-diagram:connection {id, lost}.
   */
  #connection(lost) {
    const c = this.#c;
    if (c.lost === lost) return;
    c.lost = lost;
    if (lost) this.#showMessage(LOST);
    else if (c.ui.message.textContent === LOST) this.#showMessage('');
    this.#updateInfo();
    this.#emit('seq-diagram:connection', { id: c.record?.id ?? '', lost });
  }

  /** Updates the toolbar's summary and the follow button. */
  #updateInfo() {
    const rec = this.#c.record;
    const ui = this.#c.ui;
    const { segments } = this.counts;
    const what = countText(rec?.events.length ?? 0, this.counts);
    const now = !rec ? '' : this.#c.lost && rec.state === 'running' ? ' · connection lost, reconnecting…' : this.#progress(rec);
    const info = rec ? `${rec.scenario ? rec.scenario + ' · ' : ''}${what} · ${rec.state}${now}` : '';
    if (ui.info.textContent !== info) ui.info.textContent = info; // written every frame live, and on every scroll
    // No session to show (none yet, or it could not be started or loaded):
    // the message above says why, and no empty toolbar, drawing or
    // transcript sits under it.
    if (this.hasAttribute('data-empty') === Boolean(rec)) this.toggleAttribute('data-empty', !rec);
    // A session followed live has its summary on a row of its own, from its
    // start and still once it ends: the long progress while it runs, then
    // the short total, move nothing below (the diagram jumped 39 px).
    if (rec?.state === 'running') this.#infoRowOf = this.#c.gen;
    const row = Boolean(rec) && this.#infoRowOf === this.#c.gen;
    if (ui.toolbar.classList.contains('info-row') !== row) ui.toolbar.classList.toggle('info-row', row);
    const followHidden = this.#c.painter.following || rec?.state !== 'running';
    if (ui.follow.hidden !== followHidden) ui.follow.hidden = followHidden;
    // The segment layer's toggle and the pcapng export, once there are segments.
    const has = segments > 0;
    if (ui.segToggle.hidden === has) ui.segToggle.hidden = !has;
    const pcap = has && this.#c.live && rec?.id ? this.#api(`/api/sessions/${encodeURIComponent(rec.id)}/pcapng`) : '';
    if (ui.pcapng.getAttribute('href') !== (pcap || null)) {
      if (pcap) ui.pcapng.setAttribute('href', pcap);
      else ui.pcapng.removeAttribute('href');
      ui.pcapng.hidden = !pcap;
    }
  }

  /**
   * How far a running session is, where the server estimated it
   * (expected_events, expected_ns): " · 12 of about 21 calls, about 4.2 s
   * left", or " · 25 calls, nearly done" past the estimate or within its
   * last second; '' otherwise (the count of calls says what is done).
   */
  #progress(rec) {
    if (rec.state !== 'running' || !this.#c.live || !(rec.expected_events > 0)) return '';
    const { calls } = this.counts;
    const left = rec.expected_ns > 0 ? rec.expected_ns - this.#c.painter.sessionNow() : 0;
    // An estimate outrun says "nearly done", never "25 of about 21" or "0 ns left".
    if (calls >= rec.expected_events || (rec.expected_ns > 0 && left < 1e9)) return ` · ${calls} calls, nearly done`;
    return ` · ${calls} of about ${rec.expected_events} calls${rec.expected_ns > 0 ? `, about ${formatDuration(left)} left` : ''}`;
  }

  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
  }

  // --- exports and step mode, done by their controllers

  /**
   * Sizes the diagram's box from the height attribute (CSS pixels, or any
   * CSS length) or rows (room for that many calls in the compact scale);
   * without either the box is at most 70% of the window's height.
   */
  #applyHeight() {
    const h = (this.getAttribute('height') ?? '').trim();
    const rows = Number(this.getAttribute('rows'));
    let css = '';
    if (/^\d+(\.\d+)?$/.test(h)) css = `${h}px`;
    else if (/^\d+(\.\d+)?(px|em|rem|vh|%)$/.test(h)) css = h;
    else if (Number.isInteger(rows) && rows > 0) css = `${Math.min(rows, 500) * 30 + 104}px`;
    if (css) this.style.setProperty('--seq-height', css);
    else this.style.removeProperty('--seq-height');
  }

  /** Moves the focus to the diagram (its one Tab stop): arrow keys then move between its calls. */
  focusDiagram() {
    this.#c.ui.viewport.focus({ preventScroll: true });
  }

  /** A standalone SVG document of the diagram, its styles resolved. */
  exportSVG() {
    return this.#c.exports.exportSVG();
  }

  /** A PNG of the diagram (at most 2× and within canvas limits). */
  exportPNG() {
    return this.#c.exports.exportPNG();
  }

  /**
   * The session as text from the server's exporter: kind mermaid or
   * ladder (GET /api/sessions/{id}/mermaid, /ladder). Seqd has one
   * generator of each, in Go; a diagram drawn from a file has no server to
   * ask, and this rejects saying so.
   */
  exportText(kind) {
    return this.#c.exports.exportText(kind);
  }

  /** Saves the diagram as kind: svg, png, mermaid, ladder or json. */
  download(kind) {
    return this.#c.exports.download(kind);
  }

  /**
   * Lets the next call of the stepped session happen (this browser must
   * hold its step token). Resolves true once its event is recorded.
   */
  next() {
    return this.#c.stepper.next();
  }

  /** Lets the remaining calls of the stepped session happen at its pace. */
  runToEnd() {
    return this.#c.stepper.runToEnd();
  }

  /** Answers the question asked about the pending call with choice i (any viewer may). */
  answer(choice) {
    return this.#c.stepper.answer(choice);
  }
}
