// One message of the transcript: a user bubble, or an assistant reply (its tool calls,
// markdown and ui_engine blocks in the order they came) with its footer (stopped, failed
// + Retry, handoff, actions, sources), its usage line and its actions row (Copy;
// Regenerate on the latest reply). Every control here has tabindex=-1: the transcript
// is a single Tab stop (see keyboard.js).
//
// A new control under a message is an `Action` (a function like `regenerateAction`)
// listed in `ACTIONS` for the roles that have it; its `shown` decides when it is seen.
import { h, control, copyText, str, arr, show, setAttr } from './dom.js';
import { MdStream } from './mdstream.js';
import { BlocksView } from './blocks.js';
import { toolSteps, actionNote, handoffPayload, sourcesList, usageParts } from './steps.js';
import { versionsAction } from './versions.js';
import { feedbackAction } from './feedback.js';
import { saveTestAction } from './savetest.js';

/** @import { MessageContext, TranscriptEntry, UserEntry, AssistantEntry, Block, CardBlock } from './types.js' */

export const HANDOFF_TEXT = 'The agent asked for a human: a human will take over this conversation.';
const COPIED_MS = 1500;

/** A button that says "Copied" for a moment. @typedef {HTMLElement & {cwTimer?: ReturnType<typeof setTimeout>}} CopyButton */

/**
 * Copy `text`, show "Copied" on `btn` for a moment and announce it.
 * @param {CopyButton} btn
 * @param {string} text
 * @param {Pick<MessageContext, 'announce'> | null} ctx
 * @param {string} what what was copied, for the announcement ("Code", "Message")
 */
export function copyWithFeedback(btn, text, ctx, what) {
  const label = btn.textContent;
  return copyText(text).then((ok) => {
    btn.textContent = ok ? 'Copied' : 'Copy failed';
    btn.classList.toggle('cw-copied', ok);
    if (ctx && ctx.announce) ctx.announce(ok ? `${what} copied` : `Could not copy the ${what.toLowerCase()}`);
    clearTimeout(btn.cwTimer);
    btn.cwTimer = setTimeout(() => {
      btn.textContent = label;
      btn.classList.remove('cw-copied');
    }, COPIED_MS);
  });
}

/**
 * A control in the actions row under a message.
 * @typedef {object} Action
 * @property {HTMLElement} el
 * @property {(msg: MessageView) => boolean} [shown] checked on each update and when the latest reply changes
 * @property {() => void} [sync] then, when shown: follow the message's entry (`msg.m`)
 * @property {() => void} [destroy]
 */

/** Copy: the message's raw text (markdown as the agent wrote it). @param {MessageView} msg @param {MessageContext} ctx @returns {Action} */
function copyAction(msg, ctx) {
  /** @type {CopyButton} */
  const el = control('cw-act cw-copy', 'Copy', () => copyWithFeedback(el, msg.raw, ctx, 'Message'), {
    'aria-label': 'Copy message',
  });
  return { el, destroy: () => clearTimeout(el.cwTimer) };
}

/**
 * Regenerate: on the latest reply once finished (a failed one has Retry), while its latest
 * version shows; not on the greeting, which answers no prompt.
 * @param {MessageView} msg @param {MessageContext} ctx @returns {Action}
 */
function regenerateAction(msg, ctx) {
  return {
    el: control('cw-act cw-regen', 'Regenerate', () => ctx.regenerate(msg.id), { hidden: true }),
    shown: (m) => m.latest && (m.status === 'complete' || m.status === 'stopped') && current(m) && !asAnswer(m).greeting,
  };
}

/** Edit: on the latest prompt (versions.js marks it `editable`); puts it back in the message box. @param {MessageView} msg @param {MessageContext} ctx @returns {Action} */
function editAction(msg, ctx) {
  return {
    el: control('cw-act cw-edit', 'Edit', () => ctx.edit(msg.id, msg.raw), { hidden: true }),
    shown: (m) => !!(/** @type {UserEntry} */ (m.m || {}).editable),
  };
}

/** @param {MessageView} m */
const asAnswer = (m) => /** @type {AssistantEntry} */ (m.m || {});
/** The turn's latest answer shows (not an earlier version). @param {MessageView} m */
const current = (m) => asAnswer(m).shown_version == null;

/**
 * The actions under a message, in order, by its role. A reply's row is where a new
 * per-reply action goes (Save as test...): one more function here.
 */
const ACTIONS = {
  user: [copyAction, editAction],
  assistant: [versionsAction, copyAction, regenerateAction, feedbackAction, saveTestAction],
};

/** What the Copy of a blocks reply copies: its texts, card titles and choice labels. @param {Block[]} blocks */
function blocksText(blocks) {
  const out = [];
  /** @param {CardBlock} c */
  const card = (c) => c && [c.title, c.text].filter(Boolean).join('\n');
  for (const b of blocks) {
    if (!b) continue;
    if (b.kind === 'text') out.push(b.text);
    else if (b.kind === 'card') out.push(card(b));
    else if (b.kind === 'carousel') out.push(...arr(b.cards).map(card));
    else if (b.kind === 'choice') out.push(arr(b.buttons).map((x) => x && x.label).filter(Boolean).join(' | '));
    else if (b.kind === 'form') out.push([b.title, ...arr(b.fields).map((f) => f && f.label)].filter(Boolean).join('\n'));
    else if (b.kind === 'input') out.push(str(b.field && b.field.label));
    else if (b.kind === 'notice') out.push(b.text);
    else if (b.kind === 'iframe') out.push(str(b.url || b.text));
  }
  return out.filter(Boolean).join('\n\n');
}

/**
 * What every message has: its article, its raw text and its actions row.
 * `m` and `live` are what it was last drawn from (the transcript list skips
 * an update when both are the same).
 */
export class MessageView {
  /** @param {'user' | 'assistant'} role @param {string} id @param {MessageContext} ctx */
  constructor(role, id, ctx) {
    this.role = role;
    this.id = id;
    this.ctx = ctx;
    this.raw = ''; // what Copy copies
    this.status = 'complete';
    this.latest = false;
    /** @type {TranscriptEntry | null} */
    this.m = null;
    this.live = false;
    /** @type {Action[]} */
    this.actions = ACTIONS[role].map((make) => make(this, ctx));
    this.actionsRow = h('div', { class: 'cw-actions' }, ...this.actions.map((a) => a.el));
  }

  /** The article around the message's parts (one Tab stop for all: tabindex -1). @param {...Node} children */
  article(...children) {
    const r = this.role;
    return h(
      'article',
      { class: `cw-msg cw-${r}`, role: 'article', 'aria-label': `${r} message`, 'data-id': this.id, tabindex: '-1' },
      ...children,
      this.actionsRow,
    );
  }

  /** @param {boolean} latest */
  setLatest(latest) {
    this.latest = latest;
    for (const a of this.actions) {
      const on = a.shown ? a.shown(this) : true;
      if (a.shown) show(a.el, on);
      if (on) a.sync?.();
    }
  }

  destroy() {
    for (const a of this.actions) a.destroy?.();
  }
}

export class UserMsg extends MessageView {
  /** @param {string} id @param {MessageContext} ctx */
  constructor(id, ctx) {
    super('user', id, ctx);
    this.body = h('div', { class: 'cw-bubble cw-text' });
    this.el = this.article(this.body);
  }

  /** @param {TranscriptEntry} m */
  update(m) {
    const t = str(m.text);
    if (t !== this.raw) this.body.textContent = this.raw = t;
    this.setLatest(this.latest); // Edit follows the entry (`editable`)
  }
}

export class AssistantMsg extends MessageView {
  /** @param {string} id @param {MessageContext} ctx */
  constructor(id, ctx) {
    super('assistant', id, ctx);
    /** @type {string | null} */
    this.key = null;
    this.status = 'streaming';
    this.typing = h(
      'div',
      { class: 'cw-typing' },
      h('span'),
      h('span'),
      h('span'),
      h('span', { class: 'cw-sr', text: 'Assistant is typing' }),
    );
    this.steps = h('div', { class: 'cw-steps', hidden: true });
    this.mdEl = h('div', { class: 'cw-md' });
    this.md = new MdStream(this.mdEl);
    this.blocksEl = h('div', { class: 'cw-blocks', hidden: true });
    this.blocks = new BlocksView(this.blocksEl, {
      send: ctx.send,
      submit: (block, values) => ctx.submit(this.id, block, values),
    });
    this.extra = h('div', { class: 'cw-extra', hidden: true });
    this.usage = h('div', { class: 'cw-usage', hidden: true });
    this.bubble = h('div', { class: 'cw-bubble' }, this.typing, this.steps, this.mdEl, this.blocksEl, this.extra);
    this.el = this.article(this.bubble, this.usage);
  }

  /**
   * Draw `m`; `live`: the message is still streaming (drawn from the model's buffer).
   * @param {AssistantEntry} m
   * @param {boolean} live
   */
  update(m, live) {
    const status = live ? 'streaming' : str(m.status) || 'complete';
    const list = arr(m.blocks);
    const blocks = list.length ? list : null;
    // With blocks, `text` stands for them too: the plain chunks' own text is `plain_text`
    // (while streaming, the text is only the plain chunks').
    const text = blocks && !live ? str(m.plain_text) : str(m.text);
    const first = !!(blocks && m.blocks_first);
    this.status = status;
    const parts = [text, blocks ? blocksText(blocks) : ''];
    this.raw = (first ? parts.reverse() : parts).filter(Boolean).join('\n\n');
    setAttr(this.el, 'data-status', status);
    setAttr(this.el, 'aria-busy', live ? 'true' : null);
    if ((this.mdEl.nextSibling === this.blocksEl) === first) {
      this.bubble.insertBefore(first ? this.blocksEl : this.mdEl, first ? this.mdEl : this.blocksEl);
    }
    show(this.blocksEl, !!blocks);
    show(this.mdEl, !!text);
    this.blocks.set(blocks || []);
    this.md.set(text);
    show(this.typing, live && !text && !blocks);
    show(this.actionsRow, !!this.raw && !live);
    const key = JSON.stringify([status, m.error, m.handoff, m.sources, m.source_items, m.actions, m.handoff_payload, m.tool_calls, m.usage]);
    if (key !== this.key) {
      this.key = key;
      this.footer(m, status);
    }
    this.setLatest(this.latest);
  }

  /**
   * The latest reply keeps its choice buttons (and shows its latest-only actions); an
   * older reply's prompt buttons are disabled, so only the latest turn's choices can be picked.
   * @param {boolean} latest
   * @override
   */
  setLatest(latest) {
    super.setLatest(latest);
    this.el.classList.toggle('cw-latest', latest);
    const active = latest && current(this); // an earlier version's choices and forms are history
    /** @type {NodeListOf<HTMLButtonElement>} */
    const live = this.blocksEl.querySelectorAll('button.cw-choice-send, .cw-latest-only');
    for (const b of live) {
      if (b.disabled === active) b.disabled = !active;
    }
  }

  /**
   * The tool calls above the text; stopped, failed (with Retry), handoff, other actions
   * and sources under it; the usage line under the bubble.
   * @param {AssistantEntry} m @param {string} status
   */
  footer(m, status) {
    const steps = toolSteps(m);
    this.steps.replaceChildren(...steps);
    show(this.steps, steps.length > 0);
    const usage = status === 'streaming' ? null : usageParts(m.usage);
    this.usage.replaceChildren(...(usage || []));
    show(this.usage, !!usage);
    const x = [];
    if (status === 'stopped') x.push(h('div', { class: 'cw-note', text: 'Stopped' }));
    if (status === 'failed') {
      x.push(
        h(
          'div',
          { class: 'cw-fail' },
          h('div', { class: 'cw-alert', role: 'alert', text: str(m.error) || 'The reply failed.' }),
          control('cw-retry', 'Retry', () => this.ctx.retry(this.id), { 'aria-label': 'Retry' }),
        ),
      );
    }
    if (m.handoff) x.push(h('div', { class: 'cw-handoff', role: 'status', text: HANDOFF_TEXT }));
    const payload = handoffPayload(m);
    if (payload) x.push(payload);
    x.push(...arr(m.actions).map(actionNote));
    const src = sourcesList(m);
    if (src) x.push(src);
    this.extra.replaceChildren(...x);
    show(this.extra, x.length > 0);
  }

  /** @override */
  destroy() {
    this.md.destroy();
    super.destroy();
  }
}
