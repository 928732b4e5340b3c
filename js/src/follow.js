// Following the newest text: the transcript stays at its bottom while it grows, until
// the reader scrolls up.
//
// "The reader scrolled up" is decided from what the reader does (a wheel turned up, a
// touch, a key, a press on the log such as a scrollbar drag), never from how far the
// log happens to be from its bottom when a scroll event fires: a re-render, an image
// loading, a page of a long reply the browser starts to skip off-screen, or a resize
// can move the scroll position as well, and none of them is a reason to stop following.
// A scroll up nobody asked for is undone while following; reaching the bottom again
// (by any means) follows again.
//
// Nothing here reads the layout on the render path. A ResizeObserver says, after the
// browser's own layout and before it paints, that the messages or the log changed
// size; only then are the log's heights read (cheap: the layout is clean) and its
// scroll position set. With several panels streaming that is one layout a frame for
// all of them, where reading `scrollHeight` after each render forced one per panel.
import { now, raf, caf } from './dom.js';

export const STICK_PX = 40; // this close to the bottom, the log follows new text
const READER_MS = 1000; // a scroll up this soon after the reader's wheel, touch or key is theirs

/**
 * Whether a wheel turned up over `target` scrolls something inside `log` rather than
 * the log: a code block or table that can still scroll up takes it first.
 * @param {EventTarget | null} target @param {HTMLElement} log
 */
function innerScrollsUp(target, log) {
  for (let n = /** @type {Element | null} */ (target); n && n !== log; n = n.parentElement) {
    if (n.scrollTop > 0) return true;
  }
  return false;
}

/**
 * Keep `log` at its bottom while following. `changed(following)` is called when
 * following stops (the reader scrolled up) or starts again.
 * @param {HTMLElement} log the scroller
 * @param {(following: boolean) => void} changed
 */
export function followBottom(log, changed) {
  let following = true;
  let seen = 0; // the scroll position the log was last seen at
  let acted = -Infinity; // when the reader last turned a wheel, touched or pressed a key on the log
  let pressed = false; // a mouse button or a finger is down on the log (scrollbar, selection, touch)
  let frame = 0;
  const readerScrolls = () => pressed || now() - acted < READER_MS;
  /** @param {boolean} on */
  const set = (on) => {
    if (on === following) return;
    following = on;
    changed(on);
  };
  /** Scroll to the bottom if following. Only where the layout is clean (an observer, an event, a frame). */
  const pin = () => {
    if (!following) return;
    const bottom = log.scrollHeight - log.clientHeight;
    if (bottom - log.scrollTop > 0.5) log.scrollTop = bottom;
    seen = log.scrollTop;
  };
  const pinSoon = () => {
    if (!frame) {
      frame = raf(() => {
        frame = 0;
        pin();
      });
    }
  };
  const sizes = typeof ResizeObserver === 'function' ? new ResizeObserver(pin) : null;
  sizes?.observe(log);

  const onScroll = () => {
    const top = log.scrollTop;
    if (log.scrollHeight - top - log.clientHeight <= STICK_PX) set(true);
    else if (top < seen - 1 && readerScrolls()) set(false);
    else if (following) pin(); // moved up by a layout change, not by the reader
    seen = log.scrollTop;
  };
  /** @param {WheelEvent} e */
  const onWheel = (e) => {
    acted = now();
    // Stop following at once, before the scroll event: pinning during the browser's
    // smooth scroll would cancel it.
    if (e.deltaY < 0 && !e.ctrlKey && log.scrollTop > 0 && !innerScrollsUp(e.target, log)) set(false);
  };
  const onAct = () => {
    acted = now();
  };
  const onPress = () => {
    pressed = true;
    acted = now();
  };
  const onRelease = () => {
    if (!pressed) return;
    pressed = false;
    acted = now(); // a fling or a drag may still be scrolling
  };
  /** @type {[EventTarget, string, EventListener][]} */
  const listeners = [
    [log, 'scroll', onScroll],
    [log, 'wheel', /** @type {EventListener} */ (onWheel)],
    [log, 'keydown', onAct],
    [log, 'touchmove', onAct],
    [log, 'mousedown', onPress],
    [log, 'touchstart', onPress],
    [window, 'mouseup', onRelease],
    [window, 'touchend', onRelease],
    [window, 'touchcancel', onRelease],
    [window, 'blur', onRelease],
  ];
  for (const [t, name, f] of listeners) t.addEventListener(name, f, { passive: true, capture: t === window });

  return {
    get following() {
      return following;
    },
    /** Follow again and go to the bottom (the person sent something, or asked to). */
    follow() {
      set(true);
      pin();
    },
    /** The messages drew something: without a ResizeObserver, pin in the next frame. */
    drew() {
      if (!sizes && following) pinSoon();
    },
    /** Watch a message's size (its text growing, its images loading, its pages skipped). @param {Element} el */
    watch(el) {
      sizes?.observe(el);
    },
    /** @param {Element} el */
    unwatch(el) {
      sizes?.unobserve(el);
    },
    dispose() {
      sizes?.disconnect();
      if (frame) caf(frame);
      frame = 0;
      for (const [t, name, f] of listeners) t.removeEventListener(name, f, { capture: t === window });
    },
  };
}
