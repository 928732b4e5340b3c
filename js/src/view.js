// The chat panel, put together: the header (header.js, with Export and Expand), the
// transcript (transcript.js), the starter prompts (suggestions.js), the alerts, the
// composer (composer.js) and the resize handle (size.js), wired to the model and to the
// kernel connection. Data flows one way: a trait, a streamed delta or the
// connection changes -> one update per frame reads them (`readPanel`, `panelItems`)
// -> each part's `update` draws it. What the person does reaches the kernel through
// `kernelActions`, which holds it back while a reply is in flight or the kernel is gone.
import { h, raf, str, arr, setText, show, setAttr, listen } from './dom.js';
import { beginSlice, drawSoon, cancelDraw } from './frame.js';
import { lookupState, createState } from './state.js';
import { OFFLINE_TEXT, probe } from './connection.js';
import { buildHeader, newChatTool } from './header.js';
import { buildTranscript, panelItems } from './transcript.js';
import { buildComposer } from './composer.js';
import { showProblems } from './forms.js';
import { showTestSaved } from './savetest.js';
import { versionPicker } from './versions.js';
import { buildSuggestions } from './suggestions.js';
import { exportTool } from './export.js';
import { buildSize } from './size.js';

/** @import { Model, PanelState, MessageContext, KernelMessage, AssistantEntry } from './types.js' */
/** @import { PanelModelState } from './state.js' */
/** @import { Connection } from './connection.js' */

export { HANDOFF_TEXT } from './messages.js';
export { OFFLINE_TEXT } from './connection.js';
export { DEMO_NOTE } from './header.js';

const BUSY = ['connecting', 'streaming'];
/** The traits the panel draws: a change to any of them schedules an update. */
const DRAWN = ['agent_label', 'is_demo', 'status', 'error', 'transcript', 'pending', 'height', 'suggestions'];
let panels = 0;

/** Build the panel into `el`; returns a cleanup function. @param {Model} model @param {HTMLElement} el */
export function mountView(model, el) {
  // Normally initialize() made the state; without it, the view owns one.
  let state = lookupState(model);
  const ownState = !state && (state = createState(model));
  const panel = buildPanel(model, state, el);
  el.append(panel.frame);
  const unfollow = followModel(model, state, el, panel.update);
  state.conn.hello(); // a live kernel answers; until it does the panel is usable, not "live"
  const unprobe = probe(state.conn, el, () => !panel.busy());
  return () => {
    unprobe();
    unfollow();
    panel.dispose();
    if (ownState) ownState.dispose();
  };
}

/**
 * The panel's parts, wired together; `update` draws the model's current state.
 * @param {Model} model @param {PanelModelState} state @param {HTMLElement} host
 */
function buildPanel(model, state, host) {
  /** @type {PanelState} */
  let panel = { label: '', demo: false, status: 'idle', offline: false, busy: false };
  const alerts = buildAlerts(`cw-${++panels}`);
  const act = kernelActions(
    state.conn,
    () => panel,
    alerts,
    () => transcript.follow(),
    () => composer.focus(),
  );
  const versions = versionPicker(() => update());
  act.message.showVersion = versions.pick;
  act.message.edit = (id, text) => composer.edit(id, text);
  const exporter = exportTool(model, act.exportAs, alerts.announce);
  const root = h('div', { class: 'cw-root' });
  const transcript = buildTranscript(host, act.message, { toComposer: () => composer.takeFocus() });
  const size = buildSize(root, () => /** @type {HTMLElement} */ (root.querySelector('.cw-log')));
  const header = buildHeader([newChatTool(act.newChat), exporter, size.tool]);
  const composer = buildComposer(
    {
      send: act.message.send,
      edit: act.edit,
      sent: () => transcript.follow(),
      stop: act.stop,
      leave: () => transcript.focus(),
    },
    alerts.offlineId,
  );
  const suggestions = buildSuggestions(act.message.send);
  root.prepend(header.el, header.note, transcript.el, suggestions.el, ...alerts.els, composer.banner, composer.el);

  const update = () => {
    panel = readPanel(model, state.conn);
    header.update(panel);
    composer.update(panel);
    size.setHeight(model.get('height'));
    root.classList.toggle('cw-busy', panel.busy);
    root.classList.toggle('cw-offline', panel.offline);
    alerts.setOffline(panel.offline);
    alerts.setError(errorToShow(model, panel));
    const pending = model.get('pending');
    const entries = versions.entries(model.get('transcript'), panel.busy);
    suggestions.update(model.get('suggestions'), entries, !!(pending && pending.user));
    const { items, latest } = panelItems(entries, pending, state.buffers);
    setAttr(root, 'data-empty', items.length ? null : 'true');
    transcript.show(items, latest);
  };
  const dispose = () => {
    header.dispose();
    transcript.dispose();
  };
  return { frame: size.frame, update, dispose, busy: () => panel.busy };
}

/** What the panel shows, from the traits and the connection. @param {Model} model @param {Connection} conn @returns {PanelState} */
function readPanel(model, conn) {
  const status = str(model.get('status')) || 'idle';
  const offline = conn.lost;
  return {
    label: str(model.get('agent_label')) || 'Convocore agent',
    demo: !!model.get('is_demo'),
    status,
    offline,
    busy: !offline && BUSY.includes(status),
  };
}

/** The `error` trait, unless a failed message already shows it or the kernel is gone ('' for none). @param {Model} model @param {PanelState} panel */
function errorToShow(model, panel) {
  const err = str(model.get('error')).trim();
  const entries = arr(model.get('transcript'));
  const shown = err && entries.some((m) => m && str(/** @type {AssistantEntry} */ (m).error).trim() === err);
  return err && !shown && !panel.offline ? err : '';
}

/**
 * What the person can ask of the kernel, for the messages (`message`), New chat and
 * Stop. Nothing goes out while a reply is in flight; when the kernel is known to be
 * gone, the alert is said again and the kernel asked whether it is back. `send` is
 * false when nothing went out, so the caller keeps what the person typed.
 * @param {Connection} conn
 * @param {() => PanelState} now
 * @param {{repeatOffline: () => void, announce: (text: string) => void}} alerts
 * @param {() => void} follow the transcript follows the new text
 * @param {() => void} focusBox the focus returns to the message box
 */
function kernelActions(conn, now, alerts, follow, focusBox) {
  /** @param {KernelMessage} msg */
  const toKernel = (msg) => {
    const panel = now();
    if (panel.busy) return false;
    if (panel.offline) return offline();
    return conn.send(msg);
  };
  /** The kernel is gone: say so again, ask whether it is back; nothing went out. */
  const offline = () => {
    conn.hello();
    alerts.repeatOffline();
    return false;
  };
  /** @type {MessageContext} */
  const message = {
    send(text) {
      if (!toKernel({ type: 'send', text })) return false;
      follow();
      focusBox();
      return true;
    },
    retry(id) {
      toKernel({ type: 'retry', id });
      focusBox();
    },
    regenerate(id) {
      if (toKernel({ type: 'regenerate', id })) follow();
      focusBox();
    },
    feedback(id, value, note) {
      return now().offline ? offline() : conn.send({ type: 'feedback', id, value, note }); // also while a reply streams
    },
    edit() {}, // set by the panel: the composer takes the prompt
    showVersion() {}, // set by the panel: its own version picker
    submit(id, block, values) {
      if (!toKernel({ type: 'submit_form', id, block, values })) return false;
      follow();
      focusBox();
      return true;
    },
    saveTest(id) {
      return now().offline ? offline() : conn.send({ type: 'save_test', id }); // also while a reply streams
    },
    announce: alerts.announce,
  };
  const newChat = () => {
    if (toKernel({ type: 'new_chat' })) follow();
    focusBox();
  };
  const stop = () => {
    conn.send({ type: 'stop' }); // not held back: Stop is for a reply in flight
  };
  /** @param {string} id @param {string} text */
  const edit = (id, text) => {
    if (!toKernel({ type: 'edit', id, text })) return false;
    follow();
    return true;
  };
  /** Export's request: answered while a reply streams too (the finished messages). @param {'markdown' | 'json'} format @param {string} request */
  const exportAs = (format, request) => (now().offline ? offline() : conn.send({ type: 'export', format, request }));
  return { message, newChat, stop, edit, exportAs };
}

/**
 * The alerts between the transcript and the composer: the kernel is gone (certain, see
 * connection.js), the `error` trait, and a polite live region for "Code copied" and the like.
 * @param {string} uid
 */
function buildAlerts(uid) {
  const offline = h('div', {
    class: 'cw-alert cw-panel-alert cw-offline-alert',
    role: 'alert',
    id: `${uid}-offline`,
    hidden: true,
  });
  const error = h('div', { class: 'cw-alert cw-panel-alert', role: 'alert', hidden: true });
  const live = h('div', { class: 'cw-sr', role: 'status' });
  let isOffline = false;
  return {
    els: [error, offline, live],
    offlineId: offline.id,
    /** @param {string} text */
    announce(text) {
      setText(live, '');
      raf(() => setText(live, text));
    },
    /** Say "not connected" again: an alert is announced when its text changes. */
    repeatOffline() {
      setText(offline, '');
      raf(() => setText(offline, isOffline ? OFFLINE_TEXT : ''));
    },
    /** @param {boolean} on */
    setOffline(on) {
      if (on === isOffline) return;
      isOffline = on;
      show(offline, on);
      setText(offline, on ? OFFLINE_TEXT : '');
    },
    /** @param {string} text the error to show, '' for none */
    setError(text) {
      show(error, !!text);
      setText(error, text);
    },
  };
}

/**
 * Draw the panel now and, after any change it shows (a trait, a streamed delta (state.js)
 * or the connection), in a coming frame with the other panels (frame.js). Returns the
 * function that stops following.
 * @param {Model} model @param {PanelModelState} state @param {HTMLElement} host @param {() => void} update
 */
function followModel(model, state, host, update) {
  const schedule = () => drawSoon(update);
  const unlisten = listen(model, {
    ...Object.fromEntries(DRAWN.map((k) => ['change:' + k, schedule])),
    'msg:custom': (/** @type {unknown} */ msg) => {
      showProblems(host, msg); // what the kernel found wrong with a form
      showTestSaved(host, msg); // where Save as test wrote
    },
  });
  state.subs.add(schedule);
  state.conn.subs.add(schedule);
  const unwatch = state.conn.watch(host);
  beginSlice();
  update();
  return () => {
    unlisten();
    state.subs.delete(schedule);
    state.conn.subs.delete(schedule);
    unwatch();
    cancelDraw(update);
  };
}
