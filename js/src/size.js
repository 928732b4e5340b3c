// The panel's size. The `height` trait caps the conversation's height (520 px when
// empty); the handle under the panel resizes it, by pointer or keyboard (a focusable
// separator: Up/Down 20 px, with Shift 100 px, Page Up/Down 200 px, Home/End the
// least and most); Expand shows the panel over the whole window and back.
//
// Expand makes the panel's frame, a <dialog> that holds it all along, a modal dialog:
// the browser's top layer, above every stacking context and `contain` of the host page
// (JupyterLab's notebook has `contain: strict`), in a shadow root too (marimo). Nothing
// is moved or drawn again, so a reply keeps streaming and the focus stays put. Escape
// (when nothing inside the panel takes it, as the message box and a form do) or the
// button returns.
import { h, iconButton, setAttr } from './dom.js';

/** @import { Tool } from './header.js' */

const ICON_EXPAND = 'M4 10V4h6M20 10V4h-6M4 14v6h6M20 14v6h-6';
const ICON_SHRINK = 'M10 4v6H4M14 4v6h6M10 20v-6H4M14 20v-6h6';
const MIN = 96;
const STEP = 20;
const BIG_STEP = 200;

/**
 * The frame around the panel, its resize handle and the Expand tool.
 * @param {HTMLElement} root the panel (`.cw-root`) @param {() => HTMLElement} log the scrolling transcript
 */
export function buildSize(root, log) {
  const frame = h('dialog', { class: 'cw-frame', open: true }, root);
  const handle = h('div', {
    class: 'cw-resize',
    role: 'separator',
    tabindex: '0',
    'aria-orientation': 'horizontal',
    'aria-label': 'Resize the conversation',
    'aria-valuemin': String(MIN),
    title: 'Drag to resize the conversation (or use the arrow keys)',
  });
  root.append(handle);
  let cap = '';
  const most = () => Math.max(MIN * 2, Math.round(window.innerHeight * 3));
  const height = () => Math.round(log().getBoundingClientRect().height);
  const describe = () => {
    setAttr(handle, 'aria-valuemax', String(most()));
    setAttr(handle, 'aria-valuenow', String(height()));
  };
  /** The person's own height for the conversation, in pixels. @param {number} px */
  const resize = (px) => {
    const value = Math.min(Math.max(Math.round(px), MIN), most());
    root.style.setProperty('--cw-log-height', value + 'px');
    root.style.setProperty('--cw-log-max', 'none');
    describe();
  };

  let drag = /** @type {{y: number, from: number} | null} */ (null);
  handle.addEventListener('pointerdown', (e) => {
    if (e.button !== 0) return;
    e.preventDefault();
    handle.setPointerCapture(e.pointerId);
    drag = { y: e.clientY, from: height() };
    handle.focus({ preventScroll: true });
  });
  handle.addEventListener('pointermove', (e) => {
    if (drag) resize(drag.from + e.clientY - drag.y);
  });
  const drop = () => {
    drag = null;
  };
  handle.addEventListener('pointerup', drop);
  handle.addEventListener('pointercancel', drop);
  handle.addEventListener('focus', describe);
  handle.addEventListener('keydown', (e) => {
    const moves = {
      ArrowUp: -STEP,
      ArrowDown: STEP,
      PageUp: -BIG_STEP,
      PageDown: BIG_STEP,
      Home: -Infinity,
      End: Infinity,
    };
    const by = moves[/** @type {keyof typeof moves} */ (e.key)];
    if (by === undefined || e.ctrlKey || e.metaKey || e.altKey) return;
    e.preventDefault();
    e.stopPropagation(); // the notebook's own arrow keys move cells
    resize(height() + (e.shiftKey && Math.abs(by) === STEP ? by * 5 : by));
  });

  const expand = expandTool(frame, root, log);
  return {
    frame,
    handle,
    tool: expand,
    /** @param {unknown} css the `height` trait: the conversation's greatest height ('' for the default) */
    setHeight(css) {
      const next = typeof css === 'string' ? css : '';
      if (next === cap) return;
      cap = next; // a new height from the kernel replaces the person's own
      root.style.removeProperty('--cw-log-height');
      if (cap) root.style.setProperty('--cw-log-max', cap);
      else root.style.removeProperty('--cw-log-max');
    },
  };
}

/**
 * Expand: the panel over the whole window (a modal dialog), and back.
 * @param {HTMLDialogElement} frame @param {HTMLElement} root @param {() => HTMLElement} log
 * @returns {Tool}
 */
function expandTool(frame, root, log) {
  const button = iconButton({ class: 'cw-tool cw-expand', 'aria-label': 'Expand', 'aria-pressed': 'false' }, ICON_EXPAND);
  const path = /** @type {SVGPathElement} */ (button.querySelector('path'));
  let expanded = false;
  const set = (/** @type {boolean} */ on) => {
    if (expanded === on) return;
    expanded = on;
    const at = /** @type {Document | ShadowRoot} */ (root.getRootNode());
    const focused = /** @type {HTMLElement | null} */ (at.activeElement);
    const scroller = log();
    const bottom = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 2;
    const top = scroller.scrollTop;
    frame.close();
    if (on) frame.showModal();
    else frame.setAttribute('open', ''); // back in the page, where it was
    root.classList.toggle('cw-expanded', on);
    setAttr(button, 'aria-pressed', String(on));
    path.setAttribute('d', on ? ICON_SHRINK : ICON_EXPAND);
    button.title = on ? 'Return to the notebook (Escape)' : 'Expand to the whole window';
    scroller.scrollTop = bottom ? scroller.scrollHeight : top;
    (focused && root.contains(focused) ? focused : button).focus({ preventScroll: true });
  };
  button.title = 'Expand to the whole window';
  button.addEventListener('click', () => set(!expanded));
  // Escape on the modal dialog: return, unless something in the panel used the key.
  frame.addEventListener('cancel', (e) => {
    e.preventDefault();
    set(false);
  });
  frame.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented && expanded) {
      e.preventDefault();
      e.stopPropagation();
      set(false);
    }
  });
  return { el: button };
}
