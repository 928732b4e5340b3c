// Whether the kernel behind a panel can hear it. One answer per model, shared by
// every view of it (kept in the model-level state, see state.js).
//
// anywidget's model proxy hides ipywidgets' `comm_live`, so the panel decides from
// what it can observe, and says "not connected" only when it is certain:
//   - a `model.send` that throws (JupyterLab throws "Cannot send" once the kernel is
//     shut down or gone): the message did not go out;
//   - the host marking the view disconnected: ipywidgets puts the class
//     `jupyter-widgets-disconnected` on a view whose model has no live comm, which is
//     the case for a panel restored from saved widget state with no kernel behind
//     it, and for every panel once its kernel died or restarted;
//   - the comm closing (`comm:close`).
// JupyterLab's Kernel > Shut Down marks nothing and closes no comm: only a send throws.
// So while a view is on screen and no reply is in flight, the panel sends a `hello` now
// and then (`probe`); the send that throws is the sign. One unanswered hello at a time.
// A missing answer proves nothing: Jupyter does not deliver a front-end message to
// the kernel while a cell is busy, so a `hello` may wait minutes for its `welcome`.
// The panel stays usable until it is certain, and is live again as soon as the kernel
// answers a `hello` or the host clears its disconnected mark.
import { listen } from './dom.js';

export const OFFLINE_TEXT = 'The kernel is not connected: run the cell again to chat.';
export const HOST_OFFLINE_CLASS = 'jupyter-widgets-disconnected';
const PROBE_MS = 2000; // how often a panel on screen and idle asks whether the kernel hears it
const UNANSWERED_MS = 30_000; // a hello not answered yet (a busy cell): the next one waits this long

/** @import { Model, KernelMessage } from './types.js' */
/** @typedef {'unknown' | 'live' | 'lost'} ConnectionState */
/** @typedef {ReturnType<typeof createConnection>} Connection */

/**
 * 'unknown' (no proof either way: usable), 'live' (the kernel answered) or 'lost' (certain).
 * @param {Model} model
 */
export function createConnection(model) {
  /** @type {Set<() => void>} */
  const subs = new Set();
  let asked = 0; // when the hello still unanswered went out (0: none is)
  let last = 0; // when the last hello went out
  const c = {
    /** @type {ConnectionState} */
    state: 'unknown',
    subs,
    /** @param {ConnectionState} state */
    set(state) {
      if (c.state === state) return;
      c.state = state;
      subs.forEach((f) => f());
    },
    get lost() {
      return c.state === 'lost';
    },
    /** `model.send(msg)`; false, and the connection lost, when the host throws. @param {KernelMessage} msg */
    send(msg) {
      try {
        model.send(msg);
        return true;
      } catch {
        c.set('lost');
        return false;
      }
    },
    /** Ask the kernel to answer with a `welcome` (an answer proves it is live). */
    hello() {
      last = Date.now();
      asked = asked || last;
      return c.send({ type: 'hello' });
    },
    /** A probe's hello: not more often than PROBE_MS, and not while one waits for its answer (up to UNANSWERED_MS). */
    check() {
      const t = Date.now();
      if (c.lost || t - last < PROBE_MS || (asked && t - asked < UNANSWERED_MS)) return;
      asked = 0;
      c.hello();
    },
    /** Follow the host's disconnected mark on a view's element; returns the unwatch function. @param {HTMLElement} el */
    watch: (el) => watchHostMark(el, c.set),
    dispose() {
      unlisten();
      subs.clear();
    },
  };
  const unlisten = listen(model, {
    /** @param {{type?: unknown} | null | undefined} msg */
    'msg:custom': (msg) => {
      if (msg && typeof msg === 'object' && msg.type === 'welcome') {
        asked = 0;
        c.set('live');
      }
    },
    'comm:close': () => c.set('lost'),
  });
  return c;
}

/**
 * Follow the host's disconnected mark on a view's element: a mark present now or
 * added later is "lost"; a mark removed is "live". Returns the unwatch function.
 * @param {HTMLElement} el
 * @param {(state: ConnectionState) => void} set
 */
function watchHostMark(el, set) {
  const marked = () => !!(el.closest && el.closest('.' + HOST_OFFLINE_CLASS));
  let was = marked();
  if (was) set('lost');
  if (typeof MutationObserver !== 'function') return () => {};
  const mo = new MutationObserver(() => {
    const now = marked();
    if (now !== was) set((was = now) ? 'lost' : 'live');
  });
  // The mark sits on the view's own element (ipywidgets' DOMWidgetView) or, in
  // some hosts, on a wrapper: watch both.
  for (let n = /** @type {HTMLElement | null} */ (el), i = 0; n && i < 3; n = n.parentElement, i++) {
    mo.observe(n, { attributes: true, attributeFilter: ['class'] });
  }
  return () => mo.disconnect();
}

/**
 * While `el` is on screen in a visible page and `idle()`, check now and then that the
 * kernel still hears the panel (`conn.check`). Returns the function that stops.
 * @param {Connection} conn @param {HTMLElement} el @param {() => boolean} idle
 */
export function probe(conn, el, idle) {
  if (typeof IntersectionObserver !== 'function') return () => {};
  let visible = false;
  const seen = new IntersectionObserver((entries) => {
    for (const e of entries) visible = e.isIntersecting;
  });
  seen.observe(el);
  const timer = setInterval(() => {
    if (visible && document.visibilityState === 'visible' && idle()) conn.check();
  }, PROBE_MS / 2);
  return () => {
    clearInterval(timer);
    seen.disconnect();
  };
}
