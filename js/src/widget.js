// anywidget entry point for convowidget's chat panel.
import { modelState } from './state.js';
import { mountView } from './view.js';
import { acknowledgeAnswers } from './answer.js';

/** @import { AnyWidget, InitializeProps, RenderProps } from '@anywidget/types' */
/** @import { Traits } from './types.js' */

/**
 * Once per model: accumulate stream deltas at model level (shared by all views), and
 * acknowledge each finished reply (what marimo re-runs cells on).
 * @param {Pick<InitializeProps<Traits>, 'model'>} props
 */
function initialize({ model }) {
  const state = modelState(model);
  const stop = acknowledgeAnswers(model);
  return () => {
    stop();
    state.dispose();
  };
}

/** Once per view: build the panel; the returned function removes its listeners. @param {Pick<RenderProps<Traits>, 'model' | 'el'>} props */
function render({ model, el }) {
  return mountView(model, el);
}

export default /** @satisfies {AnyWidget<Traits>} */ ({ initialize, render });
