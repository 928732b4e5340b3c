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

/** http(s) URLs only (for links opened in a new tab). */
export function isHttpUrl(u) {
  return typeof u === 'string' && /^https?:\/\/\S/i.test(u.trim());
}

/** http(s) or data:image URLs (for images). */
export function isImageUrl(u) {
  return typeof u === 'string' && /^(?:https?:\/\/\S|data:image\/)/i.test(u.trim());
}

/** An <a> that always opens in a new tab without opener/referrer. */
export function extLink(href, text, cls) {
  return h('a', { class: cls, href: href.trim(), target: '_blank', rel: 'noopener noreferrer', text });
}

export const raf = (cb) =>
  typeof requestAnimationFrame === 'function' ? requestAnimationFrame(cb) : setTimeout(cb, 16);
export const caf = (id) =>
  typeof cancelAnimationFrame === 'function' ? cancelAnimationFrame(id) : clearTimeout(id);

export const now = () =>
  typeof performance !== 'undefined' && performance.now ? performance.now() : Date.now();
