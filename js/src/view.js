// The chat panel view: header (title, New chat, status), transcript (keyed by
// message id), alerts and the input row.
import { h, icon, raf, caf } from './dom.js';
import { beginSlice, sliceSpent } from './mdstream.js';
import { UserMsg, AssistantMsg, copyWithFeedback } from './messages.js';
import { codeText } from './enhance.js';
import { navigate } from './keyboard.js';
import { lookupState, createState } from './state.js';
import { OFFLINE_TEXT } from './connection.js';

export { HANDOFF_TEXT } from './messages.js';
export { OFFLINE_TEXT } from './connection.js';
export const DEMO_NOTE = 'You are talking to the local demo agent, not a real Convocore agent.';
const BUSY = ['connecting', 'streaming'];
const STICK_PX = 40;
const MIN_NEW = 4; // messages made per render slice before its time budget counts
const ICON_SEND = 'M12 19V5M5.5 11.5 12 5l6.5 6.5';
const ICON_STOP = 'M7 7h10v10H7z';
const ICON_NEW = 'M12 5v14M5 12h14';
const ICON_DOWN = 'M12 5v14M5.5 12.5 12 19l6.5-6.5';
const PLACEHOLDER = 'Message the agent…';
const PLACEHOLDER_OFFLINE = 'Not connected: run the cell again';

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
let panels = 0;

/** Build the panel into `el`; returns a cleanup function. */
export function mountView(model, el) {
  // Normally initialize() made the state; without it, the view owns one.
  let state = lookupState(model);
  const ownState = !state && (state = createState(model));
  const conn = state.conn;
  const uid = `cw-${++panels}`;
  const views = new Map();
  let busy = false;
  let offline = false;
  let stick = true;
  let frame = 0;
  let latestId = null;

  const get = (k) => model.get(k);
  const scrollDown = () => {
    if (!stick) return;
    const top = log.scrollHeight - log.clientHeight;
    if (top > log.scrollTop) log.scrollTop = top;
  };
  const focusInput = () => input.focus({ preventScroll: true });
  /**
   * Send a message to the kernel. Not while a reply is in flight; not when the kernel
   * is known to be gone (then the alert is said again and the kernel asked if it is
   * back). False when nothing went out, so the caller keeps what the person typed.
   */
  const toKernel = (msg) => {
    if (busy) return false;
    if (offline) {
      conn.hello();
      announceOffline();
      return false;
    }
    return conn.send(msg);
  };
  const ctx = {
    send(text) {
      if (!toKernel({ type: 'send', text })) return false;
      stick = true;
      focusInput();
      return true;
    },
    retry(id) {
      toKernel({ type: 'retry', id });
      focusInput();
    },
    regenerate(id) {
      if (toKernel({ type: 'regenerate', id })) stick = true;
      focusInput();
    },
    announce(text) {
      setText(live, '');
      raf(() => setText(live, text));
    },
    onRender: scrollDown,
  };

  // Header
  const title = h('span', { class: 'cw-title' });
  const badge = h('span', { class: 'cw-badge', text: 'demo', hidden: true });
  const newChat = h(
    'button',
    { class: 'cw-new', type: 'button', title: 'Start a new conversation' },
    icon(ICON_NEW),
    h('span', { text: 'New chat' }),
  );
  const statusText = h('span', { class: 'cw-status-text' });
  const status = h(
    'div',
    { class: 'cw-status', 'aria-live': 'polite' },
    h('span', { class: 'cw-dot', 'aria-hidden': 'true' }),
    statusText,
  );
  const note = h('div', { class: 'cw-demo-note', text: DEMO_NOTE, hidden: true });

  // Transcript: one Tab stop; arrow keys inside (keyboard.js).
  const log = h('div', { class: 'cw-log', role: 'log', 'aria-label': 'Conversation', tabindex: '0' });
  const jump = h(
    'button',
    { class: 'cw-jump', type: 'button', hidden: true },
    icon(ICON_DOWN),
    h('span', { text: 'Jump to latest' }),
  );
  const updateJump = () => {
    // (the panel may sit in a shadow root, as in marimo: ask its own root what has the focus)
    if (stick && jump.contains(el.getRootNode().activeElement)) log.focus({ preventScroll: true });
    show(jump, !stick);
  };
  log.addEventListener('scroll', () => {
    stick = log.scrollHeight - log.scrollTop - log.clientHeight <= STICK_PX;
    updateJump();
  });
  log.addEventListener('load', scrollDown, true); // images changing the height
  log.addEventListener('keydown', (e) => {
    // Tab from anywhere inside the transcript goes to the message box, as promised,
    // whatever the browser's idea of the next stop is after a re-render.
    if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey && !input.disabled) {
      e.preventDefault();
      e.stopPropagation();
      input.focus();
      return;
    }
    if (navigate(log, e)) {
      e.preventDefault();
      e.stopPropagation(); // not the notebook's own arrow keys
    }
  });
  // Copy code, for every code block of every message (one listener).
  log.addEventListener('click', (e) => {
    const btn = e.target.closest && e.target.closest('.cw-copy-code');
    if (btn && log.contains(btn)) copyWithFeedback(btn, codeText(btn.closest('.cw-code')), ctx, 'Code');
  });
  jump.addEventListener('click', () => {
    stick = true;
    log.scrollTop = log.scrollHeight;
    updateJump();
  });

  // Alerts: the kernel is gone (certain, see connection.js), and the `error` trait.
  const offlineAlert = h('div', {
    class: 'cw-alert cw-panel-alert cw-offline-alert',
    role: 'alert',
    id: `${uid}-offline`,
    hidden: true,
  });
  const alert = h('div', { class: 'cw-alert cw-panel-alert', role: 'alert', hidden: true });
  const live = h('div', { class: 'cw-sr', role: 'status' }); // "Code copied" and the like
  const announceOffline = () => {
    // Said again on each try: an alert is announced when its text changes.
    setText(offlineAlert, '');
    raf(() => setText(offlineAlert, offline ? OFFLINE_TEXT : ''));
  };

  // Input row
  const input = h('textarea', {
    class: 'cw-input',
    rows: '1',
    'aria-label': 'Message',
    placeholder: PLACEHOLDER,
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
    if (!ctx.send(text)) return; // not sent: the draft stays
    input.value = '';
    resize();
    scrollDown();
  };
  input.addEventListener('keydown', (e) => {
    // Keep notebook keyboard shortcuts from seeing our typing.
    if (!e.ctrlKey && !e.metaKey) e.stopPropagation();
    if (e.key === 'Escape' && !e.isComposing) {
      e.preventDefault();
      log.focus({ preventScroll: true }); // leave the box for the transcript
      return;
    }
    if (e.key !== 'Enter' || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    submit();
  });
  input.addEventListener('input', resize);
  sendBtn.addEventListener('click', () => {
    submit();
    focusInput();
  });
  stopBtn.addEventListener('click', () => {
    conn.send({ type: 'stop' });
    focusInput(); // the Stop button hides; focus stays in the panel
  });
  newChat.addEventListener('click', () => {
    if (toKernel({ type: 'new_chat' })) stick = true;
    focusInput();
  });

  const heading = h('div', { class: 'cw-heading' }, title, badge);
  const root = h(
    'div',
    { class: 'cw-root' },
    h('div', { class: 'cw-header' }, heading, h('div', { class: 'cw-tools' }, newChat, status)),
    note,
    h('div', { class: 'cw-log-wrap' }, log, jump),
    alert,
    offlineAlert,
    live,
    h('div', { class: 'cw-input-row' }, input, stopBtn, sendBtn),
  );
  el.append(root);

  // The title gets a tooltip when it is cut.
  const fitTitle = () => setAttr(title, 'title', title.scrollWidth > title.clientWidth ? title.textContent : null);
  const sizes = typeof ResizeObserver === 'function' ? new ResizeObserver(() => fitTitle()) : null;
  if (sizes) sizes.observe(title);

  // [id, message, live] in transcript order, as of the last reconcile.
  let items = [];
  let fill = 0; // timer of the next backfill slice

  const drop = (id, v) => {
    v.destroy();
    v.el.remove();
    views.delete(id);
  };

  /** The view of one message, made if needed and brought up to date. */
  function renderItem(id, m, isLive) {
    const role = m.role === 'user' ? 'user' : 'assistant';
    let v = views.get(id);
    if (v && v.role !== role) {
      drop(id, v);
      v = null;
    }
    if (!v) {
      v = role === 'user' ? new UserMsg(id, ctx) : new AssistantMsg(id, ctx);
      v.latest = id === latestId;
      views.set(id, v);
    }
    // Entries of an unchanged transcript are the same objects: nothing to do.
    if (v.m !== m || v.live !== isLive) {
      v.m = m;
      v.live = isLive;
      v.update(m, isLive);
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
      const [id, m, isLive] = items[i];
      if (!views.has(id)) {
        if (made >= MIN_NEW && sliceSpent()) {
          waiting = true;
          continue;
        }
        made++;
      }
      renderItem(id, m, isLive);
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
    const add = (id, m, isLive) => {
      if (id == null || id === '' || seen.has(id)) return;
      seen.add(id);
      list.push([id, m, isLive]);
    };
    for (const m of transcript) if (m && typeof m === 'object') add(m.id, m, false);
    const pu = obj(pending.user);
    add(pu.id, { ...pu, role: 'user' }, false);
    const aid = pending.assistant_id;
    if (aid != null && !seen.has(aid)) {
      const b = state.buffers.get(aid);
      add(aid, { id: aid, role: 'assistant', text: b ? b.text : '', blocks: b && b.blocks }, true);
    }

    // The latest reply: the only one with Regenerate and with choices to pick.
    let latest = null;
    for (let i = list.length - 1; i >= 0 && latest == null; i--) if (list[i][1].role !== 'user') latest = list[i][0];
    if (latest !== latestId) {
      const old = views.get(latestId);
      latestId = latest;
      if (old) old.setLatest(false);
      const now = views.get(latest);
      if (now) now.setLatest(true);
    }

    items = list;
    if (renderItems() && !fill) fill = setTimeout(backfill, 0);
    for (const [id, v] of views) if (!seen.has(id)) drop(id, v);
    setAttr(root, 'data-empty', list.length ? null : 'true');

    // The error trait, unless it is already shown on a failed message.
    const err = str(get('error')).trim();
    const shown = err && transcript.some((m) => m && str(m.error).trim() === err);
    show(alert, !!err && !shown && !offline);
    setText(alert, alert.hidden ? '' : err);
  }

  function update() {
    frame = 0;
    beginSlice();
    const st = str(get('status')) || 'idle';
    const wasOffline = offline;
    offline = conn.lost;
    busy = !offline && BUSY.includes(st);
    const label = str(get('agent_label')) || 'Convocore agent';
    if (title.textContent !== label) {
      title.textContent = label;
      fitTitle();
    }
    const demo = !!get('is_demo');
    show(badge, demo);
    show(note, demo);
    setAttr(status, 'data-status', offline ? 'offline' : st);
    setText(statusText, offline ? 'not connected' : st);
    show(stopBtn, busy);
    if (sendBtn.disabled !== busy) sendBtn.disabled = busy;
    if (newChat.disabled !== busy) newChat.disabled = busy;
    // Not connected: the controls read as disabled, and the box keeps what is typed in it.
    for (const c of [input, sendBtn, newChat]) setAttr(c, 'aria-disabled', offline ? 'true' : null);
    setAttr(input, 'aria-describedby', offline ? offlineAlert.id : null);
    input.placeholder = offline ? PLACEHOLDER_OFFLINE : PLACEHOLDER;
    root.classList.toggle('cw-busy', busy);
    root.classList.toggle('cw-offline', offline);
    if (offline !== wasOffline) {
      show(offlineAlert, offline);
      setText(offlineAlert, offline ? OFFLINE_TEXT : '');
    }
    reconcile();
    scrollDown();
    updateJump();
  }

  const schedule = () => {
    if (!frame) frame = raf(update);
  };
  const events = ['agent_label', 'is_demo', 'status', 'error', 'transcript', 'pending'];
  for (const k of events) model.on('change:' + k, schedule);
  state.subs.add(schedule);
  conn.subs.add(schedule);
  const unwatch = conn.watch(el);
  update();
  conn.hello(); // a live kernel answers; until it does the panel is usable, not "live"

  return () => {
    for (const k of events) model.off('change:' + k, schedule);
    state.subs.delete(schedule);
    conn.subs.delete(schedule);
    unwatch();
    if (sizes) sizes.disconnect();
    if (ownState) ownState.dispose();
    if (frame) caf(frame);
    frame = 0;
    clearTimeout(fill);
    fill = 0;
    for (const v of views.values()) v.destroy();
    views.clear();
  };
}
