// The panel's newer controls (jsdom): answer versions, Edit, feedback, starter prompts,
// Export, the size (height, resize handle, Expand), the kernel-gone probe and the
// acknowledgement marimo re-runs cells on.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { OFFLINE_TEXT } from '../src/view.js';
import { mount, tearDown, atTearDown, q, byLabel, byText, visibleAlerts, user, reply, key, type, frames } from './helpers.js';

afterEach(tearDown);

const shown = (el) => [...el.querySelectorAll('button')].filter((b) => !b.closest('[hidden]'));
const named = (el, name) => shown(el).filter((b) => (b.getAttribute('aria-label') || b.textContent) === name);
const article = (el, id) => q(el, `[role="article"][data-id="${id}"]`);

const v1 = { ...reply('a0', 'first answer', { prompt_id: 'u1' }), prompt: 'frist question' };
const turnWithVersions = () => [user('u1', 'first question'), reply('a1', 'second answer', { prompt_id: 'u1', versions: [v1] })];

describe('answer versions', () => {
  it('shows 2/2 and goes back to the earlier answer and the prompt it answered', async () => {
    const { model, el } = mount({ transcript: turnWithVersions() });
    const answer = article(el, 'a1');
    expect(answer.querySelector('.cw-ver-at').textContent).toBe('2/2');
    expect(byLabel(answer, 'Next answer').getAttribute('aria-disabled')).toBe('true');
    byLabel(answer, 'Previous answer').focus();
    byLabel(answer, 'Previous answer').click();
    await frames();
    expect(article(el, 'a1')).toBe(answer); // the same view, drawn from the earlier version
    expect(answer.querySelector('.cw-md').textContent).toContain('first answer');
    expect(answer.querySelector('.cw-ver-at').textContent).toBe('1/2');
    expect(article(el, 'u1').textContent).toContain('frist question');
    expect(document.activeElement).toBe(byLabel(answer, 'Previous answer')); // the focus stays
    expect(named(answer, 'Regenerate')).toEqual([]); // only the latest version may be asked again
    expect(named(el, 'Edit')).toEqual([]);
    // feedback given there is that version's
    named(answer, 'Helpful')[0].click();
    expect(model.sent.at(-1)).toEqual({ type: 'feedback', id: 'a0', value: 'up', note: '' });
    byLabel(answer, 'Next answer').click();
    await frames();
    expect(answer.querySelector('.cw-md').textContent).toContain('second answer');
    expect(article(el, 'u1').textContent).toContain('first question');
    expect(named(answer, 'Regenerate').length).toBe(1);
  });

  it('a reply without earlier versions shows no counter', () => {
    const { el } = mount({ transcript: [user('u1', 'q'), reply('a1', 'a', { prompt_id: 'u1' })] });
    expect(named(el, 'Previous answer')).toEqual([]);
  });
});

describe('Edit', () => {
  it('is on the latest typed prompt only, puts it in the box, and sending replaces the turn', async () => {
    const { model, el } = mount({
      transcript: [user('u1', 'one'), reply('a1', 'A', { prompt_id: 'u1' }), user('u2', 'two'), reply('a2', 'B', { prompt_id: 'u2' })],
    });
    const input = byLabel(el, 'Message');
    expect(named(el, 'Edit').map((b) => b.closest('[role="article"]').dataset.id)).toEqual(['u2']);
    input.value = 'a draft';
    named(el, 'Edit')[0].click();
    expect(input.value).toBe('two');
    expect(document.activeElement).toBe(input);
    expect(q(el, '.cw-editing').hidden).toBe(false);
    type(input, 'two, better');
    expect(model.sent).toEqual([{ type: 'edit', id: 'u2', text: 'two, better' }]);
    expect(input.value).toBe('a draft'); // the draft it displaced comes back
    expect(q(el, '.cw-editing').hidden).toBe(true);
  });

  it('Cancel keeps the message as it was; a form prompt and a busy panel offer no Edit', async () => {
    const { model, el } = mount({ transcript: [user('u1', 'Name: Ada'), reply('a1', 'Thanks', { prompt_id: 'u1' })] });
    const input = byLabel(el, 'Message');
    named(el, 'Edit')[0].click();
    byText(el, 'Cancel').click();
    expect(input.value).toBe('');
    expect(model.sent).toEqual([]);
    model.set('transcript', [{ ...user('u1', 'Name: Ada'), form: true }, reply('a1', 'Thanks', { prompt_id: 'u1' })]);
    await frames();
    expect(named(el, 'Edit')).toEqual([]);
    model.set('transcript', [user('u1', 'typed'), reply('a1', 'Thanks', { prompt_id: 'u1' })]);
    model.set('status', 'streaming');
    await frames();
    expect(named(el, 'Edit')).toEqual([]);
  });
});

describe('feedback', () => {
  it('Helpful / Not helpful are toggles with a note box; Enter saves the note', async () => {
    const { model, el } = mount({ transcript: [user('u1', 'q'), reply('a1', 'answer', { prompt_id: 'u1' })] });
    const answer = article(el, 'a1');
    const [up] = named(answer, 'Helpful');
    const [down] = named(answer, 'Not helpful');
    expect([up.getAttribute('aria-pressed'), down.getAttribute('aria-pressed')]).toEqual(['false', 'false']);
    expect(up.tabIndex).toBe(-1); // inside the transcript's one Tab stop
    down.click();
    expect(model.sent).toEqual([{ type: 'feedback', id: 'a1', value: 'down', note: '' }]);
    expect(down.getAttribute('aria-pressed')).toBe('true');
    const note = byLabel(answer, 'Feedback note');
    expect(note.hidden).toBe(false);
    expect(document.activeElement).toBe(note);
    note.value = '  Too vague. ';
    expect(key(note, 'ArrowLeft').defaultPrevented).toBe(false); // the caret moves; the transcript does not
    key(note, 'Enter');
    expect(model.sent.at(-1)).toEqual({ type: 'feedback', id: 'a1', value: 'down', note: 'Too vague.' });
    expect(note.hidden).toBe(true);
    expect(answer.textContent).toContain('Note: Too vague.');
    expect(document.activeElement).toBe(down);
    down.click(); // pressed again: taken back
    expect(model.sent.at(-1)).toEqual({ type: 'feedback', id: 'a1', value: null, note: '' });
    expect(down.getAttribute('aria-pressed')).toBe('false');
  });

  it('follows the entry (a reload, saved widget state), and is not on a failed or streaming reply', async () => {
    const { model, el } = mount({
      transcript: [user('u1', 'q'), reply('a1', 'answer', { prompt_id: 'u1', feedback: 'up', feedback_note: 'Spot on' })],
    });
    expect(named(el, 'Helpful')[0].getAttribute('aria-pressed')).toBe('true');
    expect(el.textContent).toContain('Note: Spot on');
    model.set('transcript', [user('u1', 'q'), reply('a1', 'x', { prompt_id: 'u1', status: 'failed', error: 'e' })]);
    await frames();
    expect(named(el, 'Helpful')).toEqual([]);
  });

  it('sends nothing when the kernel is gone, and says so', async () => {
    const { model, el } = mount({ transcript: [user('u1', 'q'), reply('a1', 'answer', { prompt_id: 'u1' })] });
    model.offline = true;
    named(el, 'Helpful')[0].click();
    await frames();
    expect(named(el, 'Helpful')[0].getAttribute('aria-pressed')).toBe('false');
    expect(visibleAlerts(el)).toEqual([OFFLINE_TEXT]);
  });
});

describe('starter prompts', () => {
  it('are offered until the first prompt, also under a greeting, and send as if typed', async () => {
    const { model, el } = mount({ suggestions: ['Show me the menu', 'Book a demo'] });
    const group = q(el, '[role="group"][aria-label="Suggestions"]');
    expect(group.hidden).toBe(false);
    const chip = byText(group, 'Book a demo');
    expect(chip.tabIndex).toBe(0); // the panel's own chrome: a Tab stop
    model.set('transcript', [reply('g1', 'Hello!', { prompt_id: null, greeting: true })]);
    await frames();
    expect(group.hidden).toBe(false);
    chip.click();
    expect(model.sent).toEqual([{ type: 'send', text: 'Book a demo' }]);
    model.set('pending', { user: user('u1', 'Book a demo'), assistant_id: 'a1' });
    await frames();
    expect(group.hidden).toBe(true);
  });

  it('none given: nothing shows', () => {
    const { el } = mount({ suggestions: [] });
    expect(q(el, '.cw-suggest').hidden).toBe(true);
  });
});

describe('Export', () => {
  const downloads = () => {
    const got = [];
    URL.createObjectURL = (blob) => {
      got.push(blob);
      return 'blob:x';
    };
    URL.revokeObjectURL = () => {};
    atTearDown(() => {
      delete URL.createObjectURL;
      delete URL.revokeObjectURL;
    });
    vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function () {
      got.push(this.getAttribute('download'));
    });
    return got;
  };

  it('asks the kernel for the text and downloads its answer to this view only', async () => {
    const got = downloads();
    const { model, el } = mount();
    const button = byText(el, 'Export');
    expect(button.getAttribute('aria-haspopup')).toBe('menu');
    button.click();
    expect(button.getAttribute('aria-expanded')).toBe('true');
    const menu = q(el, '[role="menu"]');
    expect([...menu.querySelectorAll('[role="menuitem"]')].map((b) => b.textContent)).toEqual(['Markdown', 'JSON']);
    expect(document.activeElement.textContent).toBe('Markdown');
    key(document.activeElement, 'ArrowDown');
    expect(document.activeElement.textContent).toBe('JSON');
    document.activeElement.click();
    expect(menu.hidden).toBe(true);
    const asked = model.sent.at(-1);
    expect(asked).toEqual({ type: 'export', format: 'json', request: expect.any(String) });
    model.emit('msg:custom', { type: 'export', request: 'someone-else', filename: 'x.json', mime: 'application/json', text: '{}' });
    expect(got).toEqual([]);
    model.emit('msg:custom', { type: 'export', request: asked.request, filename: 'bot-2025-01-31.json', mime: 'application/json', text: '{"a": 1}' });
    expect(got[1]).toBe('bot-2025-01-31.json');
    expect(await got[0].text()).toBe('{"a": 1}');
    expect(got[0].type).toMatch(/^application\/json/);
  });

  it('when the kernel is gone it reads as disabled and says why', async () => {
    const { model, el } = mount({}, { before: (host) => host.classList.add('jupyter-widgets-disconnected') });
    await frames();
    const button = byText(el, 'Export');
    expect(button.getAttribute('aria-disabled')).toBe('true');
    expect(button.title).toMatch(/needs the kernel/);
    button.click();
    expect(q(el, '[role="menu"]').hidden).toBe(true);
    expect(model.sent).toEqual([]);
  });
});

describe('size', () => {
  it('the height trait caps the conversation; the handle resizes it from the keyboard', async () => {
    const { model, el } = mount({ height: '300px' });
    const root = q(el, '.cw-root');
    expect(root.style.getPropertyValue('--cw-log-max')).toBe('300px');
    const handle = q(el, '[role="separator"]');
    expect(handle.getAttribute('aria-label')).toBe('Resize the conversation');
    expect(handle.tabIndex).toBe(0);
    vi.spyOn(q(el, '.cw-log'), 'getBoundingClientRect').mockReturnValue({ height: 300 });
    handle.focus();
    expect(handle.getAttribute('aria-valuenow')).toBe('300');
    const e = key(handle, 'ArrowDown');
    expect(e.defaultPrevented).toBe(true);
    expect(root.style.getPropertyValue('--cw-log-height')).toBe('320px');
    expect(handle.getAttribute('aria-valuenow')).toBe('300'); // (jsdom lays nothing out: the mock still says 300)
    key(handle, 'ArrowUp', { shiftKey: true });
    expect(root.style.getPropertyValue('--cw-log-height')).toBe('200px');
    key(handle, 'Home');
    expect(root.style.getPropertyValue('--cw-log-height')).toBe('96px');
    model.set('height', '');
    await frames();
    expect(root.style.getPropertyValue('--cw-log-max')).toBe('');
    expect(root.style.getPropertyValue('--cw-log-height')).toBe('');
  });

  it('Expand shows the panel as a modal dialog; Escape and the button return, the focus kept', async () => {
    const calls = [];
    const proto = HTMLDialogElement.prototype;
    proto.showModal = vi.fn(function () {
      calls.push('showModal');
      this.setAttribute('open', '');
    });
    proto.close = vi.fn(function () {
      calls.push('close');
      this.removeAttribute('open');
    });
    atTearDown(() => {
      delete proto.showModal;
      delete proto.close;
    });
    const { el } = mount({ transcript: [user('u1', 'q'), reply('a1', 'answer', { prompt_id: 'u1' })] });
    const frame = q(el, 'dialog.cw-frame');
    expect(frame.open).toBe(true); // in the page all along
    const expand = byLabel(el, 'Expand');
    expect(expand.getAttribute('aria-pressed')).toBe('false');
    const input = byLabel(el, 'Message');
    input.focus();
    expand.click();
    expect(calls).toEqual(['close', 'showModal']);
    expect(expand.getAttribute('aria-pressed')).toBe('true');
    expect(q(el, '.cw-root').classList.contains('cw-expanded')).toBe(true);
    expect(document.activeElement).toBe(input); // kept
    expect(key(input, 'Escape').defaultPrevented).toBe(true); // the box's own Escape: to the transcript
    expect(expand.getAttribute('aria-pressed')).toBe('true');
    key(q(el, '[role="log"]'), 'Escape'); // from the transcript: back to the notebook
    expect(expand.getAttribute('aria-pressed')).toBe('false');
    expect(calls.at(-1)).toBe('close');
    expect(frame.hasAttribute('open')).toBe(true);
    expect(q(el, '.cw-root').classList.contains('cw-expanded')).toBe(false);
    expect(document.activeElement).toBe(q(el, '[role="log"]'));
  });
});

describe('the kernel gone without a send', () => {
  it('a visible, idle panel asks now and then, and a send that throws says not connected', async () => {
    vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'Date'] });
    atTearDown(() => vi.useRealTimers());
    let report;
    globalThis.IntersectionObserver = class {
      constructor(cb) {
        report = cb;
      }
      observe() {}
      disconnect() {}
    };
    atTearDown(() => delete globalThis.IntersectionObserver);
    const { model, el } = mount();
    expect(model.hellos).toBe(1);
    vi.advanceTimersByTime(5000);
    expect(model.hellos).toBe(1); // not on screen: no probe
    report([{ isIntersecting: true }]);
    model.emit('msg:custom', { type: 'welcome' }, []);
    vi.advanceTimersByTime(2100);
    expect(model.hellos).toBe(2);
    vi.advanceTimersByTime(5000);
    expect(model.hellos).toBe(2); // unanswered (a busy cell): one at a time
    model.emit('msg:custom', { type: 'welcome' }, []);
    model.set('status', 'streaming');
    vi.advanceTimersByTime(5000);
    expect(model.hellos).toBe(2); // a reply in flight: no probe
    model.set('status', 'idle');
    vi.advanceTimersByTime(50); // (jsdom's frames run on the faked timers)
    model.offline = true; // Kernel > Shut Down: the next send throws
    vi.advanceTimersByTime(2100);
    expect(visibleAlerts(el)).toEqual([OFFLINE_TEXT]);
    expect(q(el, '.cw-status').textContent).toBe('not connected');
  });
});

describe('marimo', () => {
  it('each new finished reply is acknowledged once, as a change the host sees, and nothing else goes back', async () => {
    const { model, el } = mount({ transcript: [user('u1', 'q'), reply('a1', 'first', { prompt_id: 'u1' })] });
    // a turn as the kernel sends it: the tail, then the last answer
    model.set('transcript_tail', { seq: 1, entries: [user('u2', 'again'), reply('a2', 'second', { prompt_id: 'u2' })] });
    model.set('last_answer', { id: 'a2', text: 'second', status: 'complete' });
    expect(model.get('_shown_answer')).toBe('a2');
    expect(model.saved).toEqual([['_shown_answer']]); // never the transcript merged here
    expect(model.get('transcript').map((m) => m.id)).toEqual(['u1', 'a1', 'u2', 'a2']);
    await frames();
    expect(el.textContent).toContain('second');
    model.set('last_answer', { id: 'a2', text: 'second', status: 'complete' }); // the same answer again
    expect(model.saved.length).toBe(1);
  });
});
