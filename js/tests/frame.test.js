// One frame for every panel (frame.js): panels are drawn once a frame in the order they
// asked, while the frame's budget lasts, so a frame's work does not grow with the
// number of panels streaming long replies.
import { describe, it, expect, afterEach } from 'vitest';
import { drawSoon, cancelDraw, charge } from '../src/frame.js';
import { mount, noTimeSlicing, tearDown, q, user, frames, nextFrame } from './helpers.js';

afterEach(tearDown);

describe('one frame for every panel', () => {
  it('runs each job once a frame, in the order asked, however often it was asked', async () => {
    noTimeSlicing();
    const ran = [];
    const a = () => ran.push('a');
    const b = () => ran.push('b');
    drawSoon(a);
    drawSoon(b);
    drawSoon(a);
    expect(ran).toEqual([]);
    await nextFrame();
    expect(ran).toEqual(['a', 'b']);
    drawSoon(b);
    cancelDraw(b);
    await frames(2);
    expect(ran).toEqual(['a', 'b']);
  });

  it('leaves the rest for the next frame once one has rendered a lot, first in line then', async () => {
    noTimeSlicing();
    const ran = [];
    const heavy = (name) => {
      const job = () => {
        ran.push(name);
        charge(70_000);
        if (name === 'a' && ran.length === 1) drawSoon(job); // asks again: behind the others
      };
      return job;
    };
    ['a', 'b', 'c'].map(heavy).forEach(drawSoon);
    await nextFrame();
    expect(ran).toEqual(['a']);
    await nextFrame();
    expect(ran).toEqual(['a', 'b']);
    await frames(2);
    expect(ran).toEqual(['a', 'b', 'c', 'a']);
  });

  it('is one for the page, though anywidget loads the module once per widget', async () => {
    noTimeSlicing();
    const other = await import('../src/frame.js?another-widget');
    expect(other.drawSoon).not.toBe(drawSoon); // a copy of its own, as anywidget gives each widget
    const ran = [];
    drawSoon(() => {
      ran.push('here');
      charge(70_000);
    });
    other.drawSoon(() => ran.push('there'));
    await nextFrame();
    expect(ran).toEqual(['here']); // the same frame and the same budget
    await nextFrame();
    expect(ran).toEqual(['here', 'there']);
  });

  it('draws three panels streaming long paragraphs one a frame, each in turn', async () => {
    noTimeSlicing();
    const panels = [1, 2, 3].map(() => mount().model);
    await frames();
    const text = 'abcdefghi '.repeat(7000); // one open paragraph, rendered again on each delta
    panels.forEach((model, i) => {
      model.set('pending', { user: user(`u${i}`, 'go'), assistant_id: `a${i}` });
      model.set('stream', { id: `a${i}`, offset: 0, text });
    });
    const shown = () => [...document.querySelectorAll('[data-id^="a"] .cw-md')].filter((md) => md.textContent.length >= text.length - 1).length;
    await nextFrame();
    expect(shown()).toBe(1);
    await nextFrame();
    expect(shown()).toBe(2);
    await nextFrame();
    expect(shown()).toBe(3);
    expect(q(document.body, '[data-id="a0"] .cw-md p').textContent.trim()).toBe(text.trim());
  });
});
