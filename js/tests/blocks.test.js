import { describe, it, expect, vi } from 'vitest';
import { renderBlock, BlocksView } from '../src/blocks.js';

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

  it('renders text blocks as sanitized markdown', () => {
    const el = renderBlock({ kind: 'text', text: '**hi** <img src=x onerror=alert(1)>' }, ctx());
    expect(el.querySelector('strong').textContent).toBe('hi');
    expect(el.innerHTML).not.toMatch(/onerror/);
  });

  it('renders images only from safe URLs', () => {
    const ok = renderBlock({ kind: 'image', url: 'https://example.com/cat.png', alt: 'A cat' }, ctx());
    expect(ok.tagName).toBe('IMG');
    expect(ok.getAttribute('alt')).toBe('A cat');
    const bad = renderBlock({ kind: 'image', url: 'javascript:alert(1)', alt: 'x' }, ctx());
    expect(bad.querySelector('img')).toBeNull();
    expect(bad.textContent).toBe('[unsupported message: image]');
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
    const box = document.createElement('div');
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
});
