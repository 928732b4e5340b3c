import { describe, it, expect, afterEach } from 'vitest';
import { MdStream } from '../src/mdstream.js';
import { beginSlice } from '../src/frame.js';
import { frames, box, noTimeSlicing, clockTicks, tearDown } from './helpers.js';

afterEach(tearDown);

const make = () => {
  const el = box();
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
    noTimeSlicing();
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
    noTimeSlicing();
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
      beginSlice(); // a delta a frame
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
    noTimeSlicing();
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
    clockTicks(5);
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

  it('streams raw HTML as the same escaped text as the finished render, tags split across deltas', () => {
    noTimeSlicing();
    const text = [
      'Put CSS inside a <style> element.', '', 'Next paragraph', '',
      '<style>', 'p { color: red }', '', '</style>', '',
      '<script>', 'window.__x = 1', '', 'more()', '</script>', '',
      '| a | b |', '|---|---|', '| <b>1</b> | 2 |', '<div class="jp-Dialog">x</div>', '',
      '<!-- a comment', '', 'that spans a blank line -->', '', '```html', '<style>', '```', 'end <sty',
    ].join('\n') + 'le>';
    const [whole, m1] = make();
    m1.set(text);
    // nothing but the panel's own frame around a code block (.cw-code*) and the code's language class
    const own = ':not(.cw-code):not(.cw-code-head):not(.cw-code-lang):not(.cw-copy-code)';
    expect(whole.querySelector(`style, script, b, .cw-page div${own}, .cw-page [class]:not(code)${own}`)).toBeNull();
    expect(whole.textContent).toContain('Put CSS inside a <style> element.');
    expect(whole.textContent).toContain('Next paragraph');
    expect(whole.textContent).toContain('window.__x = 1');
    expect(whole.textContent).toContain('<div class="jp-Dialog">x</div>');
    expect(whole.textContent).toContain('end <style>');
    // Two deltas split inside each <style>/<script> tag, then one character at a time.
    const cuts = [...text.matchAll(/<\/?(?:style|script)>/g)].flatMap((t) => [1, 2, 4, t[0].length - 1].map((k) => t.index + k));
    expect(cuts.length).toBe(28); // 7 tags
    for (const i of cuts) {
      const [el, m] = make();
      m.set(text.slice(0, i));
      m.set(text);
      expect(el.innerHTML, `split at ${i}`).toBe(whole.innerHTML);
    }
    const [streamed, m2] = make();
    for (let i = 1; i <= text.length; i++) m2.set(text.slice(0, i));
    expect(streamed.innerHTML).toBe(whole.innerHTML);
  });

  it('renders an emoji split across two deltas, and lone surrogates, without throwing', () => {
    noTimeSlicing();
    const text = 'Smile \ud83d\ude00 [link \ud83d\ude00](https://example.com/\ud83d\ude00)\n\n```\n\ud83d\ude00\n```\n\n| \ud83d\ude00 |\n|---|\n| x |';
    const [whole, m1] = make();
    m1.set(text);
    expect(whole.textContent).toContain('Smile \u{1F600} link \u{1F600}');
    for (let i = 1; i < text.length; i++) {
      const [el, m] = make();
      expect(() => m.set(text.slice(0, i))).not.toThrow(); // may end in a lone high surrogate
      m.set(text);
      expect(el.innerHTML, `split at ${i}`).toBe(whole.innerHTML);
    }
    // A lone surrogate that is never completed renders as it is.
    const [el, m] = make();
    expect(() => m.set('odd \ud83d\n\n[x](https://example.com/\ude00) \udc00 ```\ud800')).not.toThrow();
    expect(el.textContent).toContain('odd \ud83d');
  });

  it('labels an open code fence with the language its finished render gets', () => {
    for (const info of ['python', 'js"><img src=x onerror=alert(1)>', 'c++ title="a.cc"', '{.class}', '']) {
      const [el, md] = make();
      md.set('```' + info + '\nx = 1\n');
      const open = el.querySelector('pre > code').className;
      md.set('```' + info + '\nx = 1\n```\n');
      expect(el.querySelector('pre > code').className, info).toBe(open);
      expect(el.querySelector('img, [onerror]')).toBeNull();
    }
  });
});

describe('the open tail, updated in place', () => {
  /** Stream `text` in `step`-character deltas, a frame's slice each; returns the container. */
  const streamed = (text, step, seen = () => {}) => {
    const [el, md] = make();
    for (let i = step; i < text.length + step; i += step) {
      beginSlice();
      md.set(text.slice(0, i));
      seen(el);
    }
    return el;
  };
  const oneShot = (text) => {
    const [el, md] = make();
    md.set(text);
    return el;
  };

  it('a long paragraph of plain words keeps its element and text, and grows by the new words', () => {
    noTimeSlicing();
    const text = 'Once upon a time, the panel said: "words (and more words)!" Again? Yes; and again. '.repeat(400);
    const nodes = new Set();
    const el = streamed(text, 37, (box) => {
      const p = box.querySelector('p');
      if (p) nodes.add(p).add(p.lastChild);
    });
    expect(el.innerHTML).toBe(oneShot(text).innerHTML);
    expect(nodes.size).toBe(2); // one <p> and one text, from the first words to the last
  });

  it('markup arriving in a plain paragraph renders it again, as a one-shot render would', () => {
    noTimeSlicing();
    for (const twist of ['then *emphasis* ends', 'a link www.example.com here', 'mail me@example.com', 'a `code` span', 'a new\nline', 'trailing  \nbreak', 'escaped \\* star', 'x &amp; y', '<b>tag</b>']) {
      const text = 'plain words and more plain words '.repeat(20) + twist + ' and plain words again';
      expect(streamed(text, 3).innerHTML, twist).toBe(oneShot(text).innerHTML);
    }
  });

  it('a tail that changes shape is updated in place where it can be: same DOM as a fresh render', () => {
    noTimeSlicing();
    const text = 'Intro\n\n- one\n- two **bold**\n\n> quote with `code` and [a link](https://example.com)\n> more\n\n| a | b |\n|---|---|\n| 1 | 2 |\n';
    expect(streamed(text, 1).innerHTML).toBe(oneShot(text).innerHTML);
  });
});
