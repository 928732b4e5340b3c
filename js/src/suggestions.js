// Starter prompts (the `suggestions` trait): buttons above the message box until the
// first message is sent (a greeting from the agent does not count). A click sends the
// prompt as if it were typed. They are the panel's own chrome, outside the transcript:
// each is a Tab stop.
import { h, arr, str, show } from './dom.js';

/** @import { TranscriptEntry } from './types.js' */

/**
 * @param {(text: string) => boolean} send ask a prompt, as typed (false when it did not go out)
 */
export function buildSuggestions(send) {
  const list = h('div', { class: 'cw-suggest-list' });
  const el = h(
    'div',
    { class: 'cw-suggest', role: 'group', 'aria-label': 'Suggestions', hidden: true },
    h('span', { class: 'cw-suggest-label', text: 'Try:' }),
    list,
  );
  let shown = '';
  return {
    el,
    /**
     * Show `prompts` while nobody has sent anything yet (`transcript` holds no prompt, none pending).
     * @param {unknown} prompts @param {TranscriptEntry[] | undefined} transcript @param {boolean} pending
     */
    update(prompts, transcript, pending) {
      const texts = arr(/** @type {unknown[]} */ (prompts)).map(str).filter(Boolean);
      const on = texts.length > 0 && !pending && !arr(transcript).some((m) => m && m.role === 'user');
      show(el, on);
      const key = JSON.stringify(texts);
      if (!on || key === shown) return;
      shown = key;
      list.replaceChildren(
        ...texts.map((text) => h('button', { type: 'button', class: 'cw-suggestion', text, onclick: () => send(text) })),
      );
    },
  };
}
