// The composer: the message box (grows with its text up to 160 px), Send, and Stop
// (shown while a reply is in flight). Enter sends, Shift+Enter is a new line, Escape
// leaves the box for the transcript. Not connected, the box keeps what is typed and the
// controls read as disabled. Edit puts the latest prompt in the box with a note above
// it ("Editing your message", Cancel): sending then replaces that turn.
import { h, iconButton, show, setAttr, setDisabled } from './dom.js';

/** @import { PanelState } from './types.js' */

const ICON_SEND = 'M12 19V5M5.5 11.5 12 5l6.5 6.5';
const ICON_STOP = 'M7 7h10v10H7z';
const ICON_CLOSE = 'M6 6l12 12M18 6 6 18';
const PLACEHOLDER = 'Message the agent…';
const PLACEHOLDER_OFFLINE = 'Not connected: run the cell again';
const MAX_HEIGHT = 160;

/**
 * @typedef {object} ComposerEvents
 * @property {(text: string) => boolean} send ask `text`; false when it did not go out (the draft stays)
 * @property {(id: string, text: string) => boolean} edit ask `text` in place of prompt `id` (the same)
 * @property {() => void} sent after a sent draft left the box (the box is smaller again)
 * @property {() => void} stop stop the reply in flight
 * @property {() => void} leave Escape: move the focus to the transcript
 */

/**
 * The keys of the message box: Enter sends (not with Shift, not while an input method
 * composes), Escape leaves; none reaches the notebook's shortcuts but with Ctrl or Cmd.
 * @param {() => void} submit @param {() => void} leave
 */
const boxKeys = (submit, leave) => (/** @type {KeyboardEvent} */ e) => {
  if (!e.ctrlKey && !e.metaKey) e.stopPropagation();
  if (e.key === 'Escape' && !e.isComposing) {
    e.preventDefault();
    leave();
    return;
  }
  if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
  e.preventDefault();
  submit();
};

/**
 * The input row; `describedBy` is the id of the alert the box points to when not connected.
 * @param {ComposerEvents} on
 * @param {string} describedBy
 */
export function buildComposer(on, describedBy) {
  const input = h('textarea', { class: 'cw-input', rows: '1', 'aria-label': 'Message', placeholder: PLACEHOLDER });
  const stopBtn = iconButton({ class: 'cw-btn cw-stop', 'aria-label': 'Stop', title: 'Stop', hidden: true }, ICON_STOP);
  const sendBtn = iconButton({ class: 'cw-btn cw-send', 'aria-label': 'Send', title: 'Send (Enter)' }, ICON_SEND);
  let busy = false;
  /** @type {{id: string, draft: string} | null} what is being edited, and the draft it displaced */
  let editing = null;
  const cancel = iconButton({ class: 'cw-edit-cancel', title: 'Keep the message as it was' }, ICON_CLOSE, 'Cancel');
  const banner = h('div', { class: 'cw-editing', hidden: true }, h('span', { text: 'Editing your message: sending replaces it and its answer' }), cancel);

  const focus = () => input.focus({ preventScroll: true });
  /** Leave editing; `restore`: the draft it displaced goes back in the box. @param {boolean} restore */
  const stopEditing = (restore) => {
    if (!editing) return;
    if (restore) input.value = editing.draft;
    editing = null;
    show(banner, false);
    resize();
  };
  const resize = () => {
    input.style.height = 'auto';
    if (input.scrollHeight) input.style.height = Math.min(input.scrollHeight, MAX_HEIGHT) + 'px';
  };
  const submit = () => {
    const text = input.value.trim();
    if (!text || busy) return;
    if (!(editing ? on.edit(editing.id, text) : on.send(text))) return; // not sent: the draft stays
    input.value = '';
    stopEditing(true);
    resize();
    on.sent();
  };
  cancel.addEventListener('click', () => {
    stopEditing(true);
    focus();
  });
  input.addEventListener('keydown', boxKeys(submit, on.leave));
  input.addEventListener('input', resize);
  sendBtn.addEventListener('click', () => {
    submit();
    focus();
  });
  stopBtn.addEventListener('click', () => {
    on.stop();
    focus(); // the Stop button hides; focus stays in the panel
  });

  return {
    el: h('div', { class: 'cw-input-row' }, input, stopBtn, sendBtn),
    banner,
    focus,
    /** Edit: prompt `id`'s text in the box, the draft kept aside. @param {string} id @param {string} text */
    edit(id, text) {
      editing = { id, draft: editing ? editing.draft : input.value };
      input.value = text;
      show(banner, true);
      resize();
      focus();
      input.setSelectionRange(text.length, text.length);
    },
    /** Tab from the transcript: the box takes the focus; false when it cannot. */
    takeFocus() {
      if (input.disabled) return false;
      input.focus();
      return true;
    },
    /** @param {PanelState} panel */
    update({ busy: now, offline }) {
      busy = now;
      show(stopBtn, busy);
      setDisabled(sendBtn, busy);
      // Not connected: the controls read as disabled, and the box keeps what is typed in it.
      for (const c of [input, sendBtn]) setAttr(c, 'aria-disabled', offline ? 'true' : null);
      setAttr(input, 'aria-describedby', offline ? describedBy : null);
      setAttr(input, 'placeholder', offline ? PLACEHOLDER_OFFLINE : PLACEHOLDER); // unchanged: no layout
    },
  };
}
