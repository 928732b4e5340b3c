import { describe, it, expect } from 'vitest';
import { applyDelta, modelState, lookupState, cpLength, cpSlice } from '../src/state.js';
import { FakeModel, proxy } from './helpers.js';

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

  it('notifies subscribers and removes its listeners on dispose', () => {
    const m = new FakeModel();
    const s = modelState(m);
    let n = 0;
    s.subs.add(() => n++);
    m.set('stream', { id: 'a1', offset: 0, text: 'x' });
    expect(n).toBe(1);
    expect(m.listenerCount()).toBe(3);
    s.dispose();
    expect(m.listenerCount()).toBe(0);
    expect(lookupState(proxy(m))).toBe(null); // nothing kept after initialize()'s cleanup
  });
});
