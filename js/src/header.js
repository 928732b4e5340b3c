// The panel's header: the agent's title (a tooltip when it is cut) with the demo
// badge, the header tools (New chat; Export in export.js, Expand in size.js), the status
// (a dot and a word, aria-live), and the demo note under it.
//
// A header control is a `Tool`: its element and an `update(panel)` that makes it
// follow the panel's state. view.js hands `buildHeader` the list; a new control is
// one more function like `newChatTool` and one more entry in that list.
import { h, iconButton, show, setText, setAttr, setDisabled } from './dom.js';

/** @import { PanelState } from './types.js' */

/**
 * @typedef {object} Tool
 * @property {HTMLElement} el
 * @property {(panel: PanelState) => void} [update]
 * @property {() => void} [dispose]
 */

export const DEMO_NOTE = 'You are talking to the local demo agent, not a real Convocore agent.';
const ICON_NEW = 'M12 5v14M5 12h14';

/**
 * New chat: a new conversation (disabled while a reply is in flight; reads as
 * disabled when the kernel is gone).
 * @param {() => void} onClick
 * @returns {Tool}
 */
export function newChatTool(onClick) {
  const el = iconButton({ class: 'cw-tool cw-new', title: 'Start a new conversation', onclick: onClick }, ICON_NEW, 'New chat');
  return {
    el,
    update({ busy, offline }) {
      setDisabled(el, busy);
      setAttr(el, 'aria-disabled', offline ? 'true' : null);
    },
  };
}

/**
 * The title, badge, tools and status; `note` goes under the header.
 * @param {Tool[]} tools
 */
export function buildHeader(tools) {
  const title = h('span', { class: 'cw-title' });
  const badge = h('span', { class: 'cw-badge', text: 'demo', hidden: true });
  const statusText = h('span', { class: 'cw-status-text' });
  const status = h(
    'div',
    { class: 'cw-status', 'aria-live': 'polite' },
    h('span', { class: 'cw-dot', 'aria-hidden': 'true' }),
    statusText,
  );
  const note = h('div', { class: 'cw-demo-note', text: DEMO_NOTE, hidden: true });
  const el = h(
    'div',
    { class: 'cw-header' },
    h('div', { class: 'cw-heading' }, title, badge),
    h('div', { class: 'cw-tools' }, ...tools.map((t) => t.el), status),
  );

  // The title gets a tooltip when it is cut.
  const fitTitle = () => setAttr(title, 'title', title.scrollWidth > title.clientWidth ? title.textContent : null);
  const sizes = typeof ResizeObserver === 'function' ? new ResizeObserver(() => fitTitle()) : null;
  if (sizes) sizes.observe(title);

  return {
    el,
    note,
    /** @param {PanelState} panel */
    update(panel) {
      const { label, demo, offline } = panel;
      if (title.textContent !== label) {
        title.textContent = label;
        fitTitle();
      }
      show(badge, demo);
      show(note, demo);
      for (const t of tools) t.update?.(panel);
      setAttr(status, 'data-status', offline ? 'offline' : panel.status);
      setText(statusText, offline ? 'not connected' : panel.status);
    },
    dispose() {
      if (sizes) sizes.disconnect();
      for (const t of tools) t.dispose?.();
    },
  };
}
