// Small helpers shared by the panel's modules, one copy each: building and updating
// DOM, reading trait values, listening to the model, and time.

/** @import { Model } from './types.js' */

/**
 * What `h` takes as attributes: "class" -> className, "text" -> textContent,
 * "on<event>" -> listener, everything else -> setAttribute (skipped when
 * null/undefined/false; `true` sets an empty attribute).
 * @typedef {Record<string, string | number | boolean | EventListener | null | undefined>} Attrs
 */

/**
 * Create an element with attributes (see `Attrs`) and children (null ones skipped).
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Attrs | null} [attrs]
 * @param {...(Node | string | null | undefined)} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'class') el.className = /** @type {string} */ (v);
      else if (k === 'text') el.textContent = /** @type {string} */ (v);
      else el.setAttribute(k, v === true ? '' : /** @type {string} */ (v));
    }
  }
  for (const c of children) if (c != null) el.append(c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * A small decorative 24x24 stroke icon from one path string.
 * @param {string} d
 */
export function icon(d) {
  const svg = document.createElementNS(SVG_NS, 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  const p = document.createElementNS(SVG_NS, 'path');
  p.setAttribute('d', d);
  svg.append(p);
  return svg;
}

/**
 * A button of the panel's own chrome (header, composer, Jump to latest): an icon and,
 * when given, a visible text. It is a Tab stop.
 * @param {Attrs} attrs
 * @param {string} d the icon's path
 * @param {string} [text]
 */
export const iconButton = (attrs, d, text) =>
  h('button', { type: 'button', ...attrs }, icon(d), text ? h('span', { text }) : null);

/**
 * A control inside the transcript: a button that is no Tab stop of its own (the
 * transcript is one; arrow keys reach it, see keyboard.js).
 * @param {string} cls
 * @param {string} text
 * @param {(() => unknown) | null} onclick
 * @param {Attrs} [attrs]
 */
export const control = (cls, text, onclick, attrs) =>
  h('button', { class: cls, type: 'button', tabindex: '-1', text, onclick, ...attrs });

/**
 * `el` taken out of the Tab order (a link or scroller inside the transcript); returns it.
 * @template {Element} E
 * @param {E} el
 * @returns {E}
 */
export function noTabStop(el) {
  el.setAttribute('tabindex', '-1');
  return el;
}

// Reading trait values, which may be anything a kernel (or a saved notebook) sent.

/** `v` as a string, '' for null and undefined. @param {unknown} v */
export const str = (v) => (v == null ? '' : String(v));

/**
 * `v` when it is an array, else an empty one.
 * @template T
 * @param {T[] | null | undefined} v
 * @returns {T[]}
 */
export const arr = (v) => (Array.isArray(v) ? v : []);

/**
 * `v` when it is a plain object (not an array), else an empty one.
 * @template {object} T
 * @param {T | null | undefined} v
 * @returns {Partial<T>}
 */
export const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

// Setters that leave the DOM alone when nothing changes (no needless mutations or
// style invalidation on every streaming frame).

/** @param {Node} el @param {string} text */
export const setText = (el, text) => {
  if (el.textContent !== text) el.textContent = text;
};

/** Show or hide `el` (the `hidden` attribute). @param {HTMLElement} el @param {boolean} on */
export const show = (el, on) => {
  if (el.hidden === on) el.hidden = !on;
};

/** Set an attribute, or remove it when `value` is null. @param {Element} el @param {string} name @param {string | null} value */
export const setAttr = (el, name, value) => {
  if (value == null) el.removeAttribute(name);
  else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
};

/** Enable or disable a button. @param {HTMLButtonElement} el @param {boolean} off */
export const setDisabled = (el, off) => {
  if (el.disabled !== off) el.disabled = off;
};

// Agent URLs.

/**
 * Where an agent's link may point: http(s), mailto: and tel: URLs. A
 * protocol-relative `//host/x` becomes `https://host/x`. Anything else
 * (javascript:, data:, vbscript:, file:, relative paths, ...) gives null, and
 * the caller shows the link as text.
 * @param {unknown} u
 * @returns {string | null}
 */
export function safeHref(u) {
  if (typeof u !== 'string') return null;
  const t = u.trim();
  if (/^\/\/[^/\\\s]/.test(t)) return 'https:' + t;
  return /^(?:https?:\/\/[^/\\\s]|mailto:[^\s]|tel:[+\d(])/i.test(t) ? t : null;
}

/**
 * @typedef {{kind: 'img', src: string, href?: undefined}
 *   | {kind: 'link', href: string, src?: undefined}
 *   | {kind: 'none', src?: undefined, href?: undefined}} ImageSource
 */

/**
 * How an agent's image may be shown: `{kind: 'img', src}` for https: (and
 * `//host`, read as https:), `{kind: 'link', href}` for http: (shown as a
 * link, never loaded), `{kind: 'none'}` for data: and anything else.
 * @param {unknown} u
 * @returns {ImageSource}
 */
export function imageSource(u) {
  const href = safeHref(typeof u === 'string' ? u : '');
  if (href && /^https:/i.test(href)) return { kind: 'img', src: href };
  if (href && /^http:/i.test(href)) return { kind: 'link', href };
  return { kind: 'none' };
}

/** The neutral text shown instead of an image that is not loaded. @param {unknown} alt */
export const imagePlaceholder = (alt) => (alt && String(alt).trim() ? `[image: ${String(alt).trim()}]` : '[image]');

/**
 * An <a> that always opens in a new tab without opener/referrer.
 * @param {string} href @param {string} text @param {string} [cls]
 */
export function extLink(href, text, cls) {
  return h('a', { class: cls, href: href.trim(), target: '_blank', rel: 'noopener noreferrer', text });
}

/**
 * Copy text to the clipboard; falls back to a hidden textarea + execCommand. True when copied.
 * @param {string} text
 */
export async function copyText(text) {
  try {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through to the legacy path */
  }
  const ta = h('textarea', {
    readonly: true,
    'aria-hidden': 'true',
    tabindex: '-1',
    style: 'position:fixed;top:0;left:-9999px;opacity:0',
  });
  ta.value = text;
  const back = /** @type {HTMLElement | null} */ (document.activeElement);
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  if (back && back.focus) back.focus({ preventScroll: true });
  return ok;
}

// Model events.

/**
 * Listen to the model: `handlers` maps event names ('change:status', 'msg:custom', ...)
 * to functions, added in that order. Returns the function that removes them all.
 * @param {Pick<Model, 'on' | 'off'>} model
 * @param {Record<string, (...args: any[]) => void>} handlers
 */
export function listen(model, handlers) {
  const list = Object.entries(handlers);
  for (const [name, f] of list) model.on(name, f);
  return () => {
    for (const [name, f] of list) model.off(name, f);
  };
}

// Time.

/** @param {() => void} cb @returns {number} */
export const raf = (cb) =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(cb) : setTimeout(cb, 16);
/** @param {number} id */
export const caf = (id) =>
  typeof cancelAnimationFrame === 'function' ? cancelAnimationFrame(id) : clearTimeout(id);

export const now = () =>
  typeof performance !== 'undefined' && performance.now ? performance.now() : Date.now();
