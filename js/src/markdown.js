// Markdown -> sanitized DOM. marked parses, DOMPurify sanitizes (always).
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import { isImageUrl, h } from './dom.js';

const md = new Marked({ gfm: true, breaks: false, async: false });

// HTML profile only (no SVG / MathML), minus anything interactive or embedding.
const CONFIG = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: [
    'style', 'form', 'button', 'textarea', 'select', 'option', 'optgroup', 'iframe', 'frame',
    'frameset', 'object', 'embed', 'applet', 'base', 'link', 'meta', 'template', 'dialog',
    'audio', 'video', 'source', 'track', 'picture', 'map', 'area',
  ],
  FORBID_ATTR: ['style', 'srcset', 'action', 'formaction', 'autofocus'],
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

let ready = false;
function setup() {
  ready = true;
  DOMPurify.setConfig(CONFIG);
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    const tag = node.nodeName;
    if (tag === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    } else if (tag === 'IMG') {
      // Images only from http(s) or data:image URLs; anything else is dropped.
      if (!isImageUrl(node.getAttribute('src'))) node.remove();
      else {
        node.setAttribute('loading', 'lazy');
        node.setAttribute('referrerpolicy', 'no-referrer');
      }
    } else if (tag === 'INPUT') {
      // Only GFM task-list checkboxes, read-only.
      if ((node.getAttribute('type') || '').toLowerCase() !== 'checkbox') node.remove();
      else node.setAttribute('disabled', '');
    }
  });
}

/** Sanitize an HTML string into a DocumentFragment. */
export function sanitize(html) {
  if (!ready) setup();
  return DOMPurify.sanitize(html);
}

/**
 * Render markdown to a sanitized DocumentFragment. Given an array, each
 * source is lexed on its own (as separate documents) but parsed and sanitized
 * in one go, so rendering blocks together or one by one gives the same DOM.
 */
export function renderMarkdown(src) {
  const list = Array.isArray(src) ? src : [src];
  const frag = sanitize(md.parser(list.flatMap((s) => md.lexer(String(s ?? '')))));
  for (const code of frag.querySelectorAll('pre > code')) {
    if (!code.firstElementChild) fillCode(code, code.textContent);
  }
  return frag;
}

const LINES = 100;

/**
 * Put `text` into a <code> element. Long code is split into blocks of LINES
 * lines (span.cw-lines, display:block), so updating the end of a growing
 * code block only re-lays out its last part. Unchanged parts are kept.
 */
export function fillCode(code, text) {
  const chunks = [];
  let start = 0;
  let n = 0;
  for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', nl + 1)) {
    if (++n % LINES === 0) {
      chunks.push(text.slice(start, nl + 1));
      start = nl + 1;
    }
  }
  if (start < text.length || !chunks.length) chunks.push(text.slice(start));
  const kids = code.children;
  if (chunks.length === 1) {
    if (kids.length || code.textContent !== text) code.textContent = text;
    return;
  }
  if (!kids.length) code.textContent = '';
  chunks.forEach((c, i) => {
    if (!kids[i]) code.append(h('span', { class: 'cw-lines', text: c }));
    else if (kids[i].textContent !== c) kids[i].textContent = c;
  });
  while (kids.length > chunks.length) code.lastElementChild.remove();
}

/** Convenience for tests and one-shot rendering: sanitized HTML string. */
export function markdownToHtml(src) {
  const box = document.createElement('div');
  box.append(renderMarkdown(src));
  return box.innerHTML;
}
