import { describe, it, expect, vi, afterEach } from 'vitest';
import { MdStream, beginSlice } from '../src/mdstream.js';
import { frames } from './helpers.js';

afterEach(() => vi.restoreAllMocks());

const make = () => {
  const el = document.createElement('div');
  return [el, new MdStream(el)];
};

describe('incremental markdown rendering', () => {
  it('renders finished blocks once and re-renders only the tail', () => {
    const [el, md] = make();
    md.set('# Title\n\nFirst para');
    const h1 = el.querySelector('h1');
    expect(h1.textContent).toBe('Title');
    md.set('# Title\n\nFirst paragraph done.\n\nSecond');
    expect(el.querySelector('h1')).toBe(h1); // committed node kept
    const p1 = el.querySelector('p');
    expect(p1.textContent).toBe('First paragraph done.');
    md.set('# Title\n\nFirst paragraph done.\n\nSecond one, **bold**');
    expect(el.querySelector('h1')).toBe(h1);
    expect(el.querySelector('p')).toBe(p1);
    expect(el.querySelectorAll('p')[1].innerHTML).toBe('Second one, <strong>bold</strong>');
    // committed blocks live in a page, the open tail is appended to it
    expect(el.children.length).toBe(1);
    expect(el.firstElementChild.className).toBe('cw-page');
    expect([...el.firstElementChild.children].map((c) => c.tagName)).toEqual(['H1', 'P', 'P']);
  });

  it('groups committed blocks into pages at fixed sizes', () => {
    vi.spyOn(performance, 'now').mockReturnValue(0); // no time-slicing here
    const text = Array.from({ length: 300 }, (_, i) => `Para ${i} ` + 'x'.repeat(90)).join('\n\n') + '\n\nend';
    const [a, m1] = make();
    m1.set(text);
    expect(a.querySelectorAll('.cw-page').length).toBeGreaterThan(2);
    const [b, m2] = make();
    for (let i = 0; i < text.length; i += 997) m2.set(text.slice(0, i));
    m2.set(text);
    expect(b.innerHTML).toBe(a.innerHTML);
  });

  it('streams long tables row by row into one table', () => {
    vi.spyOn(performance, 'now').mockReturnValue(0); // no time-slicing here
    const rows = Array.from({ length: 50 }, (_, i) => `| ${i} | *v${i}* |`).join('\n');
    const text = 'Data:\n\n| n | value |\n|---|---|\n' + rows + '\n\nDone.';
    const [whole, m1] = make();
    m1.set(text);
    expect(whole.querySelectorAll('table').length).toBe(1);
    expect(whole.querySelectorAll('tbody > tr').length).toBe(50);
    expect(whole.querySelectorAll('thead th').length).toBe(2);
    expect(whole.querySelectorAll('tbody em')[49].textContent).toBe('v49');
    const [streamed, m2] = make();
    let first = null;
    for (let i = 1; i <= text.length; i += 7) {
      m2.set(text.slice(0, i));
      if (!first && streamed.querySelectorAll('tbody > tr').length > 2) first = streamed.querySelector('tbody > tr');
    }
    m2.set(text);
    expect(streamed.querySelector('tbody > tr')).toBe(first); // committed rows are kept
    expect(streamed.innerHTML).toBe(whole.innerHTML);
  });

  it('splits long code into line blocks and updates only the end', () => {
    const lines = (n) => Array.from({ length: n }, (_, i) => `line ${i}`).join('\n') + '\n';
    const [el, md] = make();
    md.set('```\n' + lines(150));
    const code = el.querySelector('pre > code');
    const parts = code.querySelectorAll('.cw-lines');
    expect(parts.length).toBe(2);
    expect(code.textContent).toBe(lines(150));
    md.set('```\n' + lines(250));
    expect(code.querySelectorAll('.cw-lines')[0]).toBe(parts[0]); // first 100 lines untouched
    expect(code.textContent).toBe(lines(250));
    md.set('```\n' + lines(250) + '```\n');
    const done = el.querySelector('pre > code');
    expect(done.querySelectorAll('.cw-lines').length).toBe(3);
    expect(done.textContent).toBe(lines(250));
  });

  it('shows an open code fence as code and keeps blank lines in it', () => {
    const [el, md] = make();
    md.set('Intro\n\n```py\nx = 1\n\n');
    let code = el.querySelector('pre > code');
    expect(code.className).toBe('language-py');
    expect(code.textContent).toBe('x = 1\n\n');
    md.set('Intro\n\n```py\nx = 1\n\ny = <b>\n');
    expect(el.querySelector('pre > code')).toBe(code); // fast path updates in place
    expect(code.textContent).toBe('x = 1\n\ny = <b>\n');
    md.set('Intro\n\n```py\nx = 1\n\ny = <b>\n```\n\nDone.');
    expect(el.querySelectorAll('pre').length).toBe(1);
    expect(el.querySelector('pre > code').textContent).toBe('x = 1\n\ny = <b>\n');
    expect(el.querySelector('.cw-page').lastElementChild.textContent).toBe('Done.');
    expect(el.querySelector('b')).toBeNull();
  });

  it('starts over when the text is not a continuation', () => {
    const [el, md] = make();
    md.set('Alpha\n\nBeta\n\nGam');
    md.set('Totally different\n\ntext');
    expect([...el.querySelectorAll('p')].map((p) => p.textContent)).toEqual(['Totally different', 'text']);
  });

  it('produces the same DOM whether streamed or rendered at once', () => {
    vi.spyOn(performance, 'now').mockReturnValue(0); // no time-slicing here
    const text = [
      '# Plan', '', '1. one', '2. two', '   ```sh', '   ls', '', '   pwd', '   ```', '3. three', '',
      'Some text with a [link](https://example.com).', '', '```', 'raw', '', 'code', '```', 'after', '',
      '- a', '- b', '', '> quote', '', 'end',
    ].join('\n');
    const [whole, m1] = make();
    m1.set(text);
    const [streamed, m2] = make();
    for (let i = 1; i <= text.length; i += 3) m2.set(text.slice(0, i));
    m2.set(text);
    expect(streamed.innerHTML).toBe(whole.innerHTML);
  });

  it('time-slices a very long message across frames', async () => {
    let t = 0;
    vi.spyOn(performance, 'now').mockImplementation(() => (t += 5));
    const text = Array.from({ length: 400 }, (_, i) => `Paragraph ${i} ` + 'word '.repeat(40)).join('\n\n');
    const [el, md] = make();
    beginSlice();
    md.set(text);
    expect(md.busy).toBe(true); // not everything in one go
    const first = el.children.length;
    expect(first).toBeGreaterThan(0);
    for (let i = 0; i < 200 && md.busy; i++) await frames(1);
    expect(md.busy).toBe(false);
    expect(el.querySelectorAll('p').length).toBe(400);
  });
});
