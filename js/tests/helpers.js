// What the front end's tests share: a minimal anywidget-like model, mounting whole
// panels (and cleaning them up), queries and events on them, transcript entries,
// and control over frames and time slices.
import { vi } from 'vitest';
import widget from '../src/widget.js';
import { beginSlice } from '../src/frame.js';
import { MdStream } from '../src/mdstream.js';

export const DEFAULTS = {
  agent_label: 'Local demo agent (embedded server)',
  is_demo: false,
  status: 'idle',
  error: '',
  transcript: [],
  pending: {},
  stream: {},
};

let panels = 0;

/** Backbone-ish model: get/set/on/off/send; change callbacks get (model, value). */
export class FakeModel {
  constructor(attrs = {}) {
    const own = { _panel_id: `panel-${++panels}` }; // the kernel gives each widget its own
    this.attrs = { ...structuredClone(DEFAULTS), ...own, ...attrs }; // own objects, as after JSON sync
    this.handlers = new Map();
    this.sent = []; // what the panel sent the kernel, but its `hello`s (counted in `hellos`)
    this.dirty = new Set(); // keys the front end set (through a proxy), as a host tracks them
    this.saved = [];
    this.hellos = 0;
  }
  get(k) {
    return this.attrs[k];
  }
  set(k, v) {
    this.attrs[k] = v;
    for (const cb of [...(this.handlers.get('change:' + k) || [])]) cb(this, v);
  }
  on(name, cb) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(cb);
  }
  off(name, cb) {
    const list = this.handlers.get(name) || [];
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  }
  /** What the front end wrote back to the kernel: the keys it `set` since the last save, each save. */
  save_changes() {
    this.saved.push([...this.dirty].sort());
    this.dirty.clear();
  }
  send(msg) {
    if (this.offline) throw new Error('Cannot send'); // what JupyterLab does once the kernel is gone
    if (msg && msg.type === 'hello') this.hellos++;
    else this.sent.push(msg);
  }
  /** A custom message or event from the host (msg:custom, comm:close). */
  emit(name, ...args) {
    for (const cb of [...(this.handlers.get(name) || [])]) cb(...args);
  }
  listenerCount() {
    let n = 0;
    for (const l of this.handlers.values()) n += l.length;
    return n;
  }
}

/** A fresh proxy object per call, like anywidget's modelProxy(). */
export function proxy(model) {
  return {
    get: model.get.bind(model),
    set: (k, v) => {
      model.dirty.add(k);
      model.set(k, v);
    },
    send: model.send.bind(model),
    save_changes: model.save_changes.bind(model),
    on: (n, cb) => model.on(n, cb),
    off: (n, cb) => model.off(n, cb),
  };
}

// ---------------------------------------------------------------- frames and time slices

/** Wait for the next animation frame (pending view updates run first). */
export const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));

export async function frames(n = 2) {
  for (let i = 0; i < n; i++) await nextFrame();
}

/** Render now what an MdStream still holds back for later frames (a slice renders 30,000 characters). */
export function settle(md) {
  while (md.busy) {
    beginSlice();
    md.pump();
  }
}

/**
 * `text` streamed into one MdStream in deltas of `steps` characters (a frame's slice
 * each) and set whole into another, both settled: [streamed, whole] containers.
 * @param {string} text @param {number[]} steps
 */
export function streamedAndWhole(text, steps) {
  const streamed = box();
  const md = new MdStream(streamed);
  let at = 0;
  for (const step of steps) {
    at = Math.min(text.length, at + step);
    beginSlice();
    md.set(text.slice(0, at));
  }
  md.set(text);
  settle(md);
  const whole = box();
  const once = new MdStream(whole);
  once.set(text);
  settle(once);
  return [streamed, whole];
}

/** How many `sel` elements the deepest one in `el` is inside of (itself included). */
export function depth(el, sel) {
  let most = 0;
  for (const n of el.querySelectorAll(sel)) {
    let d = 0;
    for (let p = n; p && p !== el; p = p.parentElement) if (p.matches(sel)) d++;
    most = Math.max(most, d);
  }
  return most;
}

/** The clock stands still: no render slice ever runs out of time (a fresh slice starts). */
export function noTimeSlicing() {
  vi.spyOn(performance, 'now').mockReturnValue(0);
  beginSlice();
}

/** Every reading of the clock is `step` ms later: render slices run out of time at once. */
export function clockTicks(step) {
  let t = 0;
  vi.spyOn(performance, 'now').mockImplementation(() => (t += step));
}

// ---------------------------------------------------------------- whole panels

const cleanups = [];

/** Run `f` at the next tearDown. */
export const atTearDown = (f) => cleanups.push(f);

/** For afterEach: dispose what the test mounted, empty the page, undo mocks. */
export function tearDown() {
  cleanups.splice(0).forEach((f) => f());
  document.body.replaceChildren();
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
}

/**
 * initialize() once, then `views` views, each with its own proxy (as anywidget does);
 * `before(el)` runs on each view's element before it is rendered.
 */
export function mount(attrs = {}, { views = 1, before = null } = {}) {
  const model = new FakeModel(attrs);
  atTearDown(widget.initialize({ model: proxy(model) }));
  const els = [];
  for (let i = 0; i < views; i++) els.push(addView(model, before));
  return { model, el: els[0], els };
}

/** One more view of `model`; `el.dispose()` removes it early. */
export function addView(model, before = null) {
  const el = document.createElement('div');
  document.body.append(el);
  if (before) before(el);
  const dispose = widget.render({ model: proxy(model), el });
  atTearDown(dispose);
  el.dispose = dispose;
  return el;
}

// ---------------------------------------------------------------- queries and events

export const q = (el, s) => el.querySelector(s);
export const articles = (el) => [...el.querySelectorAll('[role="article"]')];
export const byLabel = (el, label) => el.querySelector(`[aria-label="${label}"]`);
export const byText = (el, text) => [...el.querySelectorAll('button')].find((b) => b.textContent === text);
export const visibleAlerts = (el) =>
  [...el.querySelectorAll('[role="alert"]')].filter((a) => !a.hidden).map((a) => a.textContent);

/**
 * Give a panel's log the layout jsdom lacks: `scroll.height` (1000) px of messages in a
 * 400 px box. `scroll.top` is where it is scrolled to (600 at the bottom);
 * `scroll.to(y)` is the reader turning the mouse wheel to get there, `scroll.moved(y)`
 * the position changing by itself (a layout change); a scroll event follows either,
 * as in a browser.
 */
export function fakeScroll(log) {
  const scroll = {
    top: 0,
    height: 1000,
    to(y) {
      log.dispatchEvent(new WheelEvent('wheel', { deltaY: y - scroll.top, bubbles: true }));
      scroll.moved(y);
    },
    moved(y) {
      scroll.top = y;
      log.dispatchEvent(new Event('scroll'));
    },
  };
  Object.defineProperty(log, 'scrollHeight', { get: () => scroll.height, configurable: true });
  Object.defineProperty(log, 'clientHeight', { get: () => 400, configurable: true });
  Object.defineProperty(log, 'scrollTop', {
    get: () => scroll.top,
    set: (v) => (scroll.top = Math.max(0, Math.min(v, scroll.height - 400))),
    configurable: true,
  });
  return scroll;
}

/**
 * A ResizeObserver jsdom lacks, driven by the test: `resized(el)` is the browser
 * telling every observer of `el` that its size changed (after its layout, before paint).
 */
export function fakeResizeObserver() {
  const observers = new Set();
  vi.stubGlobal(
    'ResizeObserver',
    class {
      constructor(cb) {
        this.cb = cb;
        this.targets = new Set();
        observers.add(this);
      }
      observe(el) {
        this.targets.add(el);
      }
      unobserve(el) {
        this.targets.delete(el);
      }
      disconnect() {
        this.targets.clear();
      }
    },
  );
  return {
    resized(el) {
      for (const o of observers) if (o.targets.has(el)) o.cb([{ target: el }], o);
    },
    watched: (el) => [...observers].some((o) => o.targets.has(el)),
  };
}

/** A div holding `nodes` (a rendered fragment, a stream's container...). */
export function box(...nodes) {
  const el = document.createElement('div');
  el.append(...nodes);
  return el;
}

/** Dispatch a keydown of `k` on `el`; returns the event (defaultPrevented...). */
export function key(el, k, opts = {}) {
  const e = new KeyboardEvent('keydown', { key: k, bubbles: true, cancelable: true, ...opts });
  el.dispatchEvent(e);
  return e;
}

/** Type `text` into the message box and press Enter. */
export function type(input, text) {
  input.value = text;
  return key(input, 'Enter');
}

// ---------------------------------------------------------------- transcript entries and streams

/** Stream `parts` of reply `id` as the kernel does: a delta a frame, offsets in code points (Python's len). */
export async function streamParts(model, id, parts) {
  let offset = 0;
  for (const text of parts) {
    model.set('stream', { id, offset, text });
    offset += [...text].length;
    await frames(1);
  }
}

export const user = (id, text) => ({ id, role: 'user', text });
export const reply = (id, text, extra = {}) => ({
  id, role: 'assistant', text, status: 'complete', error: null, sources: [], handoff: false, blocks: [], prompt_id: 'p', ...extra,
}); // prettier-ignore
