// What the panel adds to sanitized markdown (markdown.js stays markdown -> safe DOM):
// code blocks get a header with their language and a "Copy code" button, and light
// syntax colours; links, code blocks and tables inside the transcript get
// tabindex=-1, so the transcript is one Tab stop (arrow keys move inside, see keyboard.js).
import { h } from './dom.js';
import { paint } from './syntax.js';

/** The language of a <code> element from its `language-*` class ('' when none). @param {Element} code */
export function codeLanguage(code) {
  const m = /(?:^|\s)language-(\S+)/.exec(code.className || '');
  return m ? m[1] : '';
}

/**
 * The panel's frame around a <pre>: a header with the language label and a Copy code
 * button (handled by the view, which copies exactly the code), then the <pre>.
 * @param {HTMLElement} pre
 * @param {string} lang
 */
export function codeBlock(pre, lang) {
  pre.setAttribute('tabindex', '-1');
  return h(
    'div',
    { class: 'cw-code' },
    h(
      'div',
      { class: 'cw-code-head' },
      h('span', { class: 'cw-code-lang', text: lang }),
      h('button', { class: 'cw-copy-code', type: 'button', tabindex: '-1', text: 'Copy code' }),
    ),
    pre,
  );
}

/** Decorate a fragment rendered by renderMarkdown, in place; returns it. @param {DocumentFragment} frag */
export function enhance(frag) {
  for (const a of frag.querySelectorAll('a[href]')) a.setAttribute('tabindex', '-1');
  for (const t of frag.querySelectorAll('table')) t.setAttribute('tabindex', '-1');
  for (const code of frag.querySelectorAll('pre > code')) {
    const pre = /** @type {HTMLElement} */ (code.parentNode);
    const lang = codeLanguage(code);
    const lines = code.querySelectorAll('.cw-lines');
    if (lines.length) lines.forEach((part) => paint(part, lang));
    else paint(code, lang);
    const parent = /** @type {ParentNode} */ (pre.parentNode);
    const next = pre.nextSibling;
    parent.insertBefore(codeBlock(pre, lang), next); // codeBlock moves the <pre> into its frame
  }
  return frag;
}

/** The code of a code block (exactly what was between the fences, no final newline). @param {Element | null} block */
export function codeText(block) {
  const code = block && block.querySelector('pre > code');
  return code ? code.textContent.replace(/\n$/, '') : '';
}
