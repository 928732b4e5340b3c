// The transcript: the log of messages (one Tab stop, arrow keys inside, see
// keyboard.js), each message a view kept by its id so only new or changed entries
// are touched; a long transcript is drawn newest first and filled in upwards in
// time slices; it follows the newest text unless the reader scrolled up, when
// "Jump to latest" shows.
import { h, iconButton, show, arr, obj } from './dom.js';
import { beginSlice, sliceSpent } from './frame.js';
import { UserMsg, AssistantMsg, copyWithFeedback } from './messages.js';
import { codeText } from './enhance.js';
import { navigate } from './keyboard.js';
import { followBottom } from './follow.js';

/** @import { MessageContext, TranscriptEntry, UserEntry, AssistantEntry, Pending } from './types.js' */
/** @import { StreamBuffer } from './state.js' */
/** @typedef {UserMsg | AssistantMsg} AnyMessage a message's view */
/** One message to show: its id, its entry, and whether it is still streaming. @typedef {[id: string, entry: TranscriptEntry, live: boolean]} Item */

const MIN_NEW = 4; // messages made per render slice before its time budget counts
const ICON_DOWN = 'M12 5v14M5.5 12.5 12 19l6.5-6.5';

/**
 * The messages to show, in order: the transcript, then the pending prompt and the
 * reply in flight (drawn from its stream buffer). An id seen before is skipped;
 * `latest` is the id of the last reply (the only one with Regenerate and live choices).
 * @param {TranscriptEntry[] | undefined} transcript
 * @param {Pending | undefined} pending
 * @param {Map<string, StreamBuffer>} buffers
 * @returns {{items: Item[], latest: string | null}}
 */
export function panelItems(transcript, pending, buffers) {
  /** @type {Item[]} */
  const items = [];
  const seen = new Set();
  /** @param {string | undefined} id @param {TranscriptEntry} m @param {boolean} live */
  const add = (id, m, live) => {
    if (id == null || id === '' || seen.has(id)) return;
    seen.add(id);
    items.push([id, m, live]);
  };
  for (const m of arr(transcript)) if (m && typeof m === 'object') add(m.id, m, false);
  const p = obj(pending);
  const pu = obj(p.user);
  add(pu.id, /** @type {UserEntry} */ ({ ...pu, role: 'user' }), false);
  const aid = p.assistant_id;
  if (aid != null && !seen.has(aid)) {
    const b = buffers.get(aid);
    add(aid, { id: aid, role: 'assistant', text: b ? b.text : '', blocks: b && b.blocks }, true);
  }
  let latest = null;
  for (let i = items.length - 1; i >= 0 && latest == null; i--) if (items[i][1].role !== 'user') latest = items[i][0];
  return { items, latest };
}

/**
 * Draw `items` newest first. Once the slice's time budget is spent (and at least
 * MIN_NEW new messages were made), messages without a view wait for the next slice,
 * so a long transcript shows its end at once and fills in upwards without blocking
 * the page. Returns true while messages are waiting.
 * @param {Item[]} items @param {Map<string, AnyMessage>} views @param {(item: Item) => void} draw
 */
function drawNewestFirst(items, views, draw) {
  let made = 0;
  let waiting = false;
  for (let i = items.length - 1; i >= 0; i--) {
    if (!views.has(items[i][0])) {
      if (made >= MIN_NEW && sliceSpent()) {
        waiting = true;
        continue;
      }
      made++;
    }
    draw(items[i]);
  }
  return waiting;
}

/** Put the views of `items` in transcript order, moving only those out of place. @param {HTMLElement} log @param {Item[]} items @param {Map<string, AnyMessage>} views */
function putInOrder(log, items, views) {
  /** @type {ChildNode | null} */
  let cursor = null;
  for (const [id] of items) {
    const v = views.get(id);
    if (!v) continue;
    /** @type {ChildNode | null} */
    const want = cursor ? cursor.nextSibling : log.firstChild;
    if (v.el !== want) log.insertBefore(v.el, want);
    cursor = v.el;
  }
}

/**
 * What the list tells the log about its views: a view was made or dropped (its size is
 * watched), something was drawn.
 * @typedef {{made: (el: Element) => void, dropped: (el: Element) => void, drew: () => void}} ListHooks
 */

/** Remove a message's view. @param {Map<string, AnyMessage>} views @param {string} id @param {AnyMessage} v @param {ListHooks} on */
function dropView(views, id, v, on) {
  on.dropped(v.el);
  v.destroy();
  v.el.remove();
  views.delete(id);
}

/**
 * The view of one message, made if needed (a new view when the role changed) and
 * brought up to date.
 * @param {Map<string, AnyMessage>} views @param {MessageContext} ctx @param {ListHooks} on
 * @param {Item} item @param {string | null} latestId
 */
function drawItem(views, ctx, on, [id, m, live], latestId) {
  const role = m.role === 'user' ? 'user' : 'assistant';
  let v = views.get(id);
  if (v && v.role !== role) {
    dropView(views, id, v, on);
    v = undefined;
  }
  if (!v) {
    v = role === 'user' ? new UserMsg(id, ctx) : new AssistantMsg(id, ctx);
    v.latest = id === latestId;
    views.set(id, v);
    on.made(v.el);
  }
  // Entries of an unchanged transcript are the same objects: nothing to do.
  if (v.m !== m || v.live !== live) {
    v.m = m;
    v.live = live;
    v.update(/** @type {AssistantEntry} */ (m), live); // what is not the user's is drawn as a reply
  }
}

/**
 * The message views of a log, kept by id: `show(items, latest)` makes or updates the
 * view of each item (newest first, the rest in later tasks) and drops those of ids gone.
 * @param {HTMLElement} log @param {MessageContext} ctx @param {ListHooks} on
 */
function messageList(log, ctx, on) {
  /** @type {Map<string, AnyMessage>} */
  const views = new Map();
  /** @type {Item[]} */
  let items = [];
  /** @type {string | null} */
  let latestId = null;
  /** @type {ReturnType<typeof setTimeout> | 0} */
  let fill = 0; // timer of the next backfill slice
  const render = () => {
    const waiting = drawNewestFirst(items, views, (item) => drawItem(views, ctx, on, item, latestId));
    putInOrder(log, items, views);
    on.drew();
    return waiting;
  };
  /** One more slice of the messages still waiting (a task of its own, not a frame). */
  const backfill = () => {
    fill = 0;
    beginSlice();
    if (render()) fill = setTimeout(backfill, 0);
  };
  return {
    /** @param {Item[]} list @param {string | null} latest */
    show(list, latest) {
      if (latest !== latestId) {
        // The latest reply is the only one with Regenerate and with live choices.
        const old = views.get(/** @type {string} */ (latestId));
        latestId = latest;
        if (old) old.setLatest(false);
        const now = views.get(/** @type {string} */ (latest));
        if (now) now.setLatest(true);
      }
      items = list;
      if (render() && !fill) fill = setTimeout(backfill, 0);
      const seen = new Set(list.map(([id]) => id));
      for (const [id, v] of views) if (!seen.has(id)) dropView(views, id, v, on);
    },
    destroy() {
      clearTimeout(fill);
      fill = 0;
      for (const v of views.values()) v.destroy();
      views.clear();
    },
  };
}

/**
 * The keys of the log: Tab goes to the message box (`toComposer`, false when it cannot
 * take the focus), whatever the browser's idea of the next stop is after a re-render;
 * arrow keys move inside (keyboard.js) and do not reach the notebook's own shortcuts.
 * @param {HTMLElement} log @param {() => boolean} toComposer
 */
const logKeys = (log, toComposer) => (/** @type {KeyboardEvent} */ e) => {
  if (e.key === 'Tab' && !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey && toComposer()) {
    e.preventDefault();
    e.stopPropagation();
    return;
  }
  if (navigate(log, e)) {
    e.preventDefault();
    e.stopPropagation();
  }
};

/**
 * Copy code, for every code block of every message (one listener on the log).
 * @param {HTMLElement} log @param {MessageContext} ctx
 */
const copyCode = (log, ctx) => (/** @type {MouseEvent} */ e) => {
  const t = /** @type {Element} */ (e.target);
  const btn = /** @type {HTMLElement | null} */ (t.closest && t.closest('.cw-copy-code'));
  if (btn && log.contains(btn)) copyWithFeedback(btn, codeText(btn.closest('.cw-code')), ctx, 'Code');
};

/**
 * The transcript: the log and Jump to latest. It follows the newest text unless the
 * reader scrolled up (follow.js); then Jump to latest shows.
 * @param {HTMLElement} host the view's element (its root node knows the focus)
 * @param {MessageContext} ctx what messages may do
 * @param {{toComposer: () => boolean}} on
 */
export function buildTranscript(host, ctx, on) {
  const log = h('div', { class: 'cw-log', role: 'log', 'aria-label': 'Conversation', tabindex: '0' });
  const jump = iconButton({ class: 'cw-jump', hidden: true }, ICON_DOWN, 'Jump to latest');
  const updateJump = () => {
    // (the panel may sit in a shadow root, as in marimo: ask its own root what has the focus)
    const root = /** @type {Document | ShadowRoot} */ (host.getRootNode());
    if (bottom.following && jump.contains(root.activeElement)) log.focus({ preventScroll: true });
    show(jump, !bottom.following);
  };
  const bottom = followBottom(log, updateJump);
  log.addEventListener('keydown', logKeys(log, on.toComposer));
  log.addEventListener('click', copyCode(log, ctx));
  jump.addEventListener('click', bottom.follow);
  const list = messageList(log, ctx, { made: bottom.watch, dropped: bottom.unwatch, drew: bottom.drew });
  return {
    el: h('div', { class: 'cw-log-wrap' }, log, jump),
    /** Move the focus to the log (Escape in the message box). */
    focus: () => log.focus({ preventScroll: true }),
    /** Follow the newest text again (the person asked something). */
    follow: bottom.follow,
    /**
     * Show these messages (`latest`: the last reply's id). Only writes to the page:
     * following the newest text happens once the browser has laid them out (follow.js).
     * @param {Item[]} items @param {string | null} latest
     */
    show(items, latest) {
      list.show(items, latest);
      updateJump();
    },
    dispose() {
      bottom.dispose();
      list.destroy();
    },
  };
}
