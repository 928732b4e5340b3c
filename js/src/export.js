// Export: a header button opening a small menu, "Markdown" / "JSON". The kernel makes
// the text (exactly `to_markdown()` / `to_json()`) and answers with the custom message
// `{type: 'export', request, filename, mime, text}`; the view that asked downloads it
// through a Blob URL. When the kernel is gone Export reads as disabled and says why:
// the text is the kernel's, and the saved copy under the panel keeps the conversation.
import { h, iconButton, setAttr, show, listen } from './dom.js';

/** @import { Model, PanelState } from './types.js' */
/** @import { Tool } from './header.js' */

const ICON_EXPORT = 'M12 4v11M7.5 10.5 12 15l4.5-4.5M5 19h14';
const FORMATS = [
  ['markdown', 'Markdown'],
  ['json', 'JSON'],
];
export const EXPORT_OFFLINE = 'Export needs the kernel: run the cell again (the copy under the panel keeps this conversation).';
let requests = 0;

/**
 * The Export tool; `ask(format, request)` sends the request (false when it did not go out).
 * @param {Model} model
 * @param {(format: 'markdown' | 'json', request: string) => boolean} ask
 * @param {(text: string) => void} announce
 * @returns {Tool & {dispose: () => void}}
 */
export function exportTool(model, ask, announce) {
  const button = iconButton(
    { class: 'cw-tool cw-export', 'aria-haspopup': 'menu', 'aria-expanded': 'false', title: 'Export the conversation' },
    ICON_EXPORT,
    'Export',
  );
  const items = FORMATS.map(([format, label]) =>
    h('button', { type: 'button', role: 'menuitem', tabindex: '-1', class: 'cw-menu-item', 'data-format': format, text: label }),
  );
  const menu = h('div', { class: 'cw-menu', role: 'menu', 'aria-label': 'Export as', hidden: true }, ...items);
  /** @type {Set<string>} requests of this view still waiting for the kernel */
  const waiting = new Set();
  let offline = false;

  const toggle = (/** @type {boolean} */ open, focusIndex = 0) => {
    show(menu, open);
    setAttr(button, 'aria-expanded', String(open));
    if (open) items[focusIndex].focus();
  };
  const pick = (/** @type {'markdown' | 'json'} */ format) => {
    toggle(false);
    button.focus();
    const request = `cw-export-${++requests}`;
    if (ask(format, request)) {
      waiting.add(request);
      announce('Preparing the download');
    }
  };
  button.addEventListener('click', () => {
    if (offline) announce(EXPORT_OFFLINE);
    else toggle(menu.hidden === true);
  });
  button.addEventListener('keydown', (e) => {
    if ((e.key === 'ArrowDown' || e.key === 'ArrowUp') && !offline) {
      e.preventDefault();
      toggle(true, e.key === 'ArrowUp' ? items.length - 1 : 0);
    }
  });
  menu.addEventListener('click', (e) => {
    const item = /** @type {HTMLElement} */ (e.target).closest('[data-format]');
    if (item) pick(/** @type {'markdown' | 'json'} */ (item.getAttribute('data-format')));
  });
  menu.addEventListener('keydown', (e) => {
    e.stopPropagation(); // the menu's keys never reach the notebook
    const at = items.indexOf(/** @type {HTMLButtonElement} */ (e.target));
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      items[(at + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
    } else if (e.key === 'Escape' || e.key === 'Tab') {
      if (e.key === 'Escape') e.preventDefault();
      toggle(false);
      button.focus();
    }
  });
  // A click anywhere else closes the menu.
  const away = (/** @type {Event} */ e) => {
    if (!menu.hidden && !el.contains(/** @type {Node} */ (e.composedPath()[0]))) toggle(false);
  };
  document.addEventListener('pointerdown', away, true);
  const unlisten = listen(model, {
    'msg:custom': (/** @type {any} */ msg) => {
      if (!msg || msg.type !== 'export' || !waiting.delete(msg.request)) return;
      download(String(msg.text), String(msg.filename), String(msg.mime));
      announce(`Downloaded ${msg.filename}`);
    },
  });
  const el = h('div', { class: 'cw-export-wrap' }, button, menu);
  return {
    el,
    /** @param {PanelState} panel */
    update(panel) {
      offline = panel.offline;
      setAttr(button, 'aria-disabled', offline ? 'true' : null);
      button.title = offline ? EXPORT_OFFLINE : 'Export the conversation';
      if (offline && !menu.hidden) toggle(false);
    },
    dispose() {
      document.removeEventListener('pointerdown', away, true);
      unlisten();
    },
  };
}

/** Save `text` as a file named `filename`: a Blob URL and a download link, clicked. @param {string} text @param {string} filename @param {string} mime */
export function download(text, filename, mime) {
  const url = URL.createObjectURL(new Blob([text], { type: `${mime};charset=utf-8` }));
  const link = h('a', { href: url, download: filename, hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000); // the browser has the file long before
}
