// Feedback on a finished reply: Helpful / Not helpful (toggles, aria-pressed; pressing
// the chosen one again takes it back), then a small box for an optional note (Enter
// saves, Escape closes it). The kernel keeps it in the reply's entry and on the Reply
// (`reply.feedback`, `feedback_note`); the buttons follow the entry when it changes.
// On an earlier version the feedback is that version's (`entry_id`).
import { h, control, icon, show, setAttr, setText, str } from './dom.js';

/** @import { MessageContext, AssistantEntry, Feedback } from './types.js' */
/** @import { Action, MessageView } from './messages.js' */

const ICON_THUMB = 'M3 11h4v9H3zM7 11l4-8a2.5 2.5 0 0 1 2.5 2.5V9h5.2a2 2 0 0 1 2 2.4l-1.3 6.8A2 2 0 0 1 17.4 20H7';
const LABELS = { up: 'Helpful', down: 'Not helpful' };

/** @param {MessageView} msg @param {MessageContext} ctx @returns {Action} */
export function feedbackAction(msg, ctx) {
  /** @type {Feedback | null} */
  let value = null;
  let note = '';
  /** @type {object | null} */
  let drawn = null; // the entry the buttons were last set from
  const entry = () => /** @type {AssistantEntry} */ (msg.m || {});
  const id = () => str(entry().entry_id || msg.id);
  /** @param {Feedback} v */
  const button = (v) => {
    const b = control(`cw-act cw-fb cw-fb-${v}`, '', () => choose(v), { 'aria-label': LABELS[v], title: LABELS[v] });
    b.append(icon(ICON_THUMB));
    return b;
  };
  const up = button('up');
  const down = button('down');
  const box = h('input', {
    class: 'cw-fb-note',
    type: 'text',
    tabindex: '-1',
    maxlength: '2000',
    'aria-label': 'Feedback note',
    placeholder: 'Add a note (optional, Enter saves)',
    hidden: true,
  });
  const saved = h('span', { class: 'cw-fb-saved', hidden: true });
  const draw = () => {
    setAttr(up, 'aria-pressed', String(value === 'up'));
    setAttr(down, 'aria-pressed', String(value === 'down'));
    setText(saved, note ? `Note: ${note}` : '');
    show(saved, !!note && box.hidden === true);
  };
  /** @param {Feedback} v */
  const choose = (v) => {
    const next = value === v ? null : v;
    if (!ctx.feedback(id(), next, next ? note : '')) return; // not sent (the kernel is gone): nothing changes
    value = next;
    if (!next) note = '';
    show(box, !!next);
    draw();
    if (next) {
      box.value = note;
      box.focus();
    }
    ctx.announce(next ? `Marked ${LABELS[next].toLowerCase()}` : 'Feedback taken back');
  };
  const close = () => {
    show(box, false);
    draw();
    (value === 'down' ? down : up).focus();
  };
  // Every key stays in the box (the transcript's arrows, the notebook's shortcuts).
  box.addEventListener('keydown', (e) => {
    e.stopPropagation();
    if (e.key === 'Enter' && !e.isComposing && value) {
      e.preventDefault();
      note = box.value.trim();
      if (ctx.feedback(id(), value, note)) ctx.announce(note ? 'Note saved' : 'Note removed');
      close();
    } else if (e.key === 'Escape') {
      e.preventDefault();
      close();
    }
  });
  return {
    el: h('span', { class: 'cw-feedback', hidden: true }, up, down, box, saved),
    shown: (m) => m.status === 'complete' || m.status === 'stopped',
    sync() {
      const m = entry();
      if (m === drawn) return;
      drawn = m;
      value = m.feedback === 'up' || m.feedback === 'down' ? m.feedback : null;
      note = str(m.feedback_note);
      draw();
    },
  };
}
