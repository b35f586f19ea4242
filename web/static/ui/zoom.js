//# allFunctionsCalledOnLoad
/**
 * zoom.js — fit and zoom: the diagram is laid out for the width its box
 * has (the painter asks layoutWidth), and drawn at a zoom factor: 1 fits
 * the box; zooming out lays it out wider (labels elide less) and draws it
 * smaller; zooming in draws the fitted layout bigger, scrolling across.
 * Buttons in the toolbar, Ctrl+wheel and a two-finger pinch change it; a
 * change of the box's width lays the diagram out again.
 */

/** The zoom factors the buttons step through. */
export const ZOOMS = Object.freeze([0.5, 0.67, 0.8, 1, 1.25, 1.5, 2, 3]);

export class Zoom {
  /** The element's shared context. */
  c;
  z = 1; // the zoom factor: 1 fits
  boxWidth = 0; // the viewport's client width, as its ResizeObserver last said (0: not yet)
  frame = 0;
  pinch = null; // {d, z}: the two fingers' first distance and the zoom then

  constructor(c) {
    this.c = c;
  }

  /** Wires the zoom buttons, Ctrl+wheel, pinch and the viewport's width. */
  wire() {
    const ui = this.c.ui;
    for (const b of ui.root.querySelectorAll('[data-zoom]')) {
      b.addEventListener('click', () => this.step(b.dataset.zoom));
    }
    ui.viewport.addEventListener('wheel', (e) => {
      if (!e.ctrlKey) return;
      e.preventDefault(); // Ctrl+wheel (and a trackpad's pinch) zooms the diagram, not the page
      this.set(this.z * Math.exp(-e.deltaY / 300));
    }, { passive: false });
    ui.viewport.addEventListener('touchstart', (e) => {
      if (e.touches.length === 2) this.pinch = { d: this.distance(e.touches), z: this.z };
    }, { passive: true });
    ui.viewport.addEventListener('touchmove', (e) => {
      if (!this.pinch || e.touches.length !== 2) return;
      e.preventDefault();
      this.set(this.pinch.z * (this.distance(e.touches) / this.pinch.d));
    }, { passive: false });
    ui.viewport.addEventListener('touchend', () => { this.pinch = null; }, { passive: true });
    // The observer says the width, so a refit reads no layout: reading
    // clientWidth in the middle of a long drawing forced a layout of all
    // that was drawn so far (about 0.1 s of a 10,000-event draw).
    new ResizeObserver(([entry]) => {
      this.boxWidth = Math.round(entry.contentBoxSize?.[0]?.inlineSize ?? entry.contentRect.width);
      this.refitLater();
    }).observe(ui.viewport);
    this.show();
  }

  distance(touches) {
    return Math.hypot(touches[0].clientX - touches[1].clientX, touches[0].clientY - touches[1].clientY) || 1;
  }

  /** Zooms "in", "out" or to "fit". */
  step(dir) {
    if (dir === 'fit') return this.set(1);
    const i = ZOOMS.findIndex((z) => z >= this.z - 0.001);
    const at = i < 0 ? ZOOMS.length - 1 : i;
    const exact = Math.abs(ZOOMS[at] - this.z) < 0.01;
    this.set(dir === 'in' ? ZOOMS[Math.min(ZOOMS.length - 1, exact ? at + 1 : at)] : ZOOMS[Math.max(0, at - 1)]);
  }

  /** Sets the zoom factor (within the buttons' range) and draws at it. */
  set(z) {
    z = Math.min(ZOOMS[ZOOMS.length - 1], Math.max(ZOOMS[0], z));
    if (Math.abs(z - 1) < 0.04) z = 1;
    if (z === this.z) return;
    const before = this.layoutWidth();
    this.z = z;
    this.show();
    if (Math.abs(this.layoutWidth() - before) >= 1) this.refitLater(true);
    this.c.painter.showNearLabels(true);
  }

  /** Applies the zoom factor to the drawing and says it on the buttons. */
  show() {
    const ui = this.c.ui;
    const z = this.z === 1 ? '' : String(this.z);
    ui.canvas.style.zoom = z;
    ui.heads.style.zoom = z;
    const level = ui.root.querySelector('.zoom-level');
    if (level) level.textContent = this.z === 1 ? '' : `${Math.round(this.z * 100)}%`;
    for (const b of ui.root.querySelectorAll('[data-zoom]')) {
      const off = (b.dataset.zoom === 'in' && this.z >= ZOOMS[ZOOMS.length - 1]) || (b.dataset.zoom === 'out' && this.z <= ZOOMS[0]) || (b.dataset.zoom === 'fit' && this.z === 1);
      b.setAttribute('aria-disabled', String(off));
    }
  }

  /**
   * The diagram's box is changing width (the code pane comes or goes):
   * the next layout reads the width itself, once, rather than lay the
   * diagram out for the width the observer said last and again a frame
   * later for the new one (the diagram jumped 130 px sideways as a
   * session opened).
   */
  boxChanged() {
    this.boxWidth = 0;
  }

  /** The width, in the layout's pixels, to lay the diagram out for: 0 while it has no box. */
  layoutWidth() {
    const w = this.boxWidth || this.c.ui.viewport.clientWidth;
    if (!w) return 0;
    return this.z >= 1 ? w : w / this.z;
  }

  /**
   * Lays the diagram out again in the next frame if the width it would
   * fit has changed since it was laid out (force: in any case).
   */
  refitLater(force = false) {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const w = this.layoutWidth();
      const L = this.c.layout;
      if (!force && Math.abs(w - (L.fitWidth || 0)) < 2) return;
      if (!this.c.record) return;
      this.c.painter.redraw();
    });
  }
}
