// The keyboard inside the transcript. The log is one Tab stop, however long the
// conversation; messages and their controls (links, Copy, Copy code, Regenerate,
// Retry, choices, tool call steps, form fields) have tabindex=-1 and are reached with
// the arrow keys:
//   Up / Down      previous / next message (from the log itself: the latest)
//   Home / End     first / last message
//   Right / Left   next / previous control of the current message; Left from its
//                  first control goes back to the message
//   Enter          on a message with a form: its first field (forms.js has the keys inside)
// Tab leaves the transcript for the message box; Shift+Tab from the message box
// comes back to it.

const FIELDS = 'input, select, textarea';

/** The messages of the log, in order. @param {HTMLElement} log @returns {HTMLElement[]} */
const messagesOf = (log) =>
  /** @type {HTMLElement[]} */ ([...log.children].filter((n) => n.getAttribute('role') === 'article'));

/** The controls of a message that can be used now, in document order. @param {HTMLElement} msg */
export function controlsOf(msg) {
  /** @type {NodeListOf<HTMLElement & {disabled?: boolean}>} */
  const all = msg.querySelectorAll('button, a[href], summary, iframe, ' + FIELDS);
  return [...all].filter((c) => !c.disabled && !c.closest('[hidden]'));
}

/** @param {HTMLElement | undefined} el */
const focus = (el) => {
  if (!el) return false;
  el.focus();
  return true;
};

/** Handle one keydown inside `log`; true when it was a navigation key (the caller stops it). @param {HTMLElement} log @param {KeyboardEvent} e */
export function navigate(log, e) {
  if (e.ctrlKey || e.metaKey || e.altKey) return false;
  const list = messagesOf(log);
  if (!list.length) return false;
  const target = /** @type {HTMLElement} */ (e.target);
  const msg = target === log ? null : list.find((m) => m.contains(target));
  const at = msg ? list.indexOf(msg) : -1;
  switch (e.key) {
    case 'ArrowUp':
      return focus(at < 0 ? list[list.length - 1] : list[Math.max(at - 1, 0)]);
    case 'ArrowDown':
      return focus(at < 0 ? list[list.length - 1] : list[Math.min(at + 1, list.length - 1)]);
    case 'Home':
      return focus(list[0]);
    case 'End':
      return focus(list[list.length - 1]);
    case 'Enter':
      return !!msg && target === msg && focus(controlsOf(msg).find((c) => c.matches(FIELDS)));
    case 'ArrowRight':
    case 'ArrowLeft': {
      if (!msg) return false;
      const controls = controlsOf(msg);
      const i = controls.indexOf(target);
      if (e.key === 'ArrowRight') return focus(controls[Math.min(i + 1, controls.length - 1)]) || true;
      return focus(i > 0 ? controls[i - 1] : msg);
    }
    default:
      return false;
  }
}
