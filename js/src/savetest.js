// Save as test: under a finished reply, appends the conversation up to it to the kernel's
// suite file (`ChatWidget(suite_path=...)`, else convowidget-tests.yaml in the kernel's
// working directory) as a scenario whose turns expect what came. The kernel writes the file
// and answers `{type: 'test_saved', id, path}` or `{type: 'test_saved', id, error}`; view.js
// hands that to the reply's article as a `cw-test-saved` event, and the note beside the
// button says where it went (also announced).
import { h, control, obj, setText, show, str } from './dom.js';

/** @import { MessageContext, AssistantEntry } from './types.js' */
/** @import { Action, MessageView } from './messages.js' */

const LABEL = 'Save as test';

/** @param {MessageView} msg @param {MessageContext} ctx @returns {Action} */
export function saveTestAction(msg, ctx) {
  const note = h('span', { class: 'cw-saved-note', hidden: true });
  const button = control('cw-act cw-save-test', LABEL, () => {
    if (!ctx.saveTest(msg.id)) return; // not sent (the kernel is gone, said elsewhere)
    button.textContent = 'Saving…';
    show(note, false);
  }, { title: 'Append this conversation, up to this reply, to the test suite file' }); // prettier-ignore
  const el = h('span', { class: 'cw-save-test-wrap', hidden: true }, button, note);
  el.addEventListener('cw-test-saved', (e) => {
    const answer = /** @type {{path?: unknown, error?: unknown}} */ (obj(/** @type {CustomEvent} */ (e).detail));
    const said = answer.error ? str(answer.error) : `Saved as a test in ${str(answer.path)}`;
    button.textContent = LABEL;
    setText(note, said);
    note.classList.toggle('cw-saved-error', !!answer.error);
    show(note, true);
    ctx.announce(said);
  });
  return {
    el,
    shown: (m) => {
      const entry = /** @type {AssistantEntry} */ (m.m || {});
      return !!m.m && m.status !== 'streaming' && entry.shown_version == null;
    },
  };
}

/**
 * A `test_saved` message from the kernel: hand it to that reply's article in this panel (`root`).
 * @param {HTMLElement} root @param {unknown} msg
 */
export function showTestSaved(root, msg) {
  const m = /** @type {{type?: unknown, id?: unknown}} */ (obj(/** @type {object} */ (msg)));
  if (m.type !== 'test_saved' || typeof m.id !== 'string') return;
  const article = [...root.querySelectorAll('.cw-msg')].find((a) => a instanceof HTMLElement && a.dataset.id === m.id);
  article?.querySelector('.cw-save-test-wrap')?.dispatchEvent(new CustomEvent('cw-test-saved', { detail: m }));
}
