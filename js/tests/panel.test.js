// The panel's connection state, its own controls and its keyboard (jsdom).
import { describe, it, expect, vi, afterEach } from 'vitest';
import { OFFLINE_TEXT } from '../src/view.js';
import { mount, fakeScroll, atTearDown, tearDown, q, byLabel, byText, visibleAlerts, user, reply, key, type, frames } from './helpers.js';

afterEach(tearDown);

const CODE = 'Try this:\n\n```python\ndef greet(name):\n    return f"Hi {name}"  # <b>not bold</b>\n```\n\nAnd:\n\n```\nplain\n```\n';

describe('connection state', () => {
  it('says the kernel is not connected when a send throws, and keeps the draft', async () => {
    const { model, el } = mount();
    const input = byLabel(el, 'Message');
    expect(model.hellos).toBe(1); // the view asked whether the kernel hears it
    expect(visibleAlerts(el)).toEqual([]);
    model.offline = true; // JupyterLab after Kernel > Shut Down Kernel: send throws
    type(input, 'a draft');
    await frames();
    expect(input.value).toBe('a draft');
    expect(model.sent).toEqual([]);
    expect(visibleAlerts(el)).toEqual([OFFLINE_TEXT]);
    expect(OFFLINE_TEXT).toMatch(/kernel/i);
    expect(OFFLINE_TEXT).toMatch(/run the cell again/);
    expect(input.getAttribute('aria-disabled')).toBe('true');
    expect(input.getAttribute('aria-describedby')).toBe(q(el, '.cw-offline-alert').id);
    expect(byLabel(el, 'Send').getAttribute('aria-disabled')).toBe('true');
    expect(q(el, '.cw-status').textContent).toBe('not connected');
    expect(q(el, '.cw-status').dataset.status).toBe('offline');
    // typing on keeps working and nothing is lost; Enter says it again
    type(input, 'a draft, longer');
    await frames();
    expect(input.value).toBe('a draft, longer');
    expect(visibleAlerts(el)).toEqual([OFFLINE_TEXT]);
  });

  it('reads as not connected at once when the host marks the view disconnected (saved widget state)', async () => {
    const { model, el } = mount(
      { transcript: [user('u1', 'Hi'), reply('a1', 'Hello')] },
      { before: (host) => host.classList.add('jupyter-widgets-disconnected') },
    );
    expect(el.textContent).toContain('Hello'); // the saved transcript shows
    expect(visibleAlerts(el)).toEqual([OFFLINE_TEXT]);
    const input = byLabel(el, 'Message');
    expect(input.getAttribute('aria-disabled')).toBe('true');
    type(input, 'anyone there?');
    byText(el, 'New chat').click();
    byText(el, 'Regenerate').click();
    await frames();
    expect(model.sent).toEqual([]); // a send to no comm would vanish: none is attempted
    expect(input.value).toBe('anyone there?');
  });

  it('follows the mark when the kernel dies later, and the kernel answering hello makes it live again', async () => {
    const { model, el } = mount();
    const input = byLabel(el, 'Message');
    el.classList.add('jupyter-widgets-disconnected');
    await frames();
    expect(visibleAlerts(el)).toEqual([OFFLINE_TEXT]);
    const hellos = model.hellos;
    type(input, 'hello?');
    expect(model.hellos).toBe(hellos + 1); // each try asks again
    model.emit('msg:custom', { type: 'welcome' }, []);
    await frames();
    expect(visibleAlerts(el)).toEqual([]);
    expect(input.hasAttribute('aria-disabled')).toBe(false);
    type(input, 'hello?');
    expect(model.sent).toEqual([{ type: 'send', text: 'hello?' }]);
    expect(input.value).toBe('');
  });

  it('a missing answer to hello is not "not connected" (a busy kernel answers later)', async () => {
    const { model, el } = mount();
    await frames(3);
    expect(model.hellos).toBe(1);
    expect(visibleAlerts(el)).toEqual([]);
    type(byLabel(el, 'Message'), 'still usable');
    expect(model.sent).toEqual([{ type: 'send', text: 'still usable' }]);
  });

  it('a closed comm is not connected', async () => {
    const { model, el } = mount();
    model.emit('comm:close');
    await frames();
    expect(visibleAlerts(el)).toEqual([OFFLINE_TEXT]);
  });
});

describe('controls', () => {
  it('New chat asks the kernel for a new conversation and gives the focus back to the box', async () => {
    const { model, el } = mount({ transcript: [user('u1', 'Hi'), reply('a1', 'Hello')] });
    const btn = byText(el, 'New chat');
    btn.focus();
    btn.click();
    expect(model.sent).toEqual([{ type: 'new_chat' }]);
    expect(document.activeElement).toBe(byLabel(el, 'Message'));
    model.set('status', 'streaming');
    await frames();
    expect(btn.disabled).toBe(true);
  });

  it('Regenerate is on the latest finished reply only, and not on a failed one (that has Retry)', async () => {
    const { model, el } = mount({
      transcript: [user('u1', 'one'), reply('a1', 'first'), user('u2', 'two'), reply('a2', 'second', { status: 'stopped' })],
    });
    const regen = () => [...el.querySelectorAll('.cw-regen')].filter((b) => !b.hidden);
    expect(regen().map((b) => b.closest('[role="article"]').dataset.id)).toEqual(['a2']);
    regen()[0].click();
    expect(model.sent).toEqual([{ type: 'regenerate', id: 'a2' }]);
    expect(document.activeElement).toBe(byLabel(el, 'Message'));
    model.set('transcript', [...model.get('transcript'), user('u3', 'three'), reply('a3', 'broken', { status: 'failed', error: 'x' })]);
    await frames();
    expect(regen()).toEqual([]);
    byLabel(el, 'Retry').click();
    expect(model.sent.at(-1)).toEqual({ type: 'retry', id: 'a3' });
    expect(document.activeElement).toBe(byLabel(el, 'Message'));
    // while a reply streams there is none (the latest is the streaming one)
    model.set('pending', { user: user('u4', 'four'), assistant_id: 'a4' });
    model.set('status', 'streaming');
    await frames();
    expect(regen()).toEqual([]);
  });

  it('Stop gives the focus back to the box', async () => {
    const { model, el } = mount({ status: 'streaming' });
    const stop = byLabel(el, 'Stop');
    stop.focus();
    stop.click();
    expect(model.sent).toEqual([{ type: 'stop' }]);
    expect(document.activeElement).toBe(byLabel(el, 'Message'));
  });

  it('labels code blocks with their language and copies exactly the code', async () => {
    const { el } = mount({ transcript: [reply('a1', CODE)] });
    const blocks = [...el.querySelectorAll('.cw-code')];
    expect(blocks.map((b) => q(b, '.cw-code-lang').textContent)).toEqual(['python', '']);
    const writeText = vi.fn(() => Promise.resolve());
    Object.defineProperty(navigator, 'clipboard', { value: { writeText }, configurable: true });
    const btn = byText(blocks[0], 'Copy code');
    btn.click();
    await vi.waitFor(() => expect(btn.textContent).toBe('Copied'));
    expect(writeText).toHaveBeenCalledWith('def greet(name):\n    return f"Hi {name}"  # <b>not bold</b>');
    await vi.waitFor(() => expect(q(el, '[role="status"].cw-sr').textContent).toBe('Code copied'));
    expect(q(blocks[0], 'b')).toBeNull(); // the code is text, coloured, never parsed
    expect(q(blocks[0], '.cw-tk-kw').textContent).toBe('def');
    expect(q(blocks[0], '.cw-tk-com').textContent).toBe('# <b>not bold</b>');
    byText(blocks[1], 'Copy code').click();
    await vi.waitFor(() => expect(writeText).toHaveBeenLastCalledWith('plain'));
  });

  it('shows Jump to latest when the reader has scrolled up, and jumps', async () => {
    const { model, el } = mount();
    const log = q(el, '[role="log"]');
    const scroll = fakeScroll(log);
    model.set('pending', { user: user('u1', 'long'), assistant_id: 'a1' });
    model.set('status', 'streaming');
    model.set('stream', { id: 'a1', offset: 0, text: 'Once upon a time' });
    await frames();
    const jump = byText(el, 'Jump to latest');
    expect(jump.hidden).toBe(true);
    scroll.to(100);
    expect(jump.hidden).toBe(false);
    model.set('stream', { id: 'a1', offset: 16, text: ' there was more.' });
    await frames();
    expect(scroll.top).toBe(100); // the reader's place is kept
    jump.focus();
    jump.click();
    expect(scroll.top).toBe(600);
    expect(jump.hidden).toBe(true);
    expect(document.activeElement).toBe(log); // not lost with the hidden button
  });

  it('follows the newest text again once the person sends, and hides Jump to latest', async () => {
    const { model, el } = mount({ transcript: [user('u1', 'Hi'), reply('a1', 'Hello')] });
    const log = q(el, '[role="log"]');
    const scroll = fakeScroll(log);
    await frames(); // the log starts at its newest text
    expect(scroll.top).toBe(600);
    scroll.to(100); // the reader scrolls up
    const jump = byText(el, 'Jump to latest');
    expect(jump.hidden).toBe(false);
    type(byLabel(el, 'Message'), 'and then?');
    model.set('pending', { user: user('u2', 'and then?'), assistant_id: 'a2' });
    await frames();
    expect(scroll.top).toBe(600); // back at the newest text, with no scroll event in between
    expect(jump.hidden).toBe(true);
  });

  it('leaves only the latest turn\'s choice buttons active', async () => {
    const menu = [{ kind: 'text', text: 'Pick' }, { kind: 'choice', buttons: [{ label: 'Red', message: 'red' }, { label: 'Docs', url: 'https://example.com' }] }];
    const { model, el } = mount({ transcript: [user('u1', 'm'), reply('a1', '', { blocks: menu }), user('u2', 'm'), reply('a2', '', { blocks: menu })] });
    const red = (id) => byText(q(el, `[data-id="${id}"]`), 'Red');
    expect(red('a1').disabled).toBe(true);
    expect(red('a2').disabled).toBe(false);
    expect(q(el, '[data-id="a1"] a[href="https://example.com/"], [data-id="a1"] a[href="https://example.com"]')).not.toBeNull(); // links stay links
    red('a2').click();
    expect(model.sent).toEqual([{ type: 'send', text: 'red' }]);
    model.set('pending', { user: user('u3', 'red'), assistant_id: 'a3' });
    await frames();
    expect(red('a2').disabled).toBe(true);
  });

  it('gives the agent title a tooltip when it is cut', async () => {
    const { model, el } = mount();
    const title = q(el, '.cw-title');
    expect(title.hasAttribute('title')).toBe(false);
    Object.defineProperty(title, 'scrollWidth', { get: () => 300, configurable: true });
    Object.defineProperty(title, 'clientWidth', { get: () => 120, configurable: true });
    model.set('agent_label', 'Agent support-bot · wss://agents.example.com/interact');
    await frames();
    expect(title.getAttribute('title')).toBe('Agent support-bot · wss://agents.example.com/interact');
  });

  it('shows sources as a list: links for URLs, readable text for the rest, no bullet characters', () => {
    const { el } = mount({ transcript: [reply('a1', 'See.', { sources: ['https://example.com/kb', 'Handbook p.4'] })] });
    const list = q(el, '.cw-sources ul');
    expect(list.getAttribute('aria-labelledby')).toBe(q(el, '.cw-sources-label').id);
    const items = [...list.querySelectorAll(':scope > li')];
    expect(items.map((li) => li.textContent)).toEqual(['https://example.com/kb', 'Handbook p.4']);
    expect(items[0].querySelector('a').getAttribute('href')).toBe('https://example.com/kb');
    expect(items[1].querySelector('a')).toBeNull();
    expect(q(el, '.cw-sources').textContent).not.toContain('•');
  });
});

describe('keyboard', () => {
  const rich = () => [
    user('u1', 'Hi'),
    reply('a1', CODE + '\n\nSee [the docs](https://example.com/docs).', { sources: ['https://example.com/kb'] }),
    user('u2', 'menu'),
    reply('a2', '', { blocks: [{ kind: 'choice', buttons: [{ label: 'Red', message: 'red' }] }] }),
    user('u3', 'fail'),
    reply('a3', 'half', { status: 'failed', error: 'broke' }),
  ];

  it('makes the transcript one Tab stop, however many messages and controls it holds', async () => {
    const { el } = mount({ transcript: rich() });
    const log = q(el, '[role="log"]');
    await vi.waitFor(() => expect(log.children.length).toBe(6));
    const tabbable = [...el.querySelectorAll('a[href], button, textarea, [tabindex]')].filter(
      (n) => n.tabIndex >= 0 && !n.disabled && !n.closest('[hidden]'),
    );
    expect(tabbable.map((n) => n.getAttribute('aria-label') || n.textContent)).toEqual([
      'New chat', 'Export', 'Expand', 'Conversation', 'Message', 'Send', 'Resize the conversation',
    ]); // prettier-ignore
    expect(tabbable[3]).toBe(log);
    expect(log.querySelectorAll('a[href], button').length).toBeGreaterThan(8); // all reachable by arrows instead
  });

  it('Tab from a control inside the transcript goes to the message box', async () => {
    const { el } = mount({ transcript: rich() });
    const log = q(el, '[role="log"]');
    await vi.waitFor(() => expect(log.children.length).toBe(6));
    const control = log.querySelector('button');
    control.focus();
    const e = key(control, 'Tab');
    expect(e.defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(byLabel(el, 'Message'));
    byLabel(el, 'Message').focus();
    expect(key(byLabel(el, 'Message'), 'Tab').defaultPrevented).toBe(false); // only the transcript's own Tab
  });

  it('Escape leaves the message box for the transcript', () => {
    const { el } = mount({ transcript: rich() });
    const input = byLabel(el, 'Message');
    input.focus();
    const e = key(input, 'Escape');
    expect(e.defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(q(el, '[role="log"]'));
  });

  it('moves between messages with Up/Down/Home/End and between their controls with Right/Left', async () => {
    const { el } = mount({ transcript: rich() });
    const log = q(el, '[role="log"]');
    await vi.waitFor(() => expect(log.children.length).toBe(6)); // a long transcript fills in upwards
    const seen = vi.fn();
    document.addEventListener('keydown', seen);
    atTearDown(() => document.removeEventListener('keydown', seen));
    const at = () => document.activeElement;
    log.focus();
    expect(key(log, 'ArrowUp').defaultPrevented).toBe(true);
    expect(at().dataset.id).toBe('a3'); // the latest message
    expect(seen).not.toHaveBeenCalled(); // the notebook does not see the arrow keys
    key(at(), 'ArrowUp');
    key(at(), 'ArrowUp');
    expect(at().dataset.id).toBe('a2');
    key(at(), 'Home');
    expect(at().dataset.id).toBe('u1');
    key(at(), 'ArrowDown');
    expect(at().dataset.id).toBe('a1');
    key(at(), 'ArrowRight');
    expect(at().textContent).toBe('Copy code');
    key(at(), 'ArrowRight');
    key(at(), 'ArrowRight');
    expect(at().textContent).toBe('the docs');
    key(at(), 'ArrowRight');
    expect(at().getAttribute('href')).toBe('https://example.com/kb');
    key(at(), 'ArrowRight');
    expect(at().getAttribute('aria-label')).toBe('Copy message');
    key(at(), 'ArrowLeft');
    expect(at().getAttribute('href')).toBe('https://example.com/kb');
    key(at(), 'End');
    expect(at().dataset.id).toBe('a3');
    key(at(), 'ArrowRight');
    expect(at().getAttribute('aria-label')).toBe('Retry');
    key(at(), 'ArrowLeft');
    expect(at().dataset.id).toBe('a3');
  });
});
