// Tiny DOM helpers shared by the view modules.

/**
 * Create an element. `attrs` keys: "class" -> className, "text" -> textContent,
 * "on<event>" -> listener, everything else -> setAttribute (skipped when
 * null/undefined/false; `true` sets an empty attribute).
 */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const k in attrs) {
      const v = attrs[k];
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'text') el.textContent = v;
      else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
      else el.setAttribute(k, v === true ? '' : v);
    }
  }
  for (const c of children) if (c != null) el.append(c);
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/** A small decorative 24x24 stroke icon from one path string. */
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
 * Where an agent's link may point: http(s), mailto: and tel: URLs. A
 * protocol-relative `//host/x` becomes `https://host/x`. Anything else
 * (javascript:, data:, vbscript:, file:, relative paths, ...) gives null, and
 * the caller shows the link as text.
 */
export function safeHref(u) {
  if (typeof u !== 'string') return null;
  const t = u.trim();
  if (/^\/\/[^/\\\s]/.test(t)) return 'https:' + t;
  return /^(?:https?:\/\/[^/\\\s]|mailto:[^\s]|tel:[+\d(])/i.test(t) ? t : null;
}

/**
 * How an agent's image may be shown: `{kind: 'img', src}` for https: (and
 * `//host`, read as https:), `{kind: 'link', href}` for http: (shown as a
 * link, never loaded), `{kind: 'none'}` for data: and anything else.
 */
export function imageSource(u) {
  const href = safeHref(typeof u === 'string' ? u : '');
  if (href && /^https:/i.test(href)) return { kind: 'img', src: href };
  if (href && /^http:/i.test(href)) return { kind: 'link', href };
  return { kind: 'none' };
}

/** The neutral text shown instead of an image that is not loaded. */
export const imagePlaceholder = (alt) => (alt && String(alt).trim() ? `[image: ${String(alt).trim()}]` : '[image]');

/** An <a> that always opens in a new tab without opener/referrer. */
export function extLink(href, text, cls) {
  return h('a', { class: cls, href: href.trim(), target: '_blank', rel: 'noopener noreferrer', text });
}

/** Copy text to the clipboard; falls back to a hidden textarea + execCommand. True when copied. */
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
  const back = document.activeElement;
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

export const raf = (cb) =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(cb) : setTimeout(cb, 16);
export const caf = (id) =>
  typeof cancelAnimationFrame === 'function' ? cancelAnimationFrame(id) : clearTimeout(id);

export const now = () =>
  typeof performance !== 'undefined' && performance.now ? performance.now() : Date.now();
