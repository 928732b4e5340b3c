// anywidget entry point for convowidget's chat panel.
import { modelState } from './state.js';
import { mountView } from './view.js';

/** Once per model: accumulate stream deltas at model level (shared by all views). */
function initialize({ model }) {
  const state = modelState(model);
  return () => state.dispose();
}

/** Once per view: build the panel; the returned function removes its listeners. */
function render({ model, el }) {
  return mountView(model, el);
}

export default { initialize, render };
