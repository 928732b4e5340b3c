// One message of the transcript: a user bubble, or an assistant reply (markdown or
// ui_engine blocks) with its footer (stopped, failed + Retry, handoff, sources) and
// its actions (Copy; Regenerate on the latest reply). Every control here has
// tabindex=-1: the transcript is a single Tab stop (see keyboard.js).
import { h, extLink, safeHref, copyText } from './dom.js';
import { MdStream } from './mdstream.js';
import { BlocksView } from './blocks.js';

export const HANDOFF_TEXT = 'The agent asked for a human: a human will take over this conversation.';

const str = (v) => (v == null ? '' : String(v));
const arr = (v) => (Array.isArray(v) ? v : []);
const show = (el, on) => {
  if (el.hidden === on) el.hidden = !on;
};
const setAttr = (el, name, value) => {
  if (value == null) el.removeAttribute(name);
  else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
};
const button = (cls, text, onclick, label) =>
  h('button', { class: cls, type: 'button', tabindex: '-1', 'aria-label': label, text, onclick });

function blocksText(blocks) {
  const out = [];
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

/** Copy `text`, show "Copied" on `btn` for a moment and announce it; returns the timer. */
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
    }, 1500);
  });
}

/** The actions row under a message: Copy (the raw text), and Regenerate for replies. */
function actions(msg, ctx) {
  const copy = button('cw-act cw-copy', 'Copy', () => copyWithFeedback(copy, msg.raw || '', ctx, 'Message'), 'Copy message');
  msg.stopTimer = () => clearTimeout(copy.cwTimer);
  const row = h('div', { class: 'cw-actions' }, copy);
  if (msg.role === 'assistant') {
    msg.regen = button('cw-act cw-regen', 'Regenerate', () => ctx.regenerate(msg.id));
    msg.regen.hidden = true;
    row.append(msg.regen);
  }
  return (msg.actions = row);
}

/**
 * One source: a string (a URL or a title) or an object `{url, title}`. Links follow
 * the markdown rules (http(s), mailto:, tel:; `//host` read as https:); anything
 * else is shown as text.
 */
function source(s) {
  const o = s && typeof s === 'object' ? s : null;
  const url = o ? o.url : s;
  const href = typeof url === 'string' ? safeHref(url) : null;
  const title = str(o ? o.title || o.name || '' : '').trim();
  const text = title || (href ? href : str(o ? url || '' : s).trim());
  if (!text) return null;
  if (!href) return document.createTextNode(text);
  const a = extLink(href, text);
  a.setAttribute('tabindex', '-1');
  return a;
}

const article = (role, id, ...children) =>
  h(
    'article',
    { class: `cw-msg cw-${role}`, role: 'article', 'aria-label': `${role} message`, 'data-id': id, tabindex: '-1' },
    ...children,
  );

export class UserMsg {
  constructor(id, ctx) {
    this.role = 'user';
    this.id = id;
    this.raw = null;
    this.body = h('div', { class: 'cw-bubble cw-text' });
    this.el = article('user', id, this.body, actions(this, ctx));
  }
  update(m) {
    const t = str(m.text);
    if (t !== this.raw) this.body.textContent = this.raw = t;
  }
  setLatest() {}
  destroy() {
    this.stopTimer();
  }
}

export class AssistantMsg {
  constructor(id, ctx) {
    this.role = 'assistant';
    this.id = id;
    this.ctx = ctx;
    this.raw = '';
    this.key = null;
    this.latest = false;
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
    this.md = new MdStream(this.mdEl, ctx.onRender);
    this.blocksEl = h('div', { class: 'cw-blocks', hidden: true });
    this.blocks = new BlocksView(this.blocksEl, ctx);
    this.extra = h('div', { class: 'cw-extra', hidden: true });
    this.el = article(
      'assistant',
      id,
      h('div', { class: 'cw-bubble' }, this.typing, this.mdEl, this.blocksEl, this.extra),
      actions(this, ctx),
    );
  }

  /** `live`: the message is still streaming (rendered from the model buffer). */
  update(m, live) {
    const status = live ? 'streaming' : str(m.status) || 'complete';
    const text = str(m.text);
    const blocks = arr(m.blocks).length ? m.blocks : null;
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
    show(this.actions, !!this.raw && !live);
    const key = JSON.stringify([status, m.error, !!m.handoff, arr(m.sources)]);
    if (key !== this.key) {
      this.key = key;
      this.footer(m, status);
    }
    this.setLatest(this.latest);
  }

  /**
   * The latest reply offers Regenerate (once finished, unless it failed: that one
   * has Retry) and keeps its choice buttons; an older reply's prompt buttons are
   * disabled, so only the latest turn's choices can be picked.
   */
  setLatest(latest) {
    this.latest = latest;
    this.el.classList.toggle('cw-latest', latest);
    show(this.regen, latest && (this.status === 'complete' || this.status === 'stopped'));
    for (const b of this.blocksEl.querySelectorAll('button.cw-choice-send')) {
      if (b.disabled === latest) b.disabled = !latest;
    }
  }

  footer(m, status) {
    const x = [];
    if (status === 'stopped') x.push(h('div', { class: 'cw-note', text: 'Stopped' }));
    if (status === 'failed') {
      x.push(
        h(
          'div',
          { class: 'cw-fail' },
          h('div', { class: 'cw-alert', role: 'alert', text: str(m.error) || 'The reply failed.' }),
          button('cw-retry', 'Retry', () => this.ctx.retry(this.id), 'Retry'),
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

  destroy() {
    this.md.destroy();
    this.stopTimer();
  }
}

let sourceLists = 0;
