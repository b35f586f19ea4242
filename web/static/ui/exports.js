//# allFunctionsCalledOnLoad
/**
 * exports.js — SVG, PNG, JSON and the server's Mermaid and ladder exports.
 */
import { SVG_NS } from '../core/markup.js';
import { DIAGRAM_CSS } from '../core/styles.js';

/** Why the Mermaid and ladder exports are off for a diagram drawn from a file. */
const SERVER_EXPORT_REASON = 'Mermaid and ladder are made by the seqd server; this diagram was loaded from a file, with no server to ask';

export class Exports {
  /** The element's shared context: ui, record, layout, live, gen, and the controllers it wires. */
  c;

  constructor(c) {
    this.c = c;
  }

  /** Listens to the toolbar's export buttons. */
  wire() {
    this.c.ui.toolbar.addEventListener('click', (e) => {
      const button = e.target.closest('[data-export]');
      const kind = button?.dataset.export;
      if (!kind) return;
      if (button.getAttribute('aria-disabled') === 'true') {
        this.c.showMessage(button.title);
        return;
      }
      this.download(kind).catch((err) => this.c.showMessage(`Export failed: ${err.message}`, true));
    });
  }

  /** The title an export carries: the scenario, its parameters and the session's date. */
  title() {
    const rec = this.c.record ?? {};
    const params = rec.params && typeof rec.params === 'object'
      ? Object.entries(rec.params).map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`).join(' ')
      : '';
    const date = typeof rec.started_at === 'string' ? rec.started_at.slice(0, 16).replace('T', ' ') : '';
    return ['seqd', rec.scenario || 'session', params, date && `${date} UTC`].filter(Boolean).join(' · ');
  }

  /**
   * A standalone SVG document of the diagram, its styles resolved (in the
   * element's theme), titled: the title in <title> and written above the
   * drawing.
   */
  exportSVG() {
    this.c.painter.decorateAll();
    const clone = this.c.ui.svg.cloneNode(true);
    const band = 30;
    const w = this.c.layout.actors.length ? this.c.layout.width : 0;
    const h = this.c.layout.actors.length ? this.c.layout.height + this.c.painter.extra() + band : band;
    const bg = clone.querySelector('rect.bg');
    for (const el of [clone, bg]) {
      el.setAttribute('width', w);
      el.setAttribute('height', h);
    }
    clone.setAttribute('viewBox', `0 0 ${w} ${h}`);
    // The drawing moves down under the title.
    const body = document.createElementNS(SVG_NS, 'g');
    body.setAttribute('transform', `translate(0 ${band})`);
    for (const layer of [...clone.children]) if (layer !== bg) body.append(layer);
    clone.append(body);
    const title = this.title();
    const heading = document.createElementNS(SVG_NS, 'text');
    heading.setAttribute('class', 'title');
    heading.setAttribute('x', '10');
    heading.setAttribute('y', '21');
    const room = Math.max(8, Math.floor((w - 20) / 8));
    heading.textContent = Array.from(title).length > room ? `${Array.from(title).slice(0, room - 1).join('')}…` : title;
    clone.insertBefore(heading, body);
    const t = document.createElementNS(SVG_NS, 'title');
    t.textContent = title;
    clone.prepend(t);
    for (const el of clone.querySelectorAll('.hl')) el.classList.remove('hl');
    for (const el of clone.querySelectorAll('.layer-note, .layer-pending')) el.remove();
    const cs = getComputedStyle(this.c.el);
    const css = DIAGRAM_CSS.replace(/var\((--seq-[\w-]+)\)/g, (m, name) => cs.getPropertyValue(name).trim() || 'currentColor');
    const style = document.createElementNS(SVG_NS, 'style');
    style.textContent = css;
    clone.prepend(style);
    clone.removeAttribute('role');
    return `<?xml version="1.0" encoding="UTF-8"?>\n${new XMLSerializer().serializeToString(clone)}`;
  }

  /** A PNG of the diagram (at most 2× and within canvas limits). */
  async exportPNG() {
    const w = this.c.layout.width;
    const h = this.c.layout.height + this.c.painter.extra() + 30; // with the title's band
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
    const rec = this.c.record;
    if (!this.c.live || !rec?.id) throw new Error(SERVER_EXPORT_REASON);
    const res = await fetch(this.c.api(`/api/sessions/${encodeURIComponent(rec.id)}/${kind}`));
    if (!res.ok) throw new Error(`the ${kind} export could not be fetched: ${res.status} ${res.statusText}`.trim());
    return res.text();
  }

  /** Saves the diagram as kind: svg, png, mermaid, ladder or json. */
  async download(kind) {
    const rec = this.c.record;
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
      case 'json': {
        // Whether this server saved it is no part of the session a reader keeps.
        const { unsaved: _, ...kept } = rec;
        blob = new Blob([JSON.stringify(kept, null, 1)], { type: 'application/json' });
        break;
      }
      default:
        throw new Error(`unknown export ${kind}`);
    }
    const a = document.createElement('a');
    a.href = URL.createObjectURL(blob);
    a.download = `${base}.${ext}`;
    a.hidden = true;
    this.c.ui.root.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10000);
  }

  /**
   * Offers the exports only the server makes (Mermaid, ladder) when there
   * is a server to ask; otherwise leaves them shown but disabled, saying
   * why (title, and a message when pressed).
   */
  offerServerExports(available) {
    for (const b of this.c.ui.serverExports) {
      if (available) {
        b.removeAttribute('aria-disabled');
        b.title = `The ${b.textContent} export, made by the seqd server`;
      } else {
        b.setAttribute('aria-disabled', 'true');
        b.title = SERVER_EXPORT_REASON;
      }
    }
  }
}
