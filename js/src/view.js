// The chat panel view: header, transcript (keyed by message id), input row.
import { h, icon, raf, caf, extLink, safeHref } from './dom.js';
import { MdStream, beginSlice, sliceSpent } from './mdstream.js';
import { BlocksView } from './blocks.js';
import { lookupState, createState } from './state.js';

export const HANDOFF_TEXT = 'The agent asked for a human: a human will take over this conversation.';
export const DEMO_NOTE = 'You are talking to the local demo agent, not a real Convocore agent.';
const BUSY = ['connecting', 'streaming'];
const STICK_PX = 40;
const MIN_NEW = 4; // messages made per render slice before its time budget counts
const ICON_SEND = 'M12 19V5M5.5 11.5 12 5l6.5 6.5';
const ICON_STOP = 'M7 7h10v10H7z';

const str = (v) => (v == null ? '' : String(v));
// Setters that leave the DOM alone when nothing changes (no needless
// mutations or style invalidation on every streaming frame).
const setText = (el, t) => {
  if (el.textContent !== t) el.textContent = t;
};
const show = (el, on) => {
  if (el.hidden === on) el.hidden = !on;
};
const setAttr = (el, name, value) => {
  if (value == null) el.removeAttribute(name);
  else if (el.getAttribute(name) !== value) el.setAttribute(name, value);
};
const arr = (v) => (Array.isArray(v) ? v : []);
const obj = (v) => (v && typeof v === 'object' && !Array.isArray(v) ? v : {});

/** Copy text to the clipboard; falls back to a hidden textarea + execCommand. */
export async function copyText(text) {
  try {
    if (navigator.clipboard && navigator.clipboard.writeText) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    /* fall through to the legacy path */
  }
  const ta = h('textarea', {
    readonly: true,
    'aria-hidden': 'true',
    style: 'position:fixed;top:0;left:-9999px;opacity:0',
  });
  ta.value = text;
  const back = document.activeElement;
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  if (back && back.focus) back.focus();
  return ok;
}

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

/** Message footer with the copy button. */
function actions(msg) {
  let timer = 0;
  const btn = h('button', {
    class: 'cw-copy',
    type: 'button',
    'aria-label': 'Copy message',
    title: 'Copy message',
    text: 'Copy',
    onclick: async () => {
      const ok = await copyText(msg.raw || '');
      btn.textContent = ok ? 'Copied' : 'Copy failed';
      btn.classList.toggle('cw-copied', ok);
      clearTimeout(timer);
      timer = setTimeout(() => {
        btn.textContent = 'Copy';
        btn.classList.remove('cw-copied');
      }, 1500);
    },
  });
  msg.stopTimer = () => clearTimeout(timer);
  return (msg.actions = h('div', { class: 'cw-actions' }, btn));
}

/**
 * One source for the footer: a string (a URL or a title) or an object
 * `{url, title}`. Links follow the markdown rules (http(s), mailto:, tel:;
 * `//host` read as https:); anything else is shown as text.
 */
function source(s) {
  const o = s && typeof s === 'object' ? s : null;
  const url = o ? o.url : s;
  const href = typeof url === 'string' ? safeHref(url) : null;
  const title = str(o ? o.title || o.name || '' : '').trim();
  const text = title || (href ? href : str(o ? url || '' : s).trim());
  if (!text) return null;
  return href ? extLink(href, text) : document.createTextNode(text);
}

class UserMsg {
  constructor(id) {
    this.role = 'user';
    this.raw = null;
    this.body = h('div', { class: 'cw-bubble cw-text' });
    this.el = h(
      'article',
      { class: 'cw-msg cw-user', role: 'article', 'aria-label': 'user message', 'data-id': id },
      this.body,
      actions(this),
    );
  }
  update(m) {
    const t = str(m.text);
    if (t !== this.raw) this.body.textContent = this.raw = t;
  }
  destroy() {
    this.stopTimer();
  }
}

class AssistantMsg {
  constructor(id, ctx) {
    this.role = 'assistant';
    this.id = id;
    this.ctx = ctx;
    this.raw = '';
    this.key = null;
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
    this.el = h(
      'article',
      { class: 'cw-msg cw-assistant', role: 'article', 'aria-label': 'assistant message', 'data-id': id },
      h('div', { class: 'cw-bubble' }, this.typing, this.mdEl, this.blocksEl, this.extra),
      actions(this),
    );
  }

  /** `live`: the message is still streaming (rendered from the model buffer). */
  update(m, live) {
    const status = live ? 'streaming' : str(m.status) || 'complete';
    const text = str(m.text);
    const blocks = arr(m.blocks).length ? m.blocks : null;
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
    show(this.actions, !!this.raw);
    const key = JSON.stringify([status, m.error, !!m.handoff, arr(m.sources)]);
    if (key !== this.key) {
      this.key = key;
      this.footer(m, status);
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
          h('button', {
            class: 'cw-retry',
            type: 'button',
            'aria-label': 'Retry',
            text: 'Retry',
            onclick: () => this.ctx.retry(this.id),
          }),
        ),
      );
    }
    if (m.handoff) x.push(h('div', { class: 'cw-handoff', role: 'status', text: HANDOFF_TEXT }));
    const src = arr(m.sources).map(source).filter(Boolean);
    if (src.length) {
      x.push(
        h(
          'div',
          { class: 'cw-sources' },
          h('span', { class: 'cw-sources-label', text: 'Sources:' }),
          h('ul', null, ...src.map((s) => h('li', null, s))),
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

/** Build the panel into `el`; returns a cleanup function. */
export function mountView(model, el) {
  // Normally initialize() made the state; without it, the view owns one.
  let state = lookupState(model);
  const ownState = !state && (state = createState(model));
  const views = new Map();
  let busy = false;
  let stick = true;
  let frame = 0;

  const get = (k) => model.get(k);
  const scrollDown = () => {
    if (!stick) return;
    const top = log.scrollHeight - log.clientHeight;
    if (top > log.scrollTop) log.scrollTop = top;
  };
  const ctx = {
    send(text) {
      if (busy) return;
      model.send({ type: 'send', text });
      stick = true;
    },
    retry(id) {
      if (!busy) model.send({ type: 'retry', id });
    },
    onRender: scrollDown,
  };

  // Header
  const title = h('span', { class: 'cw-title' });
  const badge = h('span', { class: 'cw-badge', text: 'demo', hidden: true });
  const statusText = h('span', { class: 'cw-status-text' });
  const status = h(
    'div',
    { class: 'cw-status', 'aria-live': 'polite' },
    h('span', { class: 'cw-dot', 'aria-hidden': 'true' }),
    statusText,
  );
  const note = h('div', { class: 'cw-demo-note', text: DEMO_NOTE, hidden: true });

  // Transcript
  const log = h('div', { class: 'cw-log', role: 'log', 'aria-label': 'Conversation', tabindex: '0' });
  log.addEventListener('scroll', () => {
    stick = log.scrollHeight - log.scrollTop - log.clientHeight <= STICK_PX;
  });
  log.addEventListener('load', scrollDown, true); // images changing the height

  // Panel-level error and input row
  const alert = h('div', { class: 'cw-alert cw-panel-alert', role: 'alert', hidden: true });
  const input = h('textarea', {
    class: 'cw-input',
    rows: '1',
    'aria-label': 'Message',
    placeholder: 'Message the agent…',
  });
  const stopBtn = h(
    'button',
    { class: 'cw-btn cw-stop', type: 'button', 'aria-label': 'Stop', title: 'Stop', hidden: true },
    icon(ICON_STOP),
  );
  const sendBtn = h(
    'button',
    { class: 'cw-btn cw-send', type: 'button', 'aria-label': 'Send', title: 'Send (Enter)' },
    icon(ICON_SEND),
  );
  const resize = () => {
    input.style.height = 'auto';
    if (input.scrollHeight) input.style.height = Math.min(input.scrollHeight, 160) + 'px';
  };
  const submit = () => {
    const text = input.value.trim();
    if (!text || busy) return;
    ctx.send(text);
    input.value = '';
    resize();
    scrollDown();
  };
  input.addEventListener('keydown', (e) => {
    // Keep notebook keyboard shortcuts from seeing our typing.
    if (!e.ctrlKey && !e.metaKey) e.stopPropagation();
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    submit();
  });
  input.addEventListener('input', resize);
  sendBtn.addEventListener('click', () => {
    submit();
    input.focus();
  });
  stopBtn.addEventListener('click', () => model.send({ type: 'stop' }));

  const root = h(
    'div',
    { class: 'cw-root' },
    h('div', { class: 'cw-header' }, h('div', { class: 'cw-heading' }, title, badge), status),
    note,
    log,
    alert,
    h('div', { class: 'cw-input-row' }, input, stopBtn, sendBtn),
  );
  el.append(root);

  // [id, message, live] in transcript order, as of the last reconcile.
  let items = [];
  let fill = 0; // timer of the next backfill slice

  const drop = (id, v) => {
    v.destroy();
    v.el.remove();
    views.delete(id);
  };

  /** The view of one message, made if needed and brought up to date. */
  function renderItem(id, m, live) {
    const role = m.role === 'user' ? 'user' : 'assistant';
    let v = views.get(id);
    if (v && v.role !== role) {
      drop(id, v);
      v = null;
    }
    if (!v) {
      v = role === 'user' ? new UserMsg(id) : new AssistantMsg(id, ctx);
      views.set(id, v);
    }
    // Entries of an unchanged transcript are the same objects: nothing to do.
    if (v.m !== m || v.live !== live) {
      v.m = m;
      v.live = live;
      v.update(m, live);
    }
    return v;
  }

  /**
   * Render `items` newest first. Once the slice's time budget is spent (and
   * at least MIN_NEW new messages were made), messages not rendered yet wait
   * for the next slice, so a long transcript shows its end at once and fills
   * in upwards without blocking the page. Rendered views are then put in
   * transcript order. Returns true while messages are waiting.
   */
  function renderItems() {
    let made = 0;
    let waiting = false;
    for (let i = items.length - 1; i >= 0; i--) {
      const [id, m, live] = items[i];
      if (!views.has(id)) {
        if (made >= MIN_NEW && sliceSpent()) {
          waiting = true;
          continue;
        }
        made++;
      }
      renderItem(id, m, live);
    }
    let cursor = null;
    for (const [id] of items) {
      const v = views.get(id);
      if (!v) continue;
      const want = cursor ? cursor.nextSibling : log.firstChild;
      if (v.el !== want) log.insertBefore(v.el, want);
      cursor = v.el;
    }
    return waiting;
  }

  /** One more slice of the messages still waiting (a task of its own, not a frame). */
  function backfill() {
    fill = 0;
    beginSlice();
    if (renderItems()) fill = setTimeout(backfill, 0);
    scrollDown();
  }

  function reconcile() {
    const transcript = arr(get('transcript'));
    const pending = obj(get('pending'));
    const list = [];
    const seen = new Set();
    const add = (id, m, live) => {
      if (id == null || id === '' || seen.has(id)) return;
      seen.add(id);
      list.push([id, m, live]);
    };
    for (const m of transcript) if (m && typeof m === 'object') add(m.id, m, false);
    const pu = obj(pending.user);
    add(pu.id, { ...pu, role: 'user' }, false);
    const aid = pending.assistant_id;
    if (aid != null && !seen.has(aid)) {
      const b = state.buffers.get(aid);
      add(aid, { id: aid, role: 'assistant', text: b ? b.text : '', blocks: b && b.blocks }, true);
    }

    items = list;
    if (renderItems() && !fill) fill = setTimeout(backfill, 0);
    for (const [id, v] of views) if (!seen.has(id)) drop(id, v);

    // The error trait, unless it is already shown on a failed message.
    const err = str(get('error')).trim();
    const shown = err && transcript.some((m) => m && str(m.error).trim() === err);
    show(alert, !!err && !shown);
    setText(alert, alert.hidden ? '' : err);
  }

  function update() {
    frame = 0;
    beginSlice();
    const st = str(get('status')) || 'idle';
    busy = BUSY.includes(st);
    setText(title, str(get('agent_label')) || 'Convocore agent');
    const demo = !!get('is_demo');
    show(badge, demo);
    show(note, demo);
    setAttr(status, 'data-status', st);
    setText(statusText, st);
    show(stopBtn, busy);
    if (sendBtn.disabled !== busy) sendBtn.disabled = busy;
    if (root.classList.contains('cw-busy') !== busy) root.classList.toggle('cw-busy', busy);
    reconcile();
    scrollDown();
  }

  const schedule = () => {
    if (!frame) frame = raf(update);
  };
  const events = ['agent_label', 'is_demo', 'status', 'error', 'transcript', 'pending'];
  for (const k of events) model.on('change:' + k, schedule);
  state.subs.add(schedule);
  update();

  return () => {
    for (const k of events) model.off('change:' + k, schedule);
    state.subs.delete(schedule);
    if (ownState) ownState.dispose();
    if (frame) caf(frame);
    frame = 0;
    clearTimeout(fill);
    fill = 0;
    for (const v of views.values()) v.destroy();
    views.clear();
  };
}
