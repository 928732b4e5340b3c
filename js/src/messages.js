// One message of the transcript: a user bubble, or an assistant reply (markdown or
// ui_engine blocks) with its footer (stopped, failed + Retry, handoff, sources) and
// its actions row (Copy; Regenerate on the latest reply). Every control here has
// tabindex=-1: the transcript is a single Tab stop (see keyboard.js).
//
// A new control under a message is an `Action` (a function like `regenerateAction`)
// listed in `ACTIONS` for the roles that have it; its `shown` decides when it is seen.
import { h, control, extLink, safeHref, copyText, str, arr, show, setAttr, noTabStop } from './dom.js';
import { MdStream } from './mdstream.js';
import { BlocksView } from './blocks.js';

/** @import { MessageContext, TranscriptEntry, AssistantEntry, Block, CardBlock, Source } from './types.js' */

export const HANDOFF_TEXT = 'The agent asked for a human: a human will take over this conversation.';
const COPIED_MS = 1500;
let sourceLists = 0;

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

/** Regenerate: on the latest reply once finished (a failed one has Retry). @param {MessageView} msg @param {MessageContext} ctx @returns {Action} */
function regenerateAction(msg, ctx) {
  return {
    el: control('cw-act cw-regen', 'Regenerate', () => ctx.regenerate(msg.id), { hidden: true }),
    shown: (m) => m.latest && (m.status === 'complete' || m.status === 'stopped'),
  };
}

/** The actions under a message, in order, by its role. */
const ACTIONS = { user: [copyAction], assistant: [copyAction, regenerateAction] };

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
  }
  return out.filter(Boolean).join('\n\n');
}

/**
 * One source: a string (a URL or a title) or an object `{url, title}`. Links follow
 * the markdown rules (http(s), mailto:, tel:; `//host` read as https:); anything
 * else is shown as text.
 * @param {Source} s
 */
function source(s) {
  const o = s && typeof s === 'object' ? s : null;
  const url = o ? o.url : s;
  const href = typeof url === 'string' ? safeHref(url) : null;
  const title = str(o ? o.title || o.name || '' : '').trim();
  const text = title || (href ? href : str(o ? url || '' : s).trim());
  if (!text) return null;
  if (!href) return document.createTextNode(text);
  return noTabStop(extLink(href, text));
}

/**
 * What every message has: its article, its raw text and its actions row.
 * `m` and `live` are what it was last drawn from (the transcript list skips
 * an update when both are the same).
 */
class MessageView {
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
    for (const a of this.actions) if (a.shown) show(a.el, a.shown(this));
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
    this.mdEl = h('div', { class: 'cw-md' });
    this.md = new MdStream(this.mdEl);
    this.blocksEl = h('div', { class: 'cw-blocks', hidden: true });
    this.blocks = new BlocksView(this.blocksEl, ctx);
    this.extra = h('div', { class: 'cw-extra', hidden: true });
    this.el = this.article(h('div', { class: 'cw-bubble' }, this.typing, this.mdEl, this.blocksEl, this.extra));
  }

  /**
   * Draw `m`; `live`: the message is still streaming (drawn from the model's buffer).
   * @param {AssistantEntry} m
   * @param {boolean} live
   */
  update(m, live) {
    const status = live ? 'streaming' : str(m.status) || 'complete';
    const text = str(m.text);
    const list = arr(m.blocks);
    const blocks = list.length ? list : null;
    this.status = status;
    this.raw = text || (blocks ? blocksText(blocks) : '');
    setAttr(this.el, 'data-status', status);
    setAttr(this.el, 'aria-busy', live ? 'true' : null);
    show(this.blocksEl, !!blocks);
    show(this.mdEl, !blocks && !!text);
    if (blocks) this.blocks.set(blocks);
    else {
      if (this.blocks.keys.length) this.blocks.set([]);
      this.md.set(text);
    }
    show(this.typing, live && !text && !blocks);
    show(this.actionsRow, !!this.raw && !live);
    const key = JSON.stringify([status, m.error, !!m.handoff, arr(m.sources)]);
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
    /** @type {NodeListOf<HTMLButtonElement>} */
    const choices = this.blocksEl.querySelectorAll('button.cw-choice-send');
    for (const b of choices) {
      if (b.disabled === latest) b.disabled = !latest;
    }
  }

  /** Stopped, failed (with Retry), handoff and sources, under the text. @param {AssistantEntry} m @param {string} status */
  footer(m, status) {
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
    const src = arr(m.sources).map(source).filter(Boolean);
    if (src.length) {
      const label = `cw-src-${++sourceLists}`;
      x.push(
        h(
          'div',
          { class: 'cw-sources' },
          h('div', { class: 'cw-sources-label', id: label, text: 'Sources:' }),
          h('ul', { 'aria-labelledby': label }, ...src.map((s) => h('li', null, s))),
        ),
      );
    }
    this.extra.replaceChildren(...x);
    show(this.extra, x.length > 0);
  }

  /** @override */
  destroy() {
    this.md.destroy();
    super.destroy();
  }
}
