// One animation frame for every panel on the page, and the time slice its drawing
// may take.
//
// Each panel asks to be drawn (`drawSoon`); once a frame, the panels waiting are
// drawn in the order they asked, while the frame's budget lasts: a few ms of script
// and a number of characters of markdown rendered again, which stands for the
// browser's own layout of them afterwards (a streaming reply's open paragraph is laid
// out whole each time it changes). The first is always drawn; the rest wait for the
// next frame at the head of the line. With three replies of long paragraphs
// streaming at once each frame then lays out about one of them instead of all three,
// and no frame grows with the number of panels.
import { raf, now } from './dom.js';

const BUDGET = 8; // ms of script per slice, shared by all panels and streams
const CHARS = 30_000; // characters of markdown rendered per slice, shared likewise

/**
 * What all panels on the page share. anywidget loads this module once per widget (a
 * module URL of its own each), so module variables would be one panel's; the page's
 * global object holds the one copy (its shape is versioned in the key).
 * @typedef {{waiting: Set<() => void>, frame: number, start: number, chars: number}} Shared
 */
const KEY = Symbol.for('convowidget.frame/1');
const G = /** @type {Record<symbol, Shared | undefined>} */ (/** @type {unknown} */ (globalThis));
/** @type {Shared} */
const shared = G[KEY] || (G[KEY] = { waiting: new Set(), frame: 0, start: 0, chars: 0 });

/** Start a new time slice (at the beginning of each frame or task that draws). */
export function beginSlice() {
  shared.start = now();
  shared.chars = 0;
}

/** True when the current slice is used up (the caller should leave the rest for later). */
export const sliceSpent = () => shared.chars > CHARS || now() - shared.start > BUDGET;

/** Count `n` characters of markdown rendered in this slice. @param {number} n */
export function charge(n) {
  shared.chars += n;
}

function drawFrame() {
  shared.frame = 0;
  beginSlice();
  let drawn = 0;
  for (const job of [...shared.waiting]) {
    if (drawn && sliceSpent()) break;
    shared.waiting.delete(job);
    job();
    drawn++;
  }
  if (shared.waiting.size && !shared.frame) shared.frame = raf(drawFrame);
}

/** Run `job` in the next frame with the others (once, however often it is asked). @param {() => void} job */
export function drawSoon(job) {
  shared.waiting.add(job);
  if (!shared.frame) shared.frame = raf(drawFrame);
}

/** `job` is no longer wanted. @param {() => void} job */
export function cancelDraw(job) {
  shared.waiting.delete(job);
}
