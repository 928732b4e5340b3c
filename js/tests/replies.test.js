// Everything a reply can carry beyond markdown and choices: embedded content, notices,
// plain text with blocks, tool calls, other actions, a handoff's payload, titled
// sources and the per-reply usage line (blocks.js, steps.js, messages.js).
import { describe, it, expect, vi, afterEach } from 'vitest';
import { renderBlock } from '../src/blocks.js';
import { usageParts } from '../src/steps.js';
import { mount, tearDown, q, user, reply, box, key, frames } from './helpers.js';

afterEach(tearDown);

const ctx = () => ({ send: vi.fn(), submit: vi.fn() });
const SPEC_TYPES = [
  { kind: 'text', text: 'Hi' },
  { kind: 'choice', buttons: [{ label: 'A' }] },
  { kind: 'image', url: 'https://example.com/a.png', alt: 'a' },
  { kind: 'card', title: 'T' },
  { kind: 'carousel', cards: [{ title: 'T' }] },
  { kind: 'form', title: 'F', fields: [{ id: 'a', type: 'text', label: 'A' }], submit: { label: 'Go' }, values: {} },
  { kind: 'input', field: { id: 'a', type: 'email', label: 'Email' } },
  { kind: 'iframe', layout: 'vertical', url: 'https://video.example.com/embed/1', host: 'video.example.com', text: '' },
  { kind: 'notice', level: 'success', text: 'Saved!' },
];
/** The line as the eye sees it (no screen-reader text) or as a screen reader says it (no aria-hidden). */
const line = (usage, leave) => {
  const el = box(...(usageParts(usage) || []));
  el.querySelectorAll(leave).forEach((n) => n.remove());
  return el.textContent;
};
const seen = (usage) => line(usage, '.cw-sr');
const heard = (usage) => line(usage, '[aria-hidden]');

describe('blocks the spec lists', () => {
  it('draws every one of them, none as "[unsupported message"', () => {
    for (const b of SPEC_TYPES) expect(renderBlock(b, ctx()).textContent).not.toContain('[unsupported message');
  });

  it('loads embedded content only on a click: sandboxed, https only, no referrer', () => {
    const el = renderBlock(SPEC_TYPES[7], ctx());
    expect(el.querySelector('iframe')).toBeNull();
    expect(el.classList.contains('cw-embed-vertical')).toBe(true);
    expect(el.textContent).toContain('Video from video.example.com');
    const load = el.querySelector('button');
    expect(load.textContent).toBe('Load embedded content');
    expect(load.tabIndex).toBe(-1);
    load.click();
    const frame = el.querySelector('iframe');
    expect(frame.getAttribute('src')).toBe('https://video.example.com/embed/1');
    expect(frame.getAttribute('sandbox')).toBe('allow-scripts allow-same-origin allow-presentation');
    expect(frame.getAttribute('referrerpolicy')).toBe('no-referrer');
    expect(frame.getAttribute('loading')).toBe('lazy');
    expect(frame.title).toBe('Video from video.example.com');
    const page = renderBlock({ kind: 'iframe', layout: 'horizontal', url: 'https://example.com/page', host: 'example.com', text: '' }, ctx());
    expect(page.classList.contains('cw-embed-horizontal')).toBe(true);
    expect(page.textContent).toContain('Web page from example.com');
  });

  it('shows an iframe without a usable https address as its text, and loads nothing', () => {
    const raw = '<iframe src="http://example.com" onload="alert(1)"></iframe>';
    for (const url of [null, 'http://example.com/x', 'javascript:alert(1)', '//example.com/x'.replace('//', 'data://')]) {
      const el = renderBlock({ kind: 'iframe', layout: 'vertical', url, host: '', text: raw }, ctx());
      expect(el.querySelector('iframe, button, [onload]')).toBeNull();
      expect(el.textContent).toBe(raw);
    }
  });

  it('shows notices with their words and level as a status', () => {
    const el = renderBlock({ kind: 'notice', level: 'success', text: 'Saved! <b>x</b>' }, ctx());
    expect(el.getAttribute('role')).toBe('status');
    expect(el.textContent).toBe('Saved! <b>x</b>');
    expect(el.querySelector('b')).toBeNull();
    expect(el.className).toContain('cw-notice-success');
    expect(renderBlock({ kind: 'notice', level: 'x" onclick="y', text: 'Hm' }, ctx()).className).toBe('cw-notice cw-notice-default');
  });
});

describe('what a reply did and cost', () => {
  it('shows the plain text and the snapshot blocks both, in the order they came', async () => {
    const blocks = [{ kind: 'notice', level: 'info', text: 'Saved!' }];
    const { el } = mount({
      transcript: [
        user('u1', 'x'),
        reply('a1', 'Saved!', { blocks, plain_text: 'Plain words first.', blocks_first: false }),
        user('u2', 'y'),
        reply('a2', 'Saved!', { blocks, plain_text: 'Plain words after.', blocks_first: true }),
      ],
    });
    await frames();
    const order = (id) => [...q(el, `[data-id="${id}"] .cw-bubble`).children].filter((c) => !c.hidden).map((c) => c.className);
    expect(order('a1')).toEqual(['cw-md', 'cw-blocks']);
    expect(order('a2')).toEqual(['cw-blocks', 'cw-md']);
    expect(q(el, '[data-id="a1"] .cw-md').textContent.trim()).toBe('Plain words first.');
    expect(q(el, '[data-id="a2"] .cw-notice').textContent).toBe('Saved!');
  });

  it('shows each tool call as a collapsed step with its input and output as text', async () => {
    const calls = [
      { name: 'lookup_order', input: '{\n  "order_id": "12345"\n}', output: '{\n  "status": "<img src=x onerror=alert(1)>"\n}' },
      { name: '', input: null, output: null },
    ];
    const { el } = mount({ transcript: [user('u1', 'x'), reply('a1', 'Shipped.', { tool_calls: calls })] });
    await frames();
    const steps = el.querySelectorAll('.cw-step');
    expect(steps.length).toBe(2);
    expect(steps[0].tagName).toBe('DETAILS');
    expect(steps[0].open).toBe(false);
    const summary = steps[0].querySelector('summary');
    expect(summary.textContent).toBe('Tool call: lookup_order');
    expect(summary.tabIndex).toBe(-1);
    const [input, output] = steps[0].querySelectorAll('pre');
    expect(input.textContent).toBe('{\n  "order_id": "12345"\n}');
    expect(output.textContent).toContain('<img src=x onerror=alert(1)>');
    expect(el.querySelector('.cw-step img, [onerror]')).toBeNull();
    expect(steps[1].textContent).toContain('Tool call: unnamed tool');
    // the step comes before the answer's text, and the arrow keys reach it
    const bubble = q(el, '[data-id="a1"] .cw-bubble');
    expect(bubble.querySelector('.cw-steps').compareDocumentPosition(bubble.querySelector('.cw-md')) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    const article = q(el, '[data-id="a1"]');
    article.focus();
    key(article, 'ArrowRight');
    expect(document.activeElement).toBe(summary);
  });

  it('shows other actions as a small note and a handoff with its payload', async () => {
    const { el } = mount({
      transcript: [
        user('u1', 'x'),
        reply('a1', 'Ok.', { handoff: true, handoff_payload: '{\n  "queue": "billing"\n}', actions: [{ type: 'open_url', text: '"https://example.com"' }] }),
      ],
    });
    await frames();
    expect(q(el, '.cw-action').textContent).toContain('Action: open_url');
    expect(q(el, '.cw-action pre').textContent).toBe('"https://example.com"');
    const extra = q(el, '.cw-extra');
    expect(extra.textContent).toContain('a human will take over');
    expect(extra.textContent).toContain('"queue": "billing"');
  });

  it('links a source\'s title to its URL, and lists id-only sources as text', async () => {
    const items = [
      { url: 'https://example.com/kb', title: 'Streaming guide', id: null },
      { url: null, title: null, id: 'doc-42' },
      { url: 'javascript:alert(1)', title: 'Bad', id: null },
      { url: 'https://example.com/raw', title: null, id: null },
    ];
    const { el } = mount({ transcript: [reply('a1', 'See.', { sources: ['https://example.com/kb', 'doc-42'], source_items: items })] });
    await frames();
    const li = [...el.querySelectorAll('.cw-sources li')];
    expect(li.map((x) => x.textContent)).toEqual(['Streaming guide', 'doc-42', 'Bad', 'https://example.com/raw']);
    expect(li[0].querySelector('a').getAttribute('href')).toBe('https://example.com/kb');
    expect(li[0].querySelector('a').tabIndex).toBe(-1);
    expect(li[1].querySelector('a')).toBeNull();
    expect(li[2].querySelector('a')).toBeNull();
    expect(li[3].querySelector('a').getAttribute('href')).toBe('https://example.com/raw');
  });

  it('writes the per-reply line from what is known', () => {
    const all = { first_chunk_s: 0.42, elapsed_s: 2.09, input_tokens: 1234, output_tokens: 567, model: 'gpt-4o' };
    expect(seen(all)).toBe('0.4 s to first word · 2.1 s · 1,234 → 567 tokens · gpt-4o');
    expect(heard(all)).toBe('0.4 s to first word, 2.1 s in all, 1,234 tokens in, 567 tokens out, gpt-4o');
    expect(seen({ ...all, first_chunk_s: null, model: null, input_tokens: null })).toBe('2.1 s · 567 tokens out');
    expect(seen({ elapsed_s: 42.4, input_tokens: 10 })).toBe('42 s · 10 tokens in');
    expect(seen({ first_chunk_s: 0.01, elapsed_s: 0.049 })).toBe('< 0.1 s to first word · < 0.1 s');
    expect(usageParts({ first_chunk_s: null, elapsed_s: null, input_tokens: null, output_tokens: null, model: null })).toBeNull();
    expect(usageParts(undefined)).toBeNull();
  });

  it('puts the line under each finished reply, not under one still streaming', async () => {
    const usage = { first_chunk_s: 0.4, elapsed_s: 2.1, input_tokens: null, output_tokens: null, model: 'demo' };
    const { model, el } = mount({ transcript: [user('u1', 'x'), reply('a1', 'Done.', { usage })] });
    await frames();
    const line = q(el, '[data-id="a1"] .cw-usage');
    expect(line.hidden).toBe(false);
    expect(line.parentElement.getAttribute('role')).toBe('article');
    expect(line.textContent).toContain('0.4 s to first word');
    model.set('pending', { user: user('u2', 'y'), assistant_id: 'a2' });
    model.set('stream', { id: 'a2', offset: 0, text: 'Stream' });
    await frames();
    expect(q(el, '[data-id="a2"] .cw-usage').hidden).toBe(true);
  });
});
