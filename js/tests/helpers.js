// Test helpers: a minimal anywidget-like model and frame flushing.

export const DEFAULTS = {
  agent_label: 'Local demo agent (embedded server)',
  is_demo: false,
  status: 'idle',
  error: '',
  transcript: [],
  pending: {},
  stream: {},
};

/** Backbone-ish model: get/set/on/off/send; change callbacks get (model, value). */
let panels = 0;

export class FakeModel {
  constructor(attrs = {}) {
    const own = { _panel_id: `panel-${++panels}` }; // the kernel gives each widget its own
    this.attrs = { ...structuredClone(DEFAULTS), ...own, ...attrs }; // own objects, as after JSON sync
    this.handlers = new Map();
    this.sent = []; // what the panel sent the kernel, but its `hello`s (counted in `hellos`)
    this.hellos = 0;
  }
  get(k) {
    return this.attrs[k];
  }
  set(k, v) {
    this.attrs[k] = v;
    for (const cb of [...(this.handlers.get('change:' + k) || [])]) cb(this, v);
  }
  on(name, cb) {
    if (!this.handlers.has(name)) this.handlers.set(name, []);
    this.handlers.get(name).push(cb);
  }
  off(name, cb) {
    const list = this.handlers.get(name) || [];
    const i = list.indexOf(cb);
    if (i >= 0) list.splice(i, 1);
  }
  send(msg) {
    if (this.offline) throw new Error('Cannot send'); // what JupyterLab does once the kernel is gone
    if (msg && msg.type === 'hello') this.hellos++;
    else this.sent.push(msg);
  }
  /** A custom message or event from the host (msg:custom, comm:close). */
  emit(name, ...args) {
    for (const cb of [...(this.handlers.get(name) || [])]) cb(...args);
  }
  listenerCount() {
    let n = 0;
    for (const l of this.handlers.values()) n += l.length;
    return n;
  }
}

/** A fresh proxy object per call, like anywidget's modelProxy(). */
export function proxy(model) {
  return {
    get: model.get.bind(model),
    set: model.set.bind(model),
    send: model.send.bind(model),
    on: (n, cb) => model.on(n, cb),
    off: (n, cb) => model.off(n, cb),
  };
}

/** Wait for the next animation frame (pending view updates run first). */
export const nextFrame = () => new Promise((r) => requestAnimationFrame(() => r()));

export async function frames(n = 2) {
  for (let i = 0; i < n; i++) await nextFrame();
}
