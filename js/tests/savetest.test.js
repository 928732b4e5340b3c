// Save as test under a finished reply (jsdom): what it sends, the note saying where the
// kernel wrote, an error said as such, and nothing under a reply still streaming.
import { describe, it, expect, afterEach } from 'vitest';
import { OFFLINE_TEXT } from '../src/view.js';
import { mount, tearDown, q, user, reply, frames, visibleAlerts } from './helpers.js';

afterEach(tearDown);

const shown = (el) => [...el.querySelectorAll('button')].filter((b) => !b.closest('[hidden]'));
const saveButtons = (el) => shown(el).filter((b) => b.textContent === 'Save as test' || b.textContent === 'Saving…');
const article = (el, id) => q(el, `[role="article"][data-id="${id}"]`);
const note = (answer) => answer.querySelector('.cw-saved-note');

describe('Save as test', () => {
  it('asks the kernel for that reply and says where the test was written', async () => {
    const transcript = [user('u1', 'q'), reply('a1', 'first', { prompt_id: 'u1' }), user('u2', 'r'), reply('a2', 'second', { prompt_id: 'u2' })];
    const { model, el } = mount({ transcript });
    expect(saveButtons(el).length).toBe(2); // every finished reply, not only the latest
    const answer = article(el, 'a1');
    const button = saveButtons(answer)[0];
    expect(button.tabIndex).toBe(-1); // reached with the arrow keys, as the other actions
    button.click();
    expect(model.sent.at(-1)).toEqual({ type: 'save_test', id: 'a1' });
    expect(button.textContent).toBe('Saving…');
    model.emit('msg:custom', { type: 'test_saved', id: 'a2', path: '/elsewhere.yaml' }, []); // another reply's
    expect(note(answer).hidden).toBe(true);
    model.emit('msg:custom', { type: 'test_saved', id: 'a1', path: '/work/convowidget-tests.yaml' }, []);
    expect(button.textContent).toBe('Save as test');
    expect(note(answer).hidden).toBe(false);
    expect(note(answer).textContent).toBe('Saved as a test in /work/convowidget-tests.yaml');
    expect(el.textContent).toContain('Saved as a test in /work/convowidget-tests.yaml'); // announced too
  });

  it('shows what the kernel could not do as an error, as text', async () => {
    const { model, el } = mount({ transcript: [user('u1', 'q'), reply('a1', 'answer', { prompt_id: 'u1' })] });
    saveButtons(el)[0].click();
    model.emit('msg:custom', { type: 'test_saved', id: 'a1', error: 'Not saved: <b>no</b> room' }, []);
    const shownNote = note(article(el, 'a1'));
    expect(shownNote.textContent).toBe('Not saved: <b>no</b> room');
    expect(shownNote.querySelector('b')).toBeNull();
    expect(shownNote.classList.contains('cw-saved-error')).toBe(true);
  });

  it('is not under a reply still streaming, and sends nothing when the kernel is gone', async () => {
    const { model, el } = mount({
      transcript: [user('u1', 'q'), reply('a1', 'answer', { prompt_id: 'u1' })],
      pending: { assistant_id: 'a2', user: user('u2', 'more') },
      status: 'streaming',
    });
    await frames();
    expect(saveButtons(el).map((b) => b.closest('[role="article"]').dataset.id)).toEqual(['a1']);
    model.offline = true;
    const before = model.sent.length;
    saveButtons(el)[0].click();
    await frames();
    expect(model.sent.length).toBe(before);
    expect(visibleAlerts(el)).toEqual([OFFLINE_TEXT]);
  });
});
