import { describe, it, expect, afterEach } from 'vitest';
import { applyDelta, modelState, lookupState, cpLength, cpSlice, mergeTail } from '../src/state.js';
import { FakeModel, proxy, frames, mount, articles, tearDown } from './helpers.js';

afterEach(tearDown);

const apply = (buffers, ...deltas) => deltas.forEach((d) => applyDelta(buffers, d));

describe('stream buffer', () => {
  it('appends when offset equals the buffer length', () => {
    const b = new Map();
    apply(b, { id: 'a1', offset: 0, text: 'Hello' }, { id: 'a1', offset: 5, text: ', world' });
    expect(b.get('a1').text).toBe('Hello, world');
  });

  it('appends only the new part of an overlapping delta', () => {
    const b = new Map();
    apply(b, { id: 'a1', offset: 0, text: 'Hello' }, { id: 'a1', offset: 3, text: 'lo there' });
    expect(b.get('a1').text).toBe('Hello there');
    // a fully repeated delta changes nothing
    apply(b, { id: 'a1', offset: 0, text: 'Hello' });
    expect(b.get('a1').text).toBe('Hello there');
  });

  it('appends across a gap and keeps going', () => {
    const b = new Map();
    apply(b, { id: 'a1', offset: 0, text: 'abc' }, { id: 'a1', offset: 10, text: 'XYZ' });
    expect(b.get('a1').text).toBe('abcXYZ');
    apply(b, { id: 'a1', offset: 13, text: '!' }, { id: 'a1', offset: 12, text: 'Z!?' });
    expect(b.get('a1').text).toBe('abcXYZ!?');
  });

  it('starts a new buffer for a different id', () => {
    const b = new Map();
    apply(b, { id: 'a1', offset: 0, text: 'first' }, { id: 'a2', offset: 0, text: 'second' });
    expect(b.get('a1').text).toBe('first');
    expect(b.get('a2').text).toBe('second');
  });

  it('replaces blocks wholesale on a snapshot', () => {
    const b = new Map();
    apply(b, { id: 'a1', blocks: [{ kind: 'text', text: 'one' }] });
    apply(b, { id: 'a1', blocks: [{ kind: 'text', text: 'two' }, { kind: 'choice', buttons: [] }] });
    expect(b.get('a1').blocks).toEqual([{ kind: 'text', text: 'two' }, { kind: 'choice', buttons: [] }]);
    expect(b.get('a1').text).toBe('');
  });

  it('ignores values that are not deltas', () => {
    const b = new Map();
    expect(applyDelta(b, {})).toBeNull();
    expect(applyDelta(b, null)).toBeNull();
    expect(b.size).toBe(0);
  });

  it('counts offsets in code points like Python', () => {
    expect(cpLength('a😀b')).toBe(3);
    expect(cpSlice('😀xy', 1)).toBe('xy');
    const b = new Map();
    apply(b, { id: 'a1', offset: 0, text: 'hi 😀' }, { id: 'a1', offset: 4, text: ' there' });
    expect(b.get('a1').text).toBe('hi 😀 there');
    apply(b, { id: 'a1', offset: 3, text: '😀 there!' });
    expect(b.get('a1').text).toBe('hi 😀 there!');
  });
});

describe('model-level state', () => {
  it('is shared by every proxy of one model (as anywidget passes them), keyed by _panel_id', () => {
    const m = new FakeModel();
    const s = modelState(proxy(m)); // initialize()
    m.set('stream', { id: 'a1', offset: 0, text: 'Hi' });
    expect(modelState(proxy(m))).toBe(s); // render() of a view
    m.set('transcript', []);
    expect(modelState(proxy(m))).toBe(s);
    expect(modelState(proxy(new FakeModel()))).not.toBe(s);
    expect(s.buffers.get('a1').text).toBe('Hi');
  });

  it('drops a buffer once the transcript has the message, and ignores late deltas', () => {
    const m = new FakeModel();
    const s = modelState(m);
    m.set('stream', { id: 'a1', offset: 0, text: 'Hi' });
    m.set('transcript', [{ id: 'a1', role: 'assistant', text: 'Hi', status: 'complete' }]);
    expect(s.buffers.has('a1')).toBe(false);
    m.set('stream', { id: 'a1', offset: 2, text: ' late' });
    expect(s.buffers.has('a1')).toBe(false);
  });

  it('merges each turn\'s tail into the transcript locally, by id, without saving', () => {
    const m = new FakeModel();
    modelState(proxy(m));
    const u1 = { id: 'm1', role: 'user', text: 'hi' };
    const a1 = { id: 'm2', role: 'assistant', text: 'hello', status: 'complete' };
    const u2 = { id: 'm3', role: 'user', text: 'again' };
    const a2 = { id: 'm4', role: 'assistant', text: 'still here', status: 'complete' };
    m.set('transcript_tail', { seq: 1, entries: [u1, a1] });
    m.set('transcript_tail', { seq: 2, entries: [u2, a2] });
    expect(m.get('transcript')).toEqual([u1, a1, u2, a2]);
    expect(m.sent).toEqual([]); // nothing goes back to the kernel
    // a page reload: the full transcript already holds the tail's messages
    const reloaded = new FakeModel({ transcript: [u1, a1, u2, a2], transcript_tail: { seq: 2, entries: [u2, a2] } });
    modelState(proxy(reloaded));
    expect(reloaded.get('transcript')).toEqual([u1, a1, u2, a2]);
    // saved widget state restored with a tail not merged yet
    const saved = new FakeModel({ transcript: [u1, a1], transcript_tail: { seq: 2, entries: [u2, a2] } });
    modelState(proxy(saved));
    expect(saved.get('transcript')).toEqual([u1, a1, u2, a2]);
  });

  it('lets a full transcript (clear, retry) replace the merged one, and drops finished buffers', () => {
    const m = new FakeModel();
    const s = modelState(proxy(m));
    m.set('stream', { id: 'm2', offset: 0, text: 'hel' });
    m.set('transcript_tail', { seq: 1, entries: [{ id: 'm1', role: 'user', text: 'hi' }, { id: 'm2', role: 'assistant', text: 'hello' }] });
    expect(s.buffers.has('m2')).toBe(false); // the finished message left the stream buffers
    m.set('transcript', []);
    m.set('transcript_tail', {});
    expect(m.get('transcript')).toEqual([]);
    m.set('transcript_tail', { seq: 2, entries: [{ id: 'm3', role: 'user', text: 'new' }] });
    expect(m.get('transcript').map((e) => e.id)).toEqual(['m3']);
  });

  it('mergeTail ignores what is not a tail and returns null when nothing is new', () => {
    expect(mergeTail([], null)).toBe(null);
    expect(mergeTail([], { entries: 'x' })).toBe(null);
    expect(mergeTail(undefined, { entries: [{ id: 'a' }] })).toEqual([{ id: 'a' }]);
    expect(mergeTail([{ id: 'a' }], { entries: [{ id: 'a' }, null, 3] })).toBe(null);
  });

  it('mergeTail puts a changed entry in its place (a form sent) and leaves equal ones alone', () => {
    const t = [{ id: 'a', text: 'x' }, { id: 'b', v: 1 }];
    const out = mergeTail(t, { entries: [{ id: 'b', v: 2 }, { id: 'c' }] });
    expect(out).toEqual([{ id: 'a', text: 'x' }, { id: 'b', v: 2 }, { id: 'c' }]);
    expect(out[0]).toBe(t[0]); // unchanged entries stay the same objects: their views are not redrawn
    expect(mergeTail(out, { entries: [{ id: 'b', v: 2 }] })).toBe(null);
  });

  it('notifies subscribers and removes its listeners on dispose', () => {
    const m = new FakeModel();
    const s = modelState(m);
    let n = 0;
    s.subs.add(() => n++);
    m.set('stream', { id: 'a1', offset: 0, text: 'x' });
    expect(n).toBe(1);
    expect(m.listenerCount()).toBe(6); // transcript, pending, stream, tail; msg:custom and comm:close (connection.js)
    s.dispose();
    expect(m.listenerCount()).toBe(0);
    expect(lookupState(proxy(m))).toBe(null); // nothing kept after initialize()'s cleanup
  });
});

describe('a turn sent as a tail, drawn by the panel', () => {
  it('shows the appended messages in every view, as a full transcript would', async () => {
    const { model: m, els } = mount({}, { views: 2 });
    const turn = (n) => [
      { id: `m${2 * n - 1}`, role: 'user', text: `question ${n}` },
      { id: `m${2 * n}`, role: 'assistant', text: `answer **${n}**`, status: 'complete', sources: [], blocks: [] },
    ];
    m.set('pending', { user: turn(1)[0], assistant_id: 'm2' });
    m.set('stream', { id: 'm2', offset: 0, text: 'answer ' });
    m.set('transcript_tail', { seq: 1, entries: turn(1) });
    m.set('pending', {});
    m.set('transcript_tail', { seq: 2, entries: turn(2) });
    await frames();
    for (const el of els) {
      const texts = articles(el).map((a) => a.textContent);
      expect(texts.length).toBe(4);
      expect(texts[1]).toContain('answer 1');
      expect(texts[3]).toContain('answer 2');
    }
    expect(els[0].querySelector('[role="log"]').innerHTML).toBe(els[1].querySelector('[role="log"]').innerHTML);
  });
});
