// Model-level state, shared by every view of the same model: streamed text, the
// transcript kept whole from the messages each turn appends, and the connection.
//
// Deltas arrive on the `stream` trait. They are accumulated here (not per
// view) so two views of one widget show identical text and a view created
// later starts from what has arrived so far.

import { createConnection } from './connection.js';
import { listen } from './dom.js';

/** @import { Model, StreamValue, TranscriptEntry, TranscriptTail } from './types.js' */
/** @import { Connection } from './connection.js' */

/**
 * The text (or blocks) streamed so far for one reply.
 * @typedef {object} StreamBuffer
 * @property {string} id
 * @property {string} text
 * @property {number} end the source offset the text ends at (== its length unless a gap was skipped)
 * @property {import('./types.js').Block[] | null} blocks
 * @property {number} version
 */

/**
 * What every view of one model shares.
 * @typedef {object} PanelModelState
 * @property {Map<string, StreamBuffer>} buffers the reply in flight, by id
 * @property {Set<() => void>} subs called when a buffer changed
 * @property {Connection} conn
 * @property {() => void} dispose
 */

/** Number of Unicode code points in `s` (Python's len()). @param {string} s */
export function cpLength(s) {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c >= 0xdc00 && c <= 0xdfff && i > 0) {
      const p = s.charCodeAt(i - 1);
      if (p >= 0xd800 && p <= 0xdbff) n--;
    }
  }
  return n;
}

/** `s` without its first `k` code points. @param {string} s @param {number} k */
export function cpSlice(s, k) {
  let i = 0;
  while (k > 0 && i < s.length) {
    const c = s.charCodeAt(i);
    i += c >= 0xd800 && c <= 0xdbff && i + 1 < s.length ? 2 : 1;
    k--;
  }
  return s.slice(i);
}

/**
 * Apply one `stream` trait value to `buffers` (Map id -> buffer).
 * Offsets count code points, as Python's str does.
 * Returns the affected id, or null when the value is not a delta.
 * @param {Map<string, StreamBuffer>} buffers
 * @param {StreamValue | null | undefined} delta
 * @returns {string | null}
 */
export function applyDelta(buffers, delta) {
  if (!delta || typeof delta !== 'object' || delta.id == null || delta.id === '') return null;
  const id = delta.id;
  let b = buffers.get(id);
  if (!b) {
    b = { id, text: '', end: 0, blocks: null, version: 0 };
    buffers.set(id, b);
  }
  if (Array.isArray(delta.blocks)) b.blocks = delta.blocks;
  if (typeof delta.text === 'string' && delta.text) {
    // `end` is the source offset our buffer ends at (== its length unless a
    // gap was skipped). off === end: append; off > end: gap, append anyway
    // and continue from there; off < end: overlap, append only the new part.
    const off = typeof delta.offset === 'number' && delta.offset >= 0 ? delta.offset : b.end;
    const n = cpLength(delta.text);
    if (off + n > b.end) {
      b.text += off >= b.end ? delta.text : cpSlice(delta.text, b.end - off);
      b.end = off + n;
    }
  }
  b.version++;
  return id;
}

/**
 * `transcript` with the tail's entries merged in: a new id is appended, a known id
 * whose entry changed (a form sent, see widget.py's `_show_sent`) takes its place, and
 * an entry already held as it is is skipped (after a page reload the full transcript
 * has them). Returns null when nothing changed, so the caller need not set anything.
 * @param {TranscriptEntry[] | undefined} transcript
 * @param {TranscriptTail | null | undefined} tail
 * @returns {TranscriptEntry[] | null}
 */
export function mergeTail(transcript, tail) {
  const entries = tail && Array.isArray(tail.entries) ? tail.entries : [];
  const have = Array.isArray(transcript) ? transcript : [];
  const at = new Map(have.map((m, i) => [m && m.id, i]));
  /** @type {TranscriptEntry[] | null} */
  let out = null;
  for (const m of entries) {
    if (!m || typeof m !== 'object') continue;
    const i = at.get(m.id);
    if (i === undefined) {
      out = out || [...have];
      at.set(m.id, out.push(m) - 1);
    } else if (JSON.stringify(have[i]) !== JSON.stringify(m)) (out = out || [...have])[i] = m;
  }
  return out;
}

// anywidget hands initialize() and every render() a fresh proxy object for the
// same model, so the proxy is no key. The kernel gives each panel a stable id in
// the `_panel_id` trait; states are kept by it until initialize()'s cleanup.
/** @type {Map<string | Model, PanelModelState>} */
const STATES = new Map();
/** @param {Model} model */
const keyOf = (model) => model.get('_panel_id') || model;

/** The state already made for this model (by initialize or an earlier view), if any. @param {Model} model */
export function lookupState(model) {
  return STATES.get(keyOf(model)) || null;
}

/** The shared state of `model`: found, or created and wired to the model. @param {Model} model */
export function modelState(model) {
  return lookupState(model) || createState(model);
}

/**
 * Make the shared state for `model` and wire it to the model's events.
 * @param {Model} model
 * @returns {PanelModelState}
 */
export function createState(model) {
  /** @type {Map<string, StreamBuffer>} */
  const buffers = new Map();
  /** @type {Set<() => void>} */
  const subs = new Set();
  /** @type {Set<string | undefined>} */
  let done = new Set();
  const key = keyOf(model);
  const emit = () => subs.forEach((f) => f());
  const onStream = () => {
    const d = model.get('stream');
    if (d && done.has(d.id)) return; // late delta for a finished message
    if (applyDelta(buffers, d) != null) emit();
  };
  const onTranscript = () => {
    const t = model.get('transcript');
    done = new Set(Array.isArray(t) ? t.map((m) => m && m.id) : []);
    for (const id of done) buffers.delete(/** @type {string} */ (id));
  };
  // Each turn the kernel sends only the new messages (`transcript_tail`) and appends
  // them to its own list in place. This front end does the same to its `transcript`:
  // views redraw from it, and saved widget state, which is this model's state, holds
  // the whole conversation. In place, not with `model.set`: a set would mark the list
  // as changed here, and the next `save_changes` (answer.js) would send it all back to
  // the kernel (ipywidgets then also ignores the kernel's later updates of it).
  const onTail = () => {
    const have = model.get('transcript');
    const merged = mergeTail(have, model.get('transcript_tail'));
    if (!merged) return;
    if (!Array.isArray(have)) {
      model.set('transcript', merged);
      return;
    }
    have.length = 0;
    for (const m of merged) have.push(m);
    onTranscript();
    emit();
  };
  const onPending = () => {
    const p = model.get('pending');
    const cur = p && p.assistant_id;
    // A new prompt: buffers of earlier turns are no longer needed.
    if (cur != null) for (const id of buffers.keys()) if (id !== cur) buffers.delete(id);
  };
  const conn = createConnection(model);
  /** @type {PanelModelState} */
  const s = {
    buffers,
    subs,
    conn,
    dispose() {
      conn.dispose();
      unlisten();
      subs.clear();
      buffers.clear();
      if (STATES.get(key) === s) STATES.delete(key);
    },
  };
  STATES.set(key, s);
  const unlisten = listen(model, {
    'change:transcript': onTranscript,
    'change:pending': onPending,
    'change:stream': onStream,
    'change:transcript_tail': onTail,
  });
  onTranscript();
  onTail(); // state restored with a tail not yet merged (the kernel empties it on any replacement)
  onStream();
  return s;
}
