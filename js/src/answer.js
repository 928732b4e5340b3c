// marimo re-runs the cells that read a widget when the front end changes one of its
// traits (`save_changes`); a trait the kernel changes is not enough. So once per model,
// when the kernel's `last_answer` names a reply not yet acknowledged, the front end
// writes its id to `_shown_answer`: `mo.ui.anywidget(chat).value` is then new, and the
// cells that read it run again. In Jupyter it is one small message per reply.
import { listen } from './dom.js';

/** @import { Model } from './types.js' */

/** Acknowledge each finished reply; returns the function that stops. @param {Model} model */
export function acknowledgeAnswers(model) {
  const seen = () => {
    const answer = model.get('last_answer');
    const id = answer && typeof answer.id === 'string' ? answer.id : '';
    if (!id || model.get('_shown_answer') === id) return;
    model.set('_shown_answer', id);
    model.save_changes();
  };
  return listen(model, { 'change:last_answer': seen });
}
