import { describe, it, expect, vi, afterEach } from 'vitest';
import { readFileSync } from 'node:fs';
import widget from '../src/widget.js';
import {
  FakeModel, proxy, frames, clockTicks, mount, fakeScroll, streamParts, addView, atTearDown, tearDown, q, articles, byLabel, user, reply, key,
} from './helpers.js';

afterEach(tearDown);

describe('panel', () => {
  it('renders header, demo badge/note, status and input controls', async () => {
    const { model, el } = mount({ is_demo: true });
    expect(q(el, '.cw-root')).not.toBeNull();
    expect(q(el, '.cw-title').textContent).toBe('Local demo agent (embedded server)');
    expect(q(el, '.cw-badge').hidden).toBe(false);
    expect(q(el, '.cw-badge').textContent).toBe('demo');
    expect(el.textContent).toContain('You are talking to the local demo agent, not a real Convocore agent.');
    const status = q(el, '.cw-status');
    expect(status.getAttribute('aria-live')).toBe('polite');
    expect(status.textContent).toBe('idle');
    const log = q(el, '[role="log"]');
    expect(log.getAttribute('aria-label')).toBe('Conversation');
    const input = byLabel(el, 'Message');
    expect(input.tagName).toBe('TEXTAREA');
    expect(input.placeholder).toBe('Message the agent…');
    expect(byLabel(el, 'Send').tagName).toBe('BUTTON');
    expect(byLabel(el, 'Stop').hidden).toBe(true);

    model.set('is_demo', false);
    model.set('agent_label', 'Convocore agent · eu');
    model.set('status', 'streaming');
    await frames();
    expect(q(el, '.cw-badge').hidden).toBe(true);
    expect(q(el, '.cw-demo-note').hidden).toBe(true);
    expect(q(el, '.cw-title').textContent).toBe('Convocore agent · eu');
    expect(status.textContent).toBe('streaming');
    expect(byLabel(el, 'Stop').hidden).toBe(false);
    byLabel(el, 'Stop').click();
    expect(model.sent).toEqual([{ type: 'stop' }]);
    model.set('status', 'idle');
    await frames();
    expect(byLabel(el, 'Stop').hidden).toBe(true);
  });

  it('sends on Enter, clears, and ignores Shift+Enter, IME composition and blank input', () => {
    const { model, el } = mount();
    const input = byLabel(el, 'Message');
    input.value = '   ';
    key(input, 'Enter');
    expect(model.sent).toEqual([]);
    input.value = 'line one';
    expect(key(input, 'Enter', { shiftKey: true }).defaultPrevented).toBe(false);
    expect(key(input, 'Enter', { isComposing: true }).defaultPrevented).toBe(false);
    expect(model.sent).toEqual([]);
    expect(key(input, 'Enter').defaultPrevented).toBe(true);
    expect(model.sent).toEqual([{ type: 'send', text: 'line one' }]);
    expect(input.value).toBe('');
    input.value = 'via button';
    byLabel(el, 'Send').click();
    expect(model.sent.at(-1)).toEqual({ type: 'send', text: 'via button' });
  });

  it('renders only new or changed transcript entries, keyed by id', async () => {
    const { model, el } = mount({ transcript: [user('u1', 'Hi'), reply('a1', 'Hello **there**')] });
    const [u1, a1] = articles(el);
    expect(u1.getAttribute('aria-label')).toBe('user message');
    expect(u1.dataset.id).toBe('u1');
    expect(a1.getAttribute('aria-label')).toBe('assistant message');
    expect(a1.dataset.status).toBe('complete');
    expect(q(a1, 'strong').textContent).toBe('there');
    const strong = q(a1, 'strong');
    // replaced whole with equal objects + one new pair
    model.set('transcript', [user('u1', 'Hi'), reply('a1', 'Hello **there**'), user('u2', 'More'), reply('a2', 'Sure')]);
    await frames();
    const after = articles(el);
    expect(after.length).toBe(4);
    expect(after[0]).toBe(u1);
    expect(after[1]).toBe(a1);
    expect(q(a1, 'strong')).toBe(strong); // not re-rendered
    model.set('transcript', [user('u1', 'Hi'), reply('a1', 'Hello **there**'), user('u2', 'More'), reply('a2', 'Sure', { status: 'stopped' })]);
    await frames();
    expect(articles(el)[3].dataset.status).toBe('stopped');
    expect(articles(el)[3].textContent).toContain('Stopped');
    model.set('transcript', []);
    await frames();
    expect(articles(el).length).toBe(0);
  });

  it('shows the pending prompt, streams the reply and swaps in the final message', async () => {
    const { model, el } = mount({ transcript: [] });
    model.set('pending', { user: user('u1', 'Tell me'), assistant_id: 'a1' });
    model.set('status', 'connecting');
    await frames();
    let [u, a] = articles(el);
    expect(u.textContent).toContain('Tell me');
    expect(a.dataset.id).toBe('a1');
    expect(a.dataset.status).toBe('streaming');
    expect(q(a, '.cw-typing').hidden).toBe(false);
    model.set('status', 'streaming');
    model.set('stream', { id: 'a1', offset: 0, text: 'Once upon' });
    model.set('stream', { id: 'a1', offset: 9, text: ' a time.\n\nThe end' });
    await frames();
    expect(q(a, '.cw-typing').hidden).toBe(true);
    expect(q(a, '.cw-md').textContent).toContain('Once upon a time.');
    expect(q(a, '.cw-md').textContent).toContain('The end');
    model.set('transcript', [user('u1', 'Tell me'), reply('a1', 'Once upon a time.\n\nThe end.')]);
    model.set('pending', {});
    model.set('stream', {});
    model.set('status', 'idle');
    await frames();
    const list = articles(el);
    expect(list.length).toBe(2);
    expect(list[0]).toBe(u);
    expect(list[1]).toBe(a); // same element, now final
    expect(a.dataset.status).toBe('complete');
    expect(a.hasAttribute('aria-busy')).toBe(false);
    expect(q(a, '.cw-md').textContent).toContain('The end.');
  });

  it('shows identical content in two views and in a view created later', async () => {
    const { model, els } = mount({}, { views: 2 });
    model.set('pending', { user: user('u1', 'Q'), assistant_id: 'a1' });
    model.set('status', 'streaming');
    await streamParts(model, 'a1', ['Alpha ', 'beta\n\n', '```js\nlet x = 1;\n', '\n```\n', 'Gamma']);
    await frames();
    const later = addView(model);
    await frames();
    const html = (el) => q(el, '[data-id="a1"] .cw-md').innerHTML;
    expect(html(els[0])).toContain('Gamma');
    expect(html(els[1])).toBe(html(els[0]));
    expect(html(later)).toBe(html(els[0]));
  });

  it('renders ui_engine blocks, and a choice button sends a prompt', async () => {
    const { model, el } = mount();
    model.set('pending', { user: user('u1', 'Options?'), assistant_id: 'a1' });
    model.set('stream', { id: 'a1', blocks: [{ kind: 'text', text: 'Pick one' }, { kind: 'choice', buttons: [{ label: 'Red', message: 'red' }] }] });
    await frames();
    const a = q(el, '[data-id="a1"]');
    expect(a.textContent).toContain('Pick one');
    model.set('pending', {});
    model.set('transcript', [user('u1', 'Options?'), reply('a1', '', { blocks: [{ kind: 'text', text: 'Pick one' }, { kind: 'choice', buttons: [{ label: 'Red', message: 'red' }] }] })]);
    await frames();
    const btn = [...a.querySelectorAll('button')].find((b) => b.textContent === 'Red');
    btn.click();
    expect(model.sent).toEqual([{ type: 'send', text: 'red' }]);
  });

  it('shows failures with an alert and Retry, and panel-level errors', async () => {
    const { model, el } = mount({
      transcript: [user('u1', 'Hi'), reply('a1', 'Partial answ', { status: 'failed', error: 'Upstream timed out' })],
    });
    const a = q(el, '[data-id="a1"]');
    expect(a.dataset.status).toBe('failed');
    expect(a.textContent).toContain('Partial answ');
    const alerts = [...el.querySelectorAll('[role="alert"]')].filter((x) => !x.hidden);
    expect(alerts.map((x) => x.textContent)).toEqual(['Upstream timed out']);
    byLabel(a, 'Retry').click();
    expect(model.sent).toEqual([{ type: 'retry', id: 'a1' }]);
    // the same error on the trait is not shown twice
    model.set('error', 'Upstream timed out');
    await frames();
    expect([...el.querySelectorAll('[role="alert"]')].filter((x) => !x.hidden).length).toBe(1);
    model.set('error', 'Could not connect to the agent');
    await frames();
    const panel = q(el, '.cw-panel-alert');
    expect(panel.hidden).toBe(false);
    expect(panel.getAttribute('role')).toBe('alert');
    expect(panel.textContent).toBe('Could not connect to the agent');
    model.set('error', '');
    await frames();
    expect(panel.hidden).toBe(true);
  });

  it('shows handoff notices and sources', () => {
    const { el } = mount({
      transcript: [reply('a1', 'Passing you on.', { handoff: true, sources: ['https://example.com/kb/1', 'Internal handbook p.4'] })],
    });
    const note = q(el, '[role="status"]');
    expect(note.textContent).toBe('The agent asked for a human: a human will take over this conversation.');
    const src = q(el, '.cw-sources');
    expect(src.textContent).toContain('Sources:');
    const links = src.querySelectorAll('a');
    expect(links.length).toBe(1);
    expect(links[0].getAttribute('href')).toBe('https://example.com/kb/1');
    expect(links[0].getAttribute('target')).toBe('_blank');
    expect(links[0].getAttribute('rel')).toBe('noopener noreferrer');
    expect(src.textContent).toContain('Internal handbook p.4');
  });

  it('copies the raw message text, with a fallback without the clipboard API', async () => {
    const { el } = mount({ transcript: [reply('a1', 'Some **markdown**')] });
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const btn = byLabel(el, 'Copy message');
    btn.click();
    await vi.waitFor(() => expect(btn.textContent).toBe('Copied'));
    expect(writeText).toHaveBeenCalledWith('Some **markdown**');

    Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true });
    document.execCommand = vi.fn(() => true);
    btn.textContent = 'Copy';
    btn.click();
    await vi.waitFor(() => expect(btn.textContent).toBe('Copied'));
    expect(document.execCommand).toHaveBeenCalledWith('copy');
    expect(document.querySelectorAll('textarea').length).toBe(1); // helper removed again
    delete document.execCommand;
  });

  it('auto-scrolls unless the reader scrolled up', async () => {
    const { model, el } = mount();
    const log = q(el, '[role="log"]');
    const scroll = fakeScroll(log);
    model.set('transcript', [reply('a1', 'one')]);
    await frames();
    expect(scroll.top).toBe(600);
    scroll.to(100); // reader scrolls up
    model.set('transcript', [reply('a1', 'one'), reply('a2', 'two')]);
    await frames();
    expect(scroll.top).toBe(100);
    scroll.to(580); // back near the bottom
    model.set('transcript', [reply('a1', 'one'), reply('a2', 'two'), reply('a3', 'three')]);
    await frames();
    expect(scroll.top).toBe(600);
  });

  it('removes its model listeners on cleanup', () => {
    const { model, el } = mount();
    const base = model.listenerCount();
    const second = addView(model);
    expect(model.listenerCount()).toBeGreaterThan(base);
    second.dispose();
    expect(model.listenerCount()).toBe(base);
    el.dispose();
    const initOnly = new FakeModel();
    atTearDown(widget.initialize({ model: proxy(initOnly) }));
    expect(model.listenerCount()).toBe(initOnly.listenerCount()); // initialize()'s own listeners only
  });

  it('shows sources by the link rules: http(s), //host as https, objects by title, the rest as text', () => {
    const { el } = mount({
      transcript: [
        reply('a1', 'See these.', {
          sources: [
            'https://example.com/a', 'http://example.com/b', '//example.com/c', { url: 'https://example.com/d', title: 'Doc D' },
            { title: 'Handbook p.4' }, 'javascript:alert(1)', 'data:text/html,<b>x</b>', '  ',
          ],
        }),
      ],
    });
    const src = q(el, '.cw-sources');
    const links = [...src.querySelectorAll('a')];
    expect(links.map((a) => [a.getAttribute('href'), a.textContent])).toEqual([
      ['https://example.com/a', 'https://example.com/a'],
      ['http://example.com/b', 'http://example.com/b'],
      ['https://example.com/c', 'https://example.com/c'],
      ['https://example.com/d', 'Doc D'],
    ]);
    for (const a of links) {
      expect(a.getAttribute('target')).toBe('_blank');
      expect(a.getAttribute('rel')).toBe('noopener noreferrer');
    }
    expect([...src.querySelectorAll('li')].map((li) => li.textContent)).toEqual([
      'https://example.com/a', 'http://example.com/b', 'https://example.com/c', 'Doc D', 'Handbook p.4',
      'javascript:alert(1)', 'data:text/html,<b>x</b>',
    ]);
    expect(src.querySelector('b')).toBeNull();
  });

  it('renders a long transcript newest first, then fills in the rest in order in later tasks', async () => {
    clockTicks(1); // every slice runs out of time at once
    const list = [];
    for (let i = 0; i < 100; i++) list.push(user(`u${i}`, `question ${i}`), reply(`a${i}`, `answer **${i}**`));
    const { model, el } = mount({ transcript: list });
    const first = articles(el).map((a) => a.dataset.id);
    expect(first.length).toBeGreaterThanOrEqual(4); // the end of the conversation, at once
    expect(first.length).toBeLessThan(200);
    expect(first).toEqual(list.slice(-first.length).map((m) => m.id));
    // the transcript grows while the rest is filled in
    model.set('transcript', [...list, user('u100', 'more'), reply('a100', 'the **end**')]);
    await vi.waitFor(() => expect(articles(el).length).toBe(202), { timeout: 10000 });
    expect(articles(el).map((a) => a.dataset.id)).toEqual([...list.map((m) => m.id), 'u100', 'a100']);
    expect(q(el, '[data-id="a0"] strong').textContent).toBe('0');
    expect(q(el, '[data-id="a100"] strong').textContent).toBe('end');
  });

  it('contains what the agent sends: the log and each bubble are paint-contained (CSS)', () => {
    const css = readFileSync('js/src/widget.css', 'utf8'); // vitest runs from the repository root
    const rule = (sel) => {
      const at = css.indexOf(sel + ' {');
      expect(at, sel).toBeGreaterThan(-1);
      return css.slice(at, css.indexOf('}', at));
    };
    expect(rule('.cw-root .cw-log')).toMatch(/contain: paint;/);
    expect(rule('.cw-root .cw-log')).toMatch(/isolation: isolate;/);
    expect(rule('.cw-root .cw-bubble')).toMatch(/contain: paint;/);
  });

  it('streams tags split across deltas as the same text the finished message shows', async () => {
    const { model, el } = mount();
    model.set('pending', { user: user('u1', 'Q'), assistant_id: 'a1' });
    model.set('status', 'streaming');
    const parts = ['Put CSS in a <sty', 'le> element.\n\n<scr', 'ipt>window.__x = 1</scr', 'ipt>\n\nSmile \ud83d', '\ude00 <div class="jp-Dialog">x</div>'];
    await streamParts(model, 'a1', parts);
    await frames();
    const live = q(el, '[data-id="a1"] .cw-md');
    const text = parts.join('');
    expect(live.querySelector('style, script, .cw-page div, .cw-page [class]')).toBeNull();
    expect([...live.querySelectorAll('p')].map((p) => p.textContent)).toEqual([
      'Put CSS in a <style> element.',
      '<script>window.__x = 1</script>',
      'Smile \u{1F600} <div class="jp-Dialog">x</div>',
    ]);
    const streamed = live.innerHTML;
    model.set('transcript', [user('u1', 'Q'), reply('a1', text)]);
    model.set('pending', {});
    await frames();
    expect(q(el, '[data-id="a1"] .cw-md').innerHTML).toBe(streamed);
    const { el: other } = mount({ transcript: [user('u1', 'Q'), reply('a1', text)] });
    expect(q(other, '[data-id="a1"] .cw-md').innerHTML).toBe(streamed);
  });
});
