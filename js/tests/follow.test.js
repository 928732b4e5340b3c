// Following the newest text (follow.js): the log stays at its bottom while it grows,
// and only the reader scrolling up (wheel, touch, keys, a press on the scrollbar)
// stops that; layout changes never do (jsdom, with the layout faked).
import { describe, it, expect, vi, afterEach } from 'vitest';
import { mount, fakeScroll, fakeResizeObserver, tearDown, q, byText, user, reply, frames } from './helpers.js';

afterEach(tearDown);

/** A panel streaming reply a1 at its bottom, with the log's layout and size changes faked. */
async function streaming() {
  const sizes = fakeResizeObserver();
  const { model, el } = mount();
  const log = q(el, '[role="log"]');
  const scroll = fakeScroll(log);
  model.set('pending', { user: user('u1', 'tell me a long story'), assistant_id: 'a1' });
  model.set('status', 'streaming');
  model.set('stream', { id: 'a1', offset: 0, text: 'Once upon a time' });
  await frames();
  const msg = q(el, '[data-id="a1"]');
  sizes.resized(msg);
  expect(scroll.top).toBe(600);
  /** The reply grows by `px` and the browser reports it. */
  const grow = (px) => {
    scroll.height += px;
    sizes.resized(msg);
  };
  return { model, el, log, scroll, sizes, msg, grow, jump: byText(el, 'Jump to latest') };
}

describe('following the newest text', () => {
  it('stays at the bottom when the text grows, without reading the layout on the render path', async () => {
    const { model, log, scroll, grow, jump } = await streaming();
    const reads = vi.spyOn(log, 'scrollHeight', 'get');
    model.set('stream', { id: 'a1', offset: 16, text: ' there was a panel.' });
    await frames();
    expect(reads).not.toHaveBeenCalled(); // drawing the new text asked nothing of the layout
    grow(300); // the browser laid it out: 300 px more
    expect(scroll.top).toBe(900);
    expect(jump.hidden).toBe(true);
  });

  it('a scroll up that nobody asked for (a page skipped off-screen, a re-render) is undone', async () => {
    const { scroll, grow, jump } = await streaming();
    grow(2000);
    scroll.moved(0); // Chromium lays out a page newly given content-visibility at its placeholder size
    expect(scroll.top).toBe(2600);
    expect(jump.hidden).toBe(true);
    grow(100);
    expect(scroll.top).toBe(2700);
  });

  it('an image loading or a resize above the bottom keeps it followed', async () => {
    const { log, scroll, sizes, msg, jump } = await streaming();
    scroll.height += 250; // an image in an earlier message loaded
    sizes.resized(msg.previousElementSibling);
    expect(scroll.top).toBe(850);
    scroll.height += 100; // the panel got narrower: everything wraps more
    sizes.resized(log);
    expect(scroll.top).toBe(950);
    expect(jump.hidden).toBe(true);
  });

  it('a wheel turned up stops following at once, and the text then grows below the reader', async () => {
    const { log, scroll, grow, jump } = await streaming();
    log.dispatchEvent(new WheelEvent('wheel', { deltaY: -120, bubbles: true }));
    expect(jump.hidden).toBe(false); // before any scroll event: a pin now would cancel the smooth scroll
    grow(300);
    expect(scroll.top).toBe(600);
    scroll.moved(480);
    grow(300);
    expect(scroll.top).toBe(480); // where the reader put it
    expect(jump.hidden).toBe(false);
    jump.click();
    expect(scroll.top).toBe(1200);
    expect(jump.hidden).toBe(true);
    grow(50);
    expect(scroll.top).toBe(1250); // following again
  });

  it('a wheel over a code block that scrolls up itself does not stop following', async () => {
    const { el, scroll, grow, jump } = await streaming();
    const code = document.createElement('pre');
    q(el, '[data-id="a1"] .cw-md').append(code);
    Object.defineProperty(code, 'scrollTop', { get: () => 40 });
    code.dispatchEvent(new WheelEvent('wheel', { deltaY: -120, bubbles: true }));
    expect(jump.hidden).toBe(true);
    grow(100);
    expect(scroll.top).toBe(700);
  });

  for (const [how, act, release] of [
    ['a key', (log) => log.dispatchEvent(new KeyboardEvent('keydown', { key: 'PageUp', bubbles: true })), null],
    ['a touch', (log) => log.dispatchEvent(new Event('touchstart', { bubbles: true })), 'touchend'],
    ['a scrollbar drag', (log) => log.dispatchEvent(new MouseEvent('mousedown', { bubbles: true })), 'mouseup'],
  ]) {
    it(`a scroll up by ${how} stops following; the same scroll by itself later does not`, async () => {
      const { log, scroll, grow, jump } = await streaming();
      let t = 1000;
      vi.spyOn(performance, 'now').mockImplementation(() => t);
      act(log);
      scroll.moved(200);
      if (release) window.dispatchEvent(new Event(release));
      expect(jump.hidden).toBe(false);
      grow(100);
      expect(scroll.top).toBe(200);
      scroll.moved(700); // back at the bottom: following again
      expect(jump.hidden).toBe(true);
      t += 5000; // long after the reader's last action
      scroll.moved(300);
      expect(scroll.top).toBe(700);
      expect(jump.hidden).toBe(true);
    });
  }

  it('a short transcript that fits has nothing to scroll: a wheel up changes nothing', async () => {
    const sizes = fakeResizeObserver();
    const { el } = mount({ transcript: [user('u1', 'Hi'), reply('a1', 'Hello')] });
    const log = q(el, '[role="log"]');
    expect(sizes.watched(log)).toBe(true);
    expect(sizes.watched(q(el, '[data-id="a1"]'))).toBe(true);
    log.dispatchEvent(new WheelEvent('wheel', { deltaY: -120, bubbles: true }));
    expect(byText(el, 'Jump to latest').hidden).toBe(true);
  });

  it('stops watching the messages it drops and everything when disposed', async () => {
    const sizes = fakeResizeObserver();
    const { model, el } = mount({ transcript: [user('u1', 'Hi'), reply('a1', 'Hello')] });
    const a1 = q(el, '[data-id="a1"]');
    expect(sizes.watched(a1)).toBe(true);
    model.set('transcript', [user('u1', 'Hi')]);
    await frames();
    expect(sizes.watched(a1)).toBe(false);
    el.dispose();
    expect(sizes.watched(q(el, '[role="log"]'))).toBe(false);
  });
});
