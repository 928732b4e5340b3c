// Markdown -> sanitized DOM. marked parses, DOMPurify sanitizes (always).
//
// Agent replies are markdown, not HTML: raw HTML in them is shown as text,
// as in most chat UIs. marked is told not to recognise HTML at all (no `html`
// block or `tag` inline tokens), so `<style>`, `<script>` or
// `<div class="jp-Dialog">` in a reply are ordinary text, markdown around
// them still renders, and a blank line always ends a block (which keeps the
// streamed and the finished render the same, see split.js). Our renderer
// overrides write every element and attribute that can reach the DOM, and
// DOMPurify, with an allowlist of exactly those, is the second line of defence.
import { Marked } from 'marked';
import DOMPurify from 'dompurify';
import { h, safeHref, imageSource, imagePlaceholder } from './dom.js';

/** @type {Record<string, string>} */
const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
/** Escape text for HTML (content or a double-quoted attribute). @param {unknown} s */
export const escapeHtml = (s) => String(s ?? '').replace(/[&<>"']/g, (c) => ENTITIES[c]);

/** The language label of a fenced code block's info string ('' when none). @param {unknown} info */
export function codeLang(info) {
  return (String(info ?? '').trim().match(/^[\w+#.-]+/) || [''])[0].slice(0, 32);
}
const LANG_CLASS = /^language-[\w+#.-]{1,32}$/;

/** A URL as an attribute value: percent-encoded like marked does; null if it cannot be. @param {string | null | undefined} u */
function attrUrl(u) {
  if (!u) return null;
  try {
    return escapeHtml(encodeURI(u).replace(/%25/g, '%'));
  } catch {
    return null; // e.g. a lone surrogate
  }
}
/** @param {string | null | undefined} t */
const titleAttr = (t) => (t ? ` title="${escapeHtml(t)}"` : '');

let inLink = 0; // > 0 while rendering a link's text (no link may nest in it)

const md = new Marked(
  { gfm: true, breaks: false, async: false },
  {
    // No raw HTML tokens: the text falls through to paragraphs and inline text.
    tokenizer: {
      html: () => undefined,
      tag: () => undefined,
    },
    renderer: {
      // Not reached while the tokenizers above are off; if it ever is, text.
      html: ({ text, block }) => (block ? `<p>${escapeHtml(String(text).trim())}</p>\n` : escapeHtml(text)),
      code({ text, lang }) {
        const l = codeLang(lang);
        const body = text ? text.replace(/\n$/, '') + '\n' : '';
        return `<pre><code${l ? ` class="language-${l}"` : ''}>${escapeHtml(body)}</code></pre>\n`;
      },
      link({ href, title, text, tokens, autolink }) {
        inLink++;
        let inner;
        try {
          inner = autolink || !tokens ? escapeHtml(text) : this.parser.parseInline(tokens);
        } finally {
          inLink--;
        }
        const url = inLink ? null : attrUrl(safeHref(href));
        return url ? `<a href="${url}"${titleAttr(title)}>${inner}</a>` : inner;
      },
      image({ href, title, text, tokens }) {
        const alt = tokens ? this.parser.parseInline(tokens, this.parser.textRenderer) : String(text ?? '');
        const s = imageSource(href);
        const url = attrUrl(s.src || s.href);
        if (url && s.kind === 'img') {
          return `<img src="${url}" alt="${escapeHtml(alt)}"${titleAttr(title)}>`;
        }
        if (url && s.kind === 'link' && !inLink) {
          // http: images are not loaded: a link to them instead.
          return `<a href="${url}"${titleAttr(title)}>${escapeHtml(alt.trim() || s.href)}</a>`;
        }
        return escapeHtml(imagePlaceholder(alt));
      },
    },
  },
);

// Exactly what the renderer above can produce, nothing more.
const CONFIG = {
  ALLOWED_TAGS: [
    'p', 'br', 'hr', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'blockquote', 'pre', 'code', 'ul', 'ol', 'li',
    'input', 'table', 'thead', 'tbody', 'tr', 'th', 'td', 'strong', 'em', 'del', 'a', 'img',
  ],
  ALLOWED_ATTR: ['href', 'title', 'src', 'alt', 'align', 'start', 'type', 'checked', 'disabled'],
  // Belt and braces: never agent styling, identity or behaviour, whatever the lists above say.
  FORBID_TAGS: [
    'style', 'script', 'svg', 'math', 'form', 'button', 'textarea', 'select', 'option', 'optgroup', 'iframe',
    'frame', 'frameset', 'object', 'embed', 'applet', 'base', 'link', 'meta', 'template', 'dialog', 'audio',
    'video', 'source', 'track', 'picture', 'map', 'area',
  ],
  FORBID_ATTR: [
    'class', 'id', 'name', 'style', 'srcset', 'action', 'formaction', 'autofocus', 'download', 'ping', 'target',
    'rel', 'referrerpolicy', 'loading',
  ],
  // href and src: these schemes only. The other attributes hold no URL.
  ALLOWED_URI_REGEXP: /^(?:https?:|mailto:|tel:)/i,
  ADD_URI_SAFE_ATTR: ['align', 'start', 'type', 'checked', 'disabled'],
  ALLOW_DATA_ATTR: false,
  ALLOW_ARIA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

let ready = false;
function setup() {
  ready = true;
  DOMPurify.setConfig(CONFIG);
  DOMPurify.addHook('uponSanitizeAttribute', (node, data) => {
    // The one class marked writes: the language of a code block (a label is shown later).
    if (data.attrName === 'class' && node.nodeName === 'CODE' && LANG_CLASS.test(data.attrValue)) {
      data.forceKeepAttr = true;
    }
  });
  DOMPurify.addHook('afterSanitizeAttributes', (node) => {
    const tag = node.nodeName;
    if (tag === 'A' && node.hasAttribute('href')) {
      node.setAttribute('target', '_blank');
      node.setAttribute('rel', 'noopener noreferrer');
    } else if (tag === 'IMG') {
      // Images load from https: only, lazily and without a referrer.
      if (imageSource(node.getAttribute('src')).kind !== 'img') node.remove();
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

/** Sanitize an HTML string into a DocumentFragment. @param {string} html @returns {DocumentFragment} */
export function sanitize(html) {
  if (!ready) setup();
  // A fragment: setup() set RETURN_DOM_FRAGMENT, which DOMPurify's types cannot see.
  return /** @type {DocumentFragment} */ (/** @type {unknown} */ (DOMPurify.sanitize(html)));
}

// Limits that keep a hostile reply from overflowing the stack or freezing the page:
// marked nests a call per quote or list level (5,000 levels overflow; indented lists
// cost more than the square of their depth), and its time and the DOM's grow with
// a block's size. Beyond them the text is shown as text.
export const MAX_DEPTH = 16; // quotes and list items nested in one another
export const MAX_INDENT = 40; // columns of indentation kept at a line's start
export const MAX_COLUMNS = 64; // table columns
export const MAX_EMPHASIS = 64; // emphasis runs that may open a span, per paragraph
export const MAX_MARKS = 2000; // `*`, `_`, `~` and `[` in one block, outside code
export const MAX_SOURCE = 100_000; // characters of one block rendered as markdown
const PLAIN_PIECE = 8000; // characters per paragraph of text shown plain

const ORDERED = /\d{1,9}[.)](?=[ \t]|$)/y;

/**
 * One line with its container prefix bounded: the quote or list marker past
 * MAX_DEPTH is escaped (it and what follows are text), indentation past
 * MAX_INDENT columns is dropped. Only the prefix is read. @param {string} line
 */
function boundLine(line) {
  let out = '';
  let from = 0; // line[from..i] not yet copied to `out`
  let col = 0;
  let depth = 0;
  for (let i = 0; i < line.length; ) {
    const c = line[i];
    if (c === ' ' || c === '\t') {
      col += c === ' ' ? 1 : 4 - (col % 4);
      if (col > MAX_INDENT) {
        out += line.slice(from, i);
        from = i + 1; // dropped
      }
      i++;
      continue;
    }
    let m = 0;
    if (c === '>') m = 1;
    else if (c === '-' || c === '+' || c === '*') m = /[ \t]/.test(line[i + 1] ?? ' ') ? 1 : 0;
    else if (c >= '0' && c <= '9') {
      ORDERED.lastIndex = i;
      m = ORDERED.test(line) ? ORDERED.lastIndex - i : 0;
    }
    if (!m) break;
    if (++depth > MAX_DEPTH) return out + line.slice(from, i + m - 1) + '\\' + line.slice(i + m - 1);
    i += m;
    col += m;
  }
  return from ? out + line.slice(from) : line;
}

/** A table's delimiter row with more than MAX_COLUMNS cells. @param {string} line */
const wideDelimiter = (line) =>
  line.length > MAX_COLUMNS * 2 && /^[ \t|:-]+$/.test(line) && line.split('|').length > MAX_COLUMNS + 2;

// A run of emphasis or strikethrough characters that may open a span (nested spans
// cost marked time that grows with the square of their depth, and its stack).
const OPENER = /(^|[\s([{>])([*_~]+)(?=[^\s*_~])/g;
const FENCE_LINE = /^[ \t>]*(?:```|~~~)/;

/**
 * `src` with its nesting bounded before the parser sees it: quotes and lists at most
 * MAX_DEPTH deep (deeper markers shown as text), at most MAX_EMPHASIS emphasis runs
 * that may open a span per paragraph (later ones escaped), and tables wider than
 * MAX_COLUMNS shown as text (their delimiter row escaped). @param {string} src
 */
export function boundMarkdown(src) {
  if (!/[>\-+*_~\d\t|]|  /.test(src)) return src;
  let fenced = false;
  let openers = 0;
  /** @param {string} line */
  const bound = (line) => {
    if (FENCE_LINE.test(line)) fenced = !fenced;
    if (fenced) return boundLine(line);
    if (!line.trim()) openers = 0;
    if (wideDelimiter(line)) return '\\' + line;
    const out = boundLine(line);
    return /[*_~]/.test(out)
      ? out.replace(OPENER, (m, pre, run) => (++openers > MAX_EMPHASIS ? pre + run.replace(/./g, '\\$&') : m))
      : out;
  };
  return src.split('\n').map(bound).join('\n');
}

/**
 * True when `src` has more than MAX_MARKS emphasis and link characters outside code
 * fences: marked's time grows with them (5,000 nested `_` take it about a second).
 * @param {string} src
 */
function tooMarked(src) {
  let n = 0;
  let fenced = false;
  for (const line of src.split('\n')) {
    if (FENCE_LINE.test(line)) fenced = !fenced;
    else if (!fenced) for (const c of line) if ((c === '*' || c === '_' || c === '~' || c === '[') && ++n > MAX_MARKS) return true;
  }
  return false;
}

/**
 * `text` as plain text, in paragraphs of at most PLAIN_PIECE characters (cut at a line
 * break when there is one), after a note that says why.
 * @param {string} text @param {string} why
 */
function plainText(text, why) {
  const frag = document.createDocumentFragment();
  frag.append(h('p', { class: 'cw-plain-note', text: `Shown as plain text: ${why}.` }));
  for (let at = 0; at < text.length; ) {
    let end = Math.min(text.length, at + PLAIN_PIECE);
    const nl = end < text.length ? text.lastIndexOf('\n', end) : -1;
    if (nl > at) end = nl;
    else if (/[\uD800-\uDBFF]/.test(text[end - 1] ?? '')) end--; // keep a surrogate pair whole
    frag.append(h('p', { class: 'cw-plain', text: text.slice(at, end) }));
    at = end === nl ? end + 1 : end;
  }
  return frag;
}

/** One markdown source as sanitized DOM, or as plain text when it is too big or too odd to format. @param {string} s */
function renderOne(s) {
  if (s.length > MAX_SOURCE) return plainText(s, `this part of the reply is too long to format (${s.length.toLocaleString('en')} characters)`);
  if (tooMarked(s)) return plainText(s, `this part of the reply has too much markup to format (over ${MAX_MARKS.toLocaleString('en')} of *, _, ~ and [)`);
  try {
    return sanitize(md.parser(md.lexer(boundMarkdown(s))));
  } catch {
    return plainText(s, 'this part of the reply could not be formatted');
  }
}

/**
 * Render markdown to a sanitized DocumentFragment. Given an array, each
 * source is lexed on its own (as separate documents) but parsed and sanitized
 * in one go, so rendering blocks together or one by one gives the same DOM.
 * A source too big (MAX_SOURCE) or too deep to format is shown as text.
 * @param {unknown} src markdown, or an array of markdown sources
 */
export function renderMarkdown(src) {
  const list = (Array.isArray(src) ? src : [src]).map((s) => String(s ?? ''));
  const each = () => {
    const frag = document.createDocumentFragment();
    for (const s of list) frag.append(renderOne(s));
    return frag;
  };
  let frag;
  if (list.some((s) => s.length > MAX_SOURCE || tooMarked(s))) frag = each();
  else {
    try {
      frag = sanitize(md.parser(list.flatMap((s) => md.lexer(boundMarkdown(s)))));
    } catch {
      frag = each(); // one of them cannot be formatted: the others still are
    }
  }
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
 * @param {Element} code
 * @param {string} text
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
  while (kids.length > chunks.length) code.lastElementChild?.remove();
}

/** Convenience for tests and one-shot rendering: sanitized HTML string. @param {unknown} src */
export function markdownToHtml(src) {
  const box = document.createElement('div');
  box.append(renderMarkdown(src));
  return box.innerHTML;
}
