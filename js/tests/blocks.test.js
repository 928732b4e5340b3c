import { describe, it, expect, vi } from 'vitest';
import { renderBlock, BlocksView } from '../src/blocks.js';
import { box as boxOf } from './helpers.js';

const ctx = () => ({ send: vi.fn() });

describe('block rendering', () => {
  it('a choice button with a message sends it as a new prompt', () => {
    const c = ctx();
    const el = renderBlock({ kind: 'choice', buttons: [{ label: 'Yes please', message: 'yes' }, { label: 'No' }] }, c);
    const [yes, no] = el.querySelectorAll('button');
    expect(yes.textContent).toBe('Yes please');
    yes.click();
    expect(c.send).toHaveBeenCalledWith('yes');
    no.click(); // no message: its label is sent
    expect(c.send).toHaveBeenLastCalledWith('No');
  });

  it('a choice with an http(s) url is a link opening in a new tab', () => {
    const el = renderBlock(
      { kind: 'choice', buttons: [{ label: 'Docs', url: 'https://example.com/docs' }, { label: 'Bad', url: 'javascript:alert(1)' }] },
      ctx(),
    );
    const a = el.querySelector('a');
    expect(a.getAttribute('href')).toBe('https://example.com/docs');
    expect(a.getAttribute('target')).toBe('_blank');
    expect(a.getAttribute('rel')).toBe('noopener noreferrer');
    expect(el.querySelectorAll('a').length).toBe(1);
    const bad = el.querySelector('button');
    expect(bad.textContent).toBe('Bad');
    expect(bad.disabled).toBe(true);
  });

  it('renders text blocks as sanitized markdown, raw HTML as text', () => {
    const el = renderBlock({ kind: 'text', text: '**hi** <img src=x onerror=alert(1)>' }, ctx());
    expect(el.querySelector('strong').textContent).toBe('hi');
    expect(el.querySelector('img, [onerror]')).toBeNull();
    expect(el.textContent).toContain('<img src=x onerror=alert(1)>');
  });

  it('loads image blocks from https: only; http: is a link, data: and others a placeholder', () => {
    const ok = renderBlock({ kind: 'image', url: 'https://example.com/cat.png', alt: 'A cat' }, ctx());
    expect(ok.tagName).toBe('IMG');
    expect(ok.getAttribute('alt')).toBe('A cat');
    expect(ok.getAttribute('loading')).toBe('lazy');
    expect(ok.getAttribute('referrerpolicy')).toBe('no-referrer');
    const proto = renderBlock({ kind: 'image', url: '//example.com/p.png', alt: 'p' }, ctx());
    expect(proto.getAttribute('src')).toBe('https://example.com/p.png');
    const http = renderBlock({ kind: 'image', url: 'http://example.com/cat.png', alt: 'A cat' }, ctx());
    expect(http.tagName).toBe('A');
    expect(http.getAttribute('href')).toBe('http://example.com/cat.png');
    expect(http.textContent).toBe('A cat');
    expect(http.getAttribute('target')).toBe('_blank');
    expect(http.getAttribute('rel')).toBe('noopener noreferrer');
    expect(renderBlock({ kind: 'image', url: 'http://example.com/x.png' }, ctx()).textContent).toBe('http://example.com/x.png');
    for (const url of ['data:image/png;base64,AAAA', 'javascript:alert(1)', 'files/a.png', '', null]) {
      const el = renderBlock({ kind: 'image', url, alt: 'x' }, ctx());
      expect(el.querySelector('img, a')).toBeNull();
      expect(el.tagName).not.toBe('IMG');
      expect(el.textContent).toBe('[image: x]');
    }
  });

  it('renders cards and carousels with their buttons', () => {
    const c = ctx();
    const card = { title: 'Plan A', text: 'Cheap', image: 'https://example.com/a.png', buttons: [{ label: 'Pick A', message: 'A' }] };
    const el = renderBlock({ kind: 'carousel', cards: [card, { ...card, title: 'Plan B', buttons: [{ label: 'Pick B', message: 'B' }] }] }, c);
    const cards = el.querySelectorAll('.cw-card');
    expect(cards.length).toBe(2);
    expect(cards[1].querySelector('.cw-card-title').textContent).toBe('Plan B');
    expect(cards[0].querySelector('img').getAttribute('src')).toBe('https://example.com/a.png');
    cards[1].querySelector('button').click();
    expect(c.send).toHaveBeenCalledWith('B');
    const single = renderBlock({ kind: 'card', ...card }, c);
    expect(single.querySelector('.cw-card-text').textContent.trim()).toBe('Cheap');
  });

  it('shows a neutral placeholder for unsupported blocks', () => {
    expect(renderBlock({ kind: 'unsupported', type: 'visual' }, ctx()).textContent).toBe('[unsupported message: visual]');
    expect(renderBlock({ kind: 'weird' }, ctx()).textContent).toBe('[unsupported message: weird]');
  });

  it('BlocksView re-renders only changed blocks', () => {
    const box = boxOf();
    const v = new BlocksView(box, ctx());
    v.set([{ kind: 'text', text: 'one' }, { kind: 'text', text: 'two' }]);
    const first = box.children[0];
    v.set([{ kind: 'text', text: 'one' }, { kind: 'text', text: 'two!' }, { kind: 'unsupported', type: 'x' }]);
    expect(box.children[0]).toBe(first);
    expect(box.children[1].textContent.trim()).toBe('two!');
    expect(box.children.length).toBe(3);
    v.set([{ kind: 'text', text: 'one' }]);
    expect(box.children.length).toBe(1);
  });

  it('applies the image rules to card images, and the link rules to choice URLs', () => {
    const el = renderBlock(
      {
        kind: 'carousel',
        cards: [
          { title: 'Secure', image: 'https://example.com/a.png' },
          { title: 'Plain', image: 'http://example.com/b.png' },
          { title: 'Inline', image: 'data:image/svg+xml;base64,PHN2Zy8+' },
          { title: 'None' },
        ],
      },
      ctx(),
    );
    const cards = [...el.querySelectorAll('.cw-card')];
    expect(cards[0].querySelector('img').getAttribute('src')).toBe('https://example.com/a.png');
    expect(cards[1].querySelector('img')).toBeNull();
    expect(cards[1].querySelector('a').getAttribute('href')).toBe('http://example.com/b.png');
    expect(cards[1].querySelector('a').textContent).toBe('http://example.com/b.png');
    expect(cards[2].querySelector('img, a')).toBeNull();
    expect(cards[2].textContent).toBe('[image]Inline');
    expect(cards[3].textContent).toBe('None');
    const choice = renderBlock(
      { kind: 'choice', buttons: [{ label: 'Proto', url: '//example.com/x' }, { label: 'Data', url: 'data:text/html,x' }] },
      ctx(),
    );
    expect([...choice.querySelectorAll('a')].map((a) => a.getAttribute('href'))).toEqual(['https://example.com/x']);
    expect(choice.querySelector('button').disabled).toBe(true);
  });
});
