// Incremental markdown renderer for one message body.
//
// The text is split (see split.js) into a committed part, rendered once in
// pieces and appended, and an open tail re-rendered on each update. Work is
// time-sliced: committing stops when the current slice budget is spent and
// resumes in a later frame with the other panels (frame.js), so a 100k-character
// message never blocks the main thread for long.
import { renderMarkdown, fillCode, codeLang, MAX_SOURCE } from './markdown.js';
import { createScanner, scan, closesFence } from './split.js';
import { raf, h } from './dom.js';
import { sliceSpent, charge, drawSoon, cancelDraw } from './frame.js';
import { enhance, codeBlock } from './enhance.js';
import { morph } from './morph.js';

/** @import { Scanner } from './split.js' */

/** @param {string | string[]} src */
const render = (src) => {
  charge(Array.isArray(src) ? src.reduce((n, s) => n + s.length, 0) : src.length);
  return enhance(renderMarkdown(src));
};

// Text in which markdown sees no markup: letters, digits, spaces and prose punctuation
// on one line, and no `www.` (an autolink). A paragraph of it renders as <p>text</p>.
const PLAIN = /^[\p{L}\p{N}\p{M} ,.;:?!'"()-]*$/u;
/** @param {string} s */
const plain = (s) => PLAIN.test(s) && !/www\./i.test(s);

const PIECE = 3000; // max characters rendered in one go (when points allow)
const PAGE = 8000; // committed blocks are grouped into pages of about this size

export class MdStream {
  /** @param {HTMLElement} el container */
  constructor(el) {
    this.el = el;
    this.resume = () => this.pump();
    // Set by reset():
    /** @type {Scanner} */
    this.sc;
    /** @type {string} the text shown */
    this.text;
    /** @type {string} the part of it the scanner has seen */
    this.scanned;
    /** @type {number} length of the committed, rendered prefix */
    this.done;
    /** @type {number} next unused index into sc.points */
    this.pi;
    /** @type {string | null} tail source currently shown */
    this.tail;
    /** @type {ChildNode[]} */
    this.tailNodes;
    /** @type {number} */
    this.pageLen;
    this.reset();
  }

  reset() {
    cancelDraw(this.resume);
    this.sc = createScanner();
    this.text = '';
    this.scanned = '';
    this.done = 0; // length of the committed, rendered prefix
    this.pi = 0; // next unused index into sc.points
    this.tail = null; // tail source currently shown
    this.tailNodes = [];
    this.code = null; // fast-path <code> of an open top-level fence
    /** @type {Text | null} the text of a tail that is one paragraph of plain words */
    this.words = null;
    this.table = null; // last committed element, when it is a <table>
    this.page = null; // current page (div.cw-page) receiving committed blocks
    this.pageLen = 0;
    this.el.replaceChildren();
  }

  /** Show `text` (normally the previous text plus an appended suffix). @param {unknown} text */
  set(text) {
    const t = String(text ?? '');
    if (t === this.text) return;
    if (!t.startsWith(this.scanned)) this.reset();
    this.text = t;
    scan(this.sc, t);
    this.scanned = t.slice(0, this.sc.pos + 1); // + the char a peeked point used
    this.pump();
  }

  /** True while committed pieces are still waiting to be rendered. */
  get busy() {
    return this.pi < this.sc.points.length;
  }

  pump() {
    cancelDraw(this.resume);
    const pts = this.sc.points;
    const heads = this.sc.heads;
    let did = false;
    while (this.pi < pts.length) {
      if (did && sliceSpent()) {
        drawSoon(this.resume);
        break;
      }
      this.clearTail();
      const head = heads.get(this.done);
      let end = this.done;
      if (head && this.table) {
        // Body rows of the last table: rendered under its header, moved in.
        do end = pts[this.pi++];
        while (this.pi < pts.length && heads.get(end) === head && end - this.done < PIECE);
        this.addRows(head, this.text.slice(this.done, end), /** @type {HTMLElement} */ (this.page)); // the table's page
        this.pageLen += end - this.done;
      } else {
        // Committed blocks go into pages of about PAGE characters; page breaks
        // depend only on block sizes, so streamed and one-shot rendering give
        // the same DOM.
        if (!this.page || this.pageLen >= PAGE) {
          const done = this.page;
          // A finished page may be skipped by the browser when off-screen,
          // but only after it has been rendered once (its size is then known
          // and text queries such as innerText see it from the start).
          if (done) raf(() => raf(() => done.classList.add('cw-cv')));
          this.page = this.el.appendChild(h('div', { class: 'cw-page' }));
          this.pageLen = 0;
        }
        // Each committed block is lexed on its own, several per render call.
        const srcs = [];
        do {
          const next = pts[this.pi++];
          srcs.push(this.text.slice(end, next));
          this.pageLen += next - end;
          end = next;
        } while (this.pi < pts.length && !heads.has(end) && end - this.done < PIECE && this.pageLen < PAGE);
        const frag = render(srcs);
        const last = frag.lastElementChild;
        this.table = last && last.tagName === 'TABLE' ? /** @type {HTMLTableElement} */ (last) : null;
        this.page.append(frag);
      }
      this.done = end;
      did = true;
    }
    if (!this.busy) this.renderTail();
  }

  /**
   * Render table body rows (with their table's header) and move the rows into
   * the last committed table. Anything else the rows turned into is appended
   * to `parent`. Returns the nodes added. Only while `this.table` is set.
   * @param {string} head @param {string} rows @param {ParentNode} parent
   * @returns {ChildNode[]}
   */
  addRows(head, rows, parent) {
    const table = /** @type {HTMLTableElement} */ (this.table);
    const frag = render(head + rows);
    const t = frag.querySelector('table');
    /** @type {ChildNode[]} */
    const trs = t ? [...t.querySelectorAll('tbody > tr')] : [];
    if (t) t.remove();
    let body = table.tBodies[0];
    if (trs.length && !body) body = table.appendChild(h('tbody'));
    if (body) body.append(...trs);
    const rest = [...frag.childNodes].filter((n) => n.nodeType === 1 || /** @type {string} */ (n.textContent).trim());
    parent.append(...rest);
    return trs.concat(rest);
  }

  clearTail() {
    for (const n of this.tailNodes) n.remove();
    this.tailNodes = [];
    this.tail = null;
    this.code = null;
    this.words = null;
  }

  renderTail() {
    const tail = this.text.slice(this.done);
    if (tail === this.tail) return;
    const f = this.sc.fence;
    // Fast path: the tail is exactly one still-open top-level code fence.
    // Render it as plain text instead of re-parsing it on every update.
    if (
      f && f.top && f.start === this.done &&
      !closesFence(this.text.slice(this.sc.pos).trimStart(), f)
    ) {
      const body = tail.slice(tail.indexOf('\n') + 1);
      if (!this.code) {
        this.clearTail();
        const lang = codeLang(f.info); // as markdown.js labels the finished block
        this.code = h('code', { class: lang ? 'language-' + lang : null });
        const block = codeBlock(h('pre', null, this.code), lang);
        (this.page || this.el).append(block);
        this.tailNodes = [block];
      }
      fillCode(this.code, body);
      this.tail = tail;
      return;
    }
    const head = this.sc.heads.get(this.done);
    // The tail goes into the last page, next to the blocks it continues.
    const parent = this.page || this.el;
    if (head && this.table) {
      this.clearTail();
      this.tailNodes = this.addRows(head, tail, parent);
      this.tail = tail;
      return;
    }
    // A paragraph of plain words grows by appending the new ones to its text: rendering
    // it again would cost the whole paragraph on every update.
    const old = this.tail;
    if (this.words && old != null && tail.length <= MAX_SOURCE && tail.startsWith(old) && plain(old.slice(-3) + tail.slice(old.length))) {
      charge(tail.length); // the browser lays the whole paragraph out again
      this.words.appendData(tail.slice(old.length));
      this.tail = tail;
      return;
    }
    const frag = render(tail);
    // The tail drawn last time is updated in place (morph.js) unless it was a code
    // fence's fast path or table rows moved into their table.
    if (this.code || !this.tailNodes.every((n) => n.parentNode === parent)) this.clearTail();
    this.tailNodes = morph(parent, this.tailNodes, frag);
    this.tail = tail;
    const [p] = this.tailNodes;
    const words = p && p.nodeName === 'P' && this.tailNodes.length <= 2 ? p.lastChild : null;
    this.words = words && words.nodeType === 3 && /^\p{L}/u.test(tail) && plain(tail) ? /** @type {Text} */ (words) : null;
  }

  destroy() {
    cancelDraw(this.resume);
  }
}
