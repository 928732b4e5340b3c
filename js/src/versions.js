// Answer versions. Regenerate and Edit replace a turn; the new answer's entry carries
// `versions`, the earlier answers of that turn (each with the prompt it answered). The
// reply shows "2/2" between Previous answer / Next answer; which version a view shows is
// its own choice (not synced), and a new answer of the turn shows itself.
//
// `versionPicker` puts the chosen version in the turn's place before the messages are
// drawn: the answer's view keeps its id (so nothing is re-made), its prompt shows the
// text that version answered. It also marks the latest prompt `editable` (Edit, in
// messages.js). Entries it makes are kept per source entry, so an unchanged transcript
// gives the same objects and the transcript list skips them.
import { h, control, arr, setText, setAttr } from './dom.js';

/** @import { TranscriptEntry, AssistantEntry, UserEntry, MessageContext } from './types.js' */
/** @import { Action, MessageView } from './messages.js' */

/**
 * @param {() => void} changed a version was picked: draw again
 */
export function versionPicker(changed) {
  /** @type {Map<string, number>} answer id -> version shown (absent: the latest) */
  const chosen = new Map();
  /** @type {WeakMap<object, {key: string, made: TranscriptEntry}>} */
  const made = new WeakMap();
  /** The same derived object for the same source and change. @param {TranscriptEntry} m @param {string} key @param {() => TranscriptEntry} make */
  const derived = (m, key, make) => {
    const have = made.get(m);
    if (have && have.key === key) return have.made;
    const entry = make();
    made.set(m, { key, made: entry });
    return entry;
  };
  return {
    /** @param {string} id @param {number} index */
    pick(id, index) {
      chosen.set(id, index);
      changed();
    },
    /**
     * The transcript as this view shows it: chosen versions in their turns' place, the
     * latest prompt editable unless `busy`.
     * @param {TranscriptEntry[] | undefined} transcript @param {boolean} busy
     * @returns {TranscriptEntry[]}
     */
    entries(transcript, busy) {
      const list = arr(transcript);
      /** @type {Map<string, string>} prompt id -> the text its shown version answered */
      const prompts = new Map();
      /** @type {TranscriptEntry[]} */
      const out = list.map((m) => {
        if (!m || m.role !== 'assistant') return m;
        const versions = arr(m.versions);
        const k = chosen.get(m.id);
        const v = k === undefined ? null : versions[k];
        if (!v || k === undefined) return m;
        if (m.prompt_id) prompts.set(m.prompt_id, String(v.prompt));
        const shown = { ...v, id: m.id, entry_id: v.id, prompt_id: m.prompt_id, versions, shown_version: k };
        return derived(m, String(k), () => shown);
      });
      const last = latestPrompt(list);
      return out.map((m, i) => {
        if (!m || m.role !== 'user') return m;
        const text = prompts.get(m.id);
        const editable = !busy && i === last && text === undefined;
        if (text === undefined && !editable) return m;
        return derived(m, `${text}|${editable}`, () => ({ ...m, text: text ?? m.text, editable }));
      });
    },
  };
}

/** The index of the latest prompt that Edit may change: typed (not a form's), and answered last. @param {TranscriptEntry[]} list */
function latestPrompt(list) {
  const i = list.length - 2;
  const prompt = /** @type {UserEntry} */ (list[i]);
  const answer = /** @type {AssistantEntry} */ (list[i + 1]);
  const ok = prompt && prompt.role === 'user' && !prompt.form && answer && answer.prompt_id === prompt.id;
  return ok ? i : -1;
}

/**
 * "2/2" with Previous answer / Next answer, on a reply that has earlier versions.
 * @param {MessageView} msg @param {MessageContext} ctx @returns {Action}
 */
export function versionsAction(msg, ctx) {
  const at = () => {
    const m = /** @type {AssistantEntry} */ (msg.m || {});
    const count = arr(m.versions).length + 1;
    return { count, shown: m.shown_version ?? count - 1 };
  };
  const go = (/** @type {number} */ step) => {
    const { count, shown } = at();
    const next = Math.min(Math.max(shown + step, 0), count - 1);
    ctx.showVersion(msg.id, next);
    ctx.announce(`Answer ${next + 1} of ${count}`);
  };
  const prev = control('cw-act cw-ver', '‹', () => go(-1), { 'aria-label': 'Previous answer' });
  const next = control('cw-act cw-ver', '›', () => go(1), { 'aria-label': 'Next answer' });
  const label = h('span', { class: 'cw-ver-at' });
  return {
    el: h('span', { class: 'cw-versions', hidden: true }, prev, label, next),
    shown: (m) => arr(/** @type {AssistantEntry} */ (m.m || {}).versions).length > 0 && m.status !== 'streaming',
    sync() {
      const { count, shown } = at();
      setText(label, `${shown + 1}/${count}`);
      // aria-disabled, not disabled: the button keeps the focus at either end
      setAttr(prev, 'aria-disabled', shown === 0 ? 'true' : null);
      setAttr(next, 'aria-disabled', shown === count - 1 ? 'true' : null);
    },
  };
}
