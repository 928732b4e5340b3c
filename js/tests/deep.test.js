// Hostile markdown (issue 16 item 4): nesting thousands deep, blocks of megabytes,
// tables thousands of columns wide. The reply renders, its text is on screen, and the
// nesting the parser and the DOM see is bounded.
import { describe, it, expect, afterEach, vi } from 'vitest';
import DOMPurify from 'dompurify';
import { renderMarkdown, boundMarkdown, MAX_DEPTH, MAX_COLUMNS, MAX_SOURCE, MAX_EMPHASIS } from '../src/markdown.js';
import { box, noTimeSlicing, streamedAndWhole, depth, tearDown } from './helpers.js';

afterEach(tearDown);

const END = 'ENDWORD';
const render = (md) => box(renderMarkdown(md));
describe('deep markdown', () => {
  it('renders a quote 5,000 deep: MAX_DEPTH quotes, the rest as text', () => {
    const el = render('>'.repeat(5000) + ` ${END}`);
    expect(depth(el, 'blockquote')).toBe(MAX_DEPTH);
    expect(el.textContent).toContain('>'.repeat(5000 - MAX_DEPTH) + ` ${END}`);
  });

  it('renders lists 5,000 deep on one line, bulleted and numbered', () => {
    for (const marker of ['- ', '* ', '1. ', '> - ']) {
      const el = render(marker.repeat(5000) + END);
      expect(depth(el, 'ul, ol, blockquote'), marker).toBeLessThanOrEqual(MAX_DEPTH);
      expect(el.textContent, marker).toContain(END);
    }
  });

  it('bounds lists nested by indentation (their parse costs more than the square of the depth)', () => {
    const text = Array.from({ length: 400 }, (_, i) => '  '.repeat(i) + `- item${i}`).join('\n');
    const el = render(text);
    expect(depth(el, 'ul')).toBeLessThanOrEqual(MAX_DEPTH + 6);
    expect(el.textContent).toContain('item399');
  });

  it('keeps ordinary nesting, indentation and tables as they were', () => {
    const text = '> a\n>> b\n\n- one\n  - two\n    - three\n\n1. x\n   1. y\n\n```\n    code\n```\n\n|a|b|\n|-|-|\n|1|2|\n\n- * + x\n\n* * *\n';
    expect(boundMarkdown(text)).toBe(text);
    const wide = '|' + 'h|'.repeat(MAX_COLUMNS) + '\n|' + '-|'.repeat(MAX_COLUMNS) + '\n';
    expect(render(wide).querySelector('table').rows[0].cells.length).toBe(MAX_COLUMNS);
  });

  it('shows a table wider than MAX_COLUMNS as text', () => {
    const n = 5000;
    const el = render('|' + 'a|'.repeat(n) + '\n|' + '-|'.repeat(n) + '\n|' + 'b|'.repeat(n) + `\n\n${END}`);
    expect(el.querySelector('table')).toBeNull();
    expect(el.textContent).toContain('|a|a|a|');
    expect(el.textContent).toContain(END);
  });

  it('shows a block longer than MAX_SOURCE as plain text in pieces, with a note, every character kept', () => {
    const line = (i) => '>'.repeat(i % 50) + ` **line ${i}** ` + '[l](https://example.com) ';
    const text = Array.from({ length: 4000 }, (_, i) => line(i)).join('\n');
    expect(text.length).toBeGreaterThan(MAX_SOURCE);
    const el = render(text);
    const [note, ...pieces] = el.children;
    expect(note.className).toBe('cw-plain-note');
    expect(note.textContent).toMatch(/too long to format/);
    expect(pieces.length).toBeGreaterThan(10);
    expect(pieces.every((p) => p.className === 'cw-plain' && p.textContent.length <= 8000)).toBe(true);
    expect(pieces.map((p) => p.textContent).join('\n')).toBe(text);
    expect(el.querySelector('blockquote, strong, a')).toBeNull();
  });

  it('bounds emphasis nested deep (marked overflows its stack on thousands): the words are shown', () => {
    for (const m of ['_', '*', '**', '~~']) {
      const text = `${m}a `.repeat(900 / m.length) + END + m.repeat(900 / m.length);
      const el = render(text);
      expect(el.querySelector('.cw-plain-note'), m).toBeNull(); // formatted, nesting bounded
      expect(depth(el, 'em, strong, del'), m).toBeLessThanOrEqual(MAX_EMPHASIS);
      expect(el.textContent, m).toContain(`${m}a ${m}a ${m}a`);
      expect(el.textContent, m).toContain(END);
      // Thousands of them (marked's time grows with their number): shown as text.
      const many = `${m}a `.repeat(5000) + END + m.repeat(5000);
      const plain = render(many);
      expect(plain.querySelector('.cw-plain-note').textContent, m).toMatch(/too much markup/);
      expect(plain.textContent, m).toContain(many);
    }
    const links = Array.from({ length: 2500 }, (_, i) => `[l${i}](https://example.com/${i})`).join(' ');
    expect(render(links).querySelector('.cw-plain-note').textContent).toMatch(/too much markup/);
    expect(render(links.slice(0, 20_000)).querySelector('.cw-plain-note')).toBeNull();
    // Code keeps its characters, however many.
    const code = '```\n' + '*a '.repeat(1000) + '\n```';
    expect(render(code).querySelector('code').textContent).toBe('*a '.repeat(1000) + '\n');
  });

  it('shows a source the parser or sanitizer cannot handle as text instead of throwing', () => {
    const real = DOMPurify.sanitize.bind(DOMPurify);
    vi.spyOn(DOMPurify, 'sanitize').mockImplementation((html, ...rest) => {
      if (String(html).includes(END)) throw new RangeError('Maximum call stack size exceeded');
      return real(html, ...rest);
    });
    const el = render(['fine *words*', `odd ${END}`]);
    expect(el.querySelector('em').textContent).toBe('words'); // the other source is still formatted
    expect(el.querySelector('.cw-plain-note').textContent).toMatch(/could not be formatted/);
    expect(el.querySelector('.cw-plain').textContent).toBe(`odd ${END}`);
  });

  it('streams a quote 5,000 deep and ever-deeper quote lines: same DOM as the finished reply, no error', () => {
    noTimeSlicing();
    for (const text of ['>'.repeat(5000) + ` ${END}`, Array.from({ length: 300 }, (_, i) => '>'.repeat(i) + ' q').join('\n') + ` ${END}`]) {
      const [streamed, whole] = streamedAndWhole(text, Array(40).fill(Math.ceil(text.length / 40))); // about 60 deltas a second at most
      expect(streamed.innerHTML).toBe(whole.innerHTML);
      expect(depth(whole, 'blockquote')).toBeLessThanOrEqual(MAX_DEPTH);
      expect(whole.textContent).toContain(END);
    }
  }, 30_000); // heavy in jsdom, and the machine may be busy

  it('streams a paragraph of plain words past MAX_SOURCE: plain text in pieces, as the finished reply', () => {
    noTimeSlicing();
    const text = 'words and more words '.repeat(Math.ceil((MAX_SOURCE * 1.2) / 21));
    const [streamed, whole] = streamedAndWhole(text, Array(Math.ceil(text.length / 5000)).fill(5000));
    expect(streamed.innerHTML).toBe(whole.innerHTML);
    expect(whole.querySelector('.cw-plain-note')).not.toBeNull();
  });
});
