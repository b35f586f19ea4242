//# allFunctionsCalledOnLoad
/**
 * stepper.js — step mode: the step bar, the step token, Next and Run to end,
 * the pending call, and the questions with the server's answer.
 */
import { fetchJSON } from '../core/api.js';
import { isTextField } from '../core/keys.js';
import { callName, isBegin, sourceOf } from '../core/record.js';
import { eventLabel, noteSentence, plural } from '../core/words.js';

/**
 * Step tokens by session id: kept in sessionStorage so that a reload of
 * the page in the same tab can still step, and in memory where storage is
 * not allowed.
 */
const stepTokens = new Map();
const TOKEN_PREFIX = 'seqd-step-token:';

export function saveToken(id, token) {
  stepTokens.set(id, token);
  try {
    sessionStorage.setItem(TOKEN_PREFIX + id, token);
  } catch {
    // Storage refused (a sandboxed frame): this page keeps it in memory.
  }
}

export function loadToken(id) {
  if (stepTokens.has(id)) return stepTokens.get(id);
  try {
    return sessionStorage.getItem(TOKEN_PREFIX + id) ?? '';
  } catch {
    return '';
  }
}

export function dropToken(id) {
  stepTokens.delete(id);
  try {
    sessionStorage.removeItem(TOKEN_PREFIX + id);
  } catch {
    // Nothing stored.
  }
}


export class Stepper {
  /** The element's shared context: ui, record, layout, live, gen, and the controllers it wires. */
  c;
  stepToken = ''; // this browser's token for the session drawn: it may step it
  stepBusy = false; // a step or run request is on its way
  released = false; // the session was told to run to its end
  stepPending = null; // the call the session makes next, drawn as a ghost
  nextPending = null; // the latest pending call the server sent, for the next frame
  changedSaid = false; // the message says a step came for a call no longer shown
  pendingDirty = false;
  question = null; // the question asked about a pending call, and its answers

  constructor(c) {
    this.c = c;
  }

  /** Listens to Next, Run to end and the question's choices. */
  wire() {
    const ui = this.c.ui;
    // The step bar's height, for the room the diagram keeps under it
    // (--seq-room in styles.js): written as it changes, after layout.
    new ResizeObserver(([entry]) => {
      const h = Math.round(entry.borderBoxSize?.[0]?.blockSize ?? entry.contentRect.height);
      this.c.el.style.setProperty('--seq-stepbar-height', `${h}px`);
    }).observe(ui.stepbar);
    ui.next.addEventListener('click', () => this.next());
    ui.run.addEventListener('click', () => this.runToEnd());
    ui.qChoices.addEventListener('click', (e) => {
      const b = e.target.closest('button[data-choice]');
      if (!b || b.disabled) return;
      this.answer(Number(b.dataset.choice));
      // Answered with the pointer: the focus goes back to the diagram, so
      // that Space steps on, as it did before the click (on the choice it
      // would answer again). From the keyboard (detail 0) it stays.
      if (e.detail > 0) ui.viewport.focus({ preventScroll: true });
    });
  }


  /**
   * Lets the next call of the stepped session happen (this browser must
   * hold its step token). Resolves true once its event is recorded.
   */
  next() {
    return this.stepRequest('step');
  }

  /** Lets the remaining calls of the stepped session happen at its pace. */
  async runToEnd() {
    const ok = await this.stepRequest('run');
    if (ok) {
      this.released = true;
      this.updateStepbar();
    }
    return ok;
  }

  /** Answers the question asked about the pending call with choice i (any viewer may). */
  async answer(choice) {
    const q = this.question;
    const rec = this.c.record;
    if (!q || q.revealed || !rec?.id || rec.state !== 'running' || !(choice >= 0 && choice < q.choices.length)) return false;
    // The token the session's stream handed this viewer: one answer per viewer.
    if (!this.c.viewer) {
      this.c.ui.qResult.textContent = 'Your answer cannot be counted yet: the live stream has not connected.';
      return false;
    }
    q.mine = choice;
    this.renderQuestion();
    try {
      await fetchJSON(this.c.api(`/api/sessions/${encodeURIComponent(rec.id)}/answer`), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ viewer: this.c.viewer, choice }),
      });
      return true;
    } catch (err) {
      if (this.question === q && !q.revealed) this.c.ui.qResult.textContent = `Your answer was not counted: ${err.message}`;
      return false;
    }
  }

  /** POSTs step or run with the token; says why when the server refuses. */
  async stepRequest(what) {
    if (!this.c.el.canStep || this.stepBusy) return false;
    const rec = this.c.record;
    const gen = this.c.gen;
    this.stepBusy = true;
    this.updateStepbar();
    // A step is for the call this page shows: if another has taken its
    // place by the time it arrives, the server lets nothing through (412).
    const n = what === 'step' ? this.stepPending?.n : 0;
    try {
      await fetchJSON(this.c.api(`/api/sessions/${encodeURIComponent(rec.id)}/${what}${n > 0 ? `?pending=${n}` : ''}`), {
        method: 'POST',
        headers: { Authorization: `Bearer ${this.stepToken}` },
      });
      if (this.changedSaid) this.c.showMessage('');
      this.changedSaid = false;
      return true;
    } catch (err) {
      if (gen !== this.c.gen) return false;
      if (err.status === 412) {
        this.c.showMessage('The next call changed just before your step, so nothing happened: the call shown now is the one the next step makes.', false);
        this.changedSaid = true;
      } else if (err.status === 403) {
        dropToken(rec.id);
        this.stepToken = '';
        this.c.showMessage(`This browser may not step the session: ${err.message}`, true);
      } else if (err.status === 409) {
        this.released = true; // it has ended, or runs to its end
      } else {
        this.c.showMessage(`The ${what} did not complete: ${err.message}`, true);
      }
      return false;
    } finally {
      if (gen === this.c.gen) {
        this.stepBusy = false;
        this.updateStepbar();
      }
    }
  }

  /** Space and → anywhere on the page do Next, unless focus is where those keys mean something. */
  docKey(e) {
    if (e.key !== ' ' && e.key !== 'ArrowRight') return;
    if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || e.shiftKey || !this.c.el.canStep) return;
    const t = e.composedPath()[0];
    if (isTextField(t)) return;
    if (t?.closest?.('input, select, [role="slider"], [role="radio"], [role="tab"], [role="option"], [role="menuitem"]')) return;
    if (e.key === ' ' && t?.closest?.('button, a[href], summary, [role="button"], [role="checkbox"], [role="switch"], [role="link"]')) return;
    e.preventDefault();
    this.next();
  }

  /** The session rec ended: no pending call, no step under way; the question left unrevealed says so. */
  finish(rec) {
    if (this.stepPending) {
      this.stepPending = null;
      this.c.painter.render(); // no ghost, and the lifelines end at the last row again
      this.c.code.syncCode();
      this.c.emit('seq-diagram:pending', { id: rec.id ?? '', pending: null });
    }
    this.nextPending = null;
    this.stepBusy = false;
    if (this.question && !this.question.revealed) this.renderQuestion();
    this.updateStepbar();
  }

  /** Keeps the pending call the server named last, to show once the events queued are drawn. */
  pendingLater(p) {
    this.nextPending = p;
    this.pendingDirty = true;
  }

  /** Takes the session rec begun: its step token (if this browser holds one) and the pending call it came with. */
  begin(rec, pending) {
    this.stepToken = rec.id && rec.step ? loadToken(rec.id) : '';
    this.stepBusy = false;
    this.released = false;
    this.stepPending = null;
    this.nextPending = pending;
    this.pendingDirty = true;
    this.question = null;
  }

  /** Forgets the pending call and the questions shown. */
  clear() {
    this.stepPending = null;
    this.question = null;
    this.c.ui.stepLast.replaceChildren();
    this.c.ui.question.hidden = true;
    this.renderLastAnswer(null);
  }

  /**
   * After events were drawn: a question is answered by the call it asked
   * about; then comes the next call (the pending one the server named,
   * once the events queued are drawn). Returns whether the ghost changed.
   */
  afterEvents(events, drained) {
    if (events.length && this.question && !this.question.revealed) this.reveal(events);
    let changed = false;
    if (this.pendingDirty && drained) {
      this.pendingDirty = false;
      this.applyPending(this.nextPending);
      changed = true;
    } else if (this.stepPending && events.some((e) => this.isPendingCall(e))) {
      // The pending call happened: its ghost goes until the server names the next.
      this.applyPending(null);
      changed = true;
    }
    if (events.length) this.updateLast();
    this.updateStepbar();
    return changed;
  }

  /** Takes the pending call the server sent last: the ghost, the pending line and any question. */
  applyPending(p) {
    const rec = this.c.record;
    if (rec.state !== 'running' || !this.c.live || !p?.actor) p = null;
    const prev = this.stepPending;
    this.stepPending = p;
    if (p && !rec.actors.includes(p.actor)) {
      rec.actors.push(p.actor);
      this.c.layout.actor(p.actor);
    }
    if (p?.question) this.ask(p);
    const same = prev && p && prev.actor === p.actor && prev.kind === p.kind && prev.fd === p.fd && prev.line === p.line;
    if (!same && (prev || p)) this.c.emit('seq-diagram:pending', { id: rec.id ?? '', pending: p });
  }

  /** Whether event ev is the call shown as pending. */
  isPendingCall(ev) {
    const p = this.stepPending;
    return Boolean(p) && ev.actor === p.actor && ev.kind === p.kind && (!p.line || ev.line === p.line);
  }

  /** Shows the question asked about pending call p, or updates its tally. */
  ask(p) {
    const q = p.question;
    const key = `${this.c.feed.next}|${p.actor}|${p.kind}|${p.fd}|${p.line}|${q.text}`;
    const tally = Array.isArray(q.tally) ? q.tally : [];
    if (this.question?.key === key) {
      this.question.tally = tally;
      this.renderQuestion();
      return;
    }
    // A revealed question gives way, its answer kept in a line above.
    if (this.question?.revealed) this.renderLastAnswer(this.question);
    this.question = {
      key,
      actor: p.actor,
      kind: p.kind,
      text: String(q.text ?? ''),
      choices: (Array.isArray(q.choices) ? q.choices : []).map(String),
      ids: (Array.isArray(q.choice_ids) ? q.choice_ids : []).map(String),
      tally,
      mine: null,
      atSeq: this.c.feed.next,
      revealed: false,
      right: -1,
      event: null,
    };
    this.renderQuestion(true);
  }

  /** The answer to the question before the one asked now, on one line. */
  renderLastAnswer(q) {
    const el = this.c.ui.qLast;
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
  reveal(events) {
    const q = this.question;
    // A begin has no result yet: its end (or a whole call) answers.
    const ev = events.find((e) => e.seq >= q.atSeq && e.actor === q.actor && e.kind === q.kind && !isBegin(e));
    if (!ev) return;
    q.revealed = true;
    q.event = ev;
    // The line on the question before says no more than this one's result
    // now does, and would read as this one's (it stayed after Run to end).
    this.renderLastAnswer(null);
    // The server graded the call (trace.Question.Grade): its event names
    // the choice it bore out by id.
    q.right = ev.answer ? q.ids.indexOf(ev.answer) : -1;
    // The tally the call's event keeps (Event.Asked) is the one recorded:
    // the reveal shows it, as a replay will.
    if (ev.asked?.tally.length === q.tally.length) q.tally = ev.asked.tally.slice();
    this.renderQuestion();
  }

  /** Draws the question: its choices with the tally, and once revealed the right one. */
  renderQuestion(fresh = false) {
    // Where the box takes away, hides or disables the control that had the
    // focus (a choice once the call is made), the diagram takes it, not
    // the document's body.
    const ui = this.c.ui;
    const root = ui.question.getRootNode();
    const had = ui.question.contains(root.activeElement);
    this.drawQuestion(fresh);
    const a = root.activeElement;
    if (had && (!a || !ui.question.contains(a) || a.disabled || !a.checkVisibility())) ui.viewport.focus({ preventScroll: true });
  }

  /** renderQuestion's drawing: the question, its choices and tally, and the result once revealed. */
  drawQuestion(fresh) {
    const q = this.question;
    const ui = this.c.ui;
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
        // Named by what it shows: the choice, its count, then (unseen) "answers".
        for (const [cls, t] of [['share', ''], ['text', text], ['count', '0'], ['sr-only said', ' answers']]) {
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
    const over = q.revealed || this.c.record?.state !== 'running';
    Array.from(ui.qChoices.children).forEach((b, i) => {
      const n = Number(q.tally[i]) || 0;
      b.querySelector('.count').textContent = String(n);
      b.querySelector('.said').textContent = `${n === 1 ? ' answer' : ' answers'}${q.revealed && i === q.right ? ' — what the kernel did' : ''}`;
      b.firstElementChild.style.setProperty('--share', total ? `${Math.round((1000 * n) / total) / 10}%` : '0%');
      b.setAttribute('aria-pressed', String(q.mine === i));
      b.disabled = over;
      b.classList.toggle('right', q.revealed && i === q.right);
    });
    const r = ui.qResult;
    if (q.revealed) {
      const strong = document.createElement('strong');
      strong.className = 'right';
      strong.textContent = q.right >= 0 ? `✓ ${q.choices[q.right]}` : eventLabel(q.event);
      const correct = q.right >= 0 ? Number(q.tally[q.right]) || 0 : 0;
      const mine = q.mine == null ? '' : q.mine === q.right ? ' You predicted it.' : ` You said “${q.choices[q.mine]}”.`;
      const count = total ? ` ${correct} of ${plural(total, 'answer')} ${correct === 1 ? 'was' : 'were'} right.` : '';
      const note = this.c.layout.marks[this.c.layout.pos.get(q.event.seq)]?.note;
      r.replaceChildren('The kernel: ', strong, ` (${eventLabel(q.event)}).${mine}${count}`, note ? ` ${noteSentence(note)}` : '');
    } else if (over) {
      r.textContent = 'The session ended before this call.';
    } else if (!r.textContent.startsWith('Your answer was not counted')) {
      r.textContent = total ? `${plural(total, 'answer')} so far: the answer shows after the call.` : 'Predict, then watch: everyone sees the tally.';
    }
  }

  /** Shows or hides the step bar and its controls, and says what comes next. */
  updateStepbar() {
    const ui = this.c.ui;
    const rec = this.c.record;
    const stepped = Boolean(rec?.step) && this.c.live;
    const running = rec?.state === 'running';
    const control = this.c.el.canStep;
    // Called every frame live: each attribute is written only when it
    // changes (a write of the same value still invalidates style, and
    // data-step is the host's).
    setAttr(ui.stepbar, 'hidden', stepped && (running || this.question) ? null : '');
    setAttr(ui.stepControls, 'hidden', control ? null : '');
    for (const b of [ui.next, ui.run]) setAttr(b, 'aria-disabled', String(this.stepBusy));
    setAttr(this.c.el, 'data-step', stepped && running ? (control ? 'control' : 'watch') : null);
    const p = this.stepPending;
    let parts;
    if (!stepped) parts = [];
    else if (!running) parts = ['The session has ended.'];
    else if (this.released) parts = ['Running to the end…'];
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
  updateLast() {
    const rec = this.c.record;
    const ui = this.c.ui;
    const L = this.c.layout;
    let m = null;
    for (let i = L.marks.length - 1; i >= 0 && !m; i--) if (L.marks[i].kind !== 'segment') m = L.marks[i];
    if (!rec?.step || !m) {
      ui.stepLast.replaceChildren();
      return;
    }
    const b = document.createElement('strong');
    b.textContent = 'Last call: ';
    const call = document.createElement('code');
    call.textContent = `${m.actor} ${m.full ?? m.label}`;
    const what = document.createElement('span');
    what.className = 'what';
    what.textContent = m.note ? ` — ${m.note}` : '';
    ui.stepLast.replaceChildren(b, call, what);
  }
}

/** Sets el's attribute name to value, or removes it for null, unless it already is so. */
function setAttr(el, name, value) {
  if (el.getAttribute(name) === value) return;
  if (value === null) el.removeAttribute(name);
  else el.setAttribute(name, value);
}
