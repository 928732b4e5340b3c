// ui_engine forms and inputs: every field type of the spec with a real label, the
// browser's own checks (required, type, range, length), and one message to the kernel
// on submit. There is no <form> element, so nothing can post anywhere but through the
// kernel. The agent's `pattern` never reaches the DOM or a RegExp (a hostile pattern
// could freeze the tab): the kernel checks it with RE2 and answers with problems, which
// `showProblems` hands to the form and the form shows by each field.
//
// Keys: fields are no Tab stops of the page (the transcript is one); Right or Enter on
// the message enters the form (keyboard.js), then Tab and Shift+Tab move between its
// fields, Tab from the last leaves for the message box, Escape goes back to the message,
// and Enter in a one-line field submits. Every other key stays with the field.
import { h, control, str, arr, obj, show, setAttr } from './dom.js';

/** @import { FormBlock, InputBlock, FormField } from './types.js' */
/** @typedef {Record<string, string | boolean>} FormValues */
/** @typedef {{submit?: (values: FormValues) => boolean}} FormContext what a form may do: send its values */
/** @typedef {HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement} Control */

export const NO_FILES = 'Files cannot be sent from a notebook.';
const HIDDEN = '(hidden)';
const FIELDS = 'input, select, textarea';
const LINE = /^(text|email|password|number|tel|url|date|time|datetime-local)$/;
let forms = 0;

/**
 * One field: its label, its control(s) and the line for its problem. `value` is what it
 * shows (the default, or the submitted value when `done`); `done` makes it read only.
 * @param {Partial<FormField>} f @param {string} id @param {unknown} value @param {boolean} done
 */
function fieldView(f, id, value, done) {
  const type = str(f.type) || 'text';
  const problem = h('div', { class: 'cw-field-problem', id: `${id}-p`, hidden: true });
  const mark = f.required ? h('abbr', { class: 'cw-req', title: 'required', 'aria-hidden': 'true', text: '*' }) : null;
  const label = h('label', { for: id, text: str(f.label) }, mark);
  const live = done ? '' : ' cw-latest-only'; // the view disables the fields of every reply but the latest
  /** @template {'input' | 'select' | 'textarea'} T @param {T} tag @param {import('./dom.js').Attrs} [attrs] */
  const make = (tag, attrs) =>
    h(tag, { id, class: 'cw-control' + live, tabindex: '-1', required: !!f.required && !done, 'aria-describedby': problem.id, ...attrs });
  /** @type {Control[]} */
  let controls;
  /** @type {HTMLElement} */
  let el;
  if (type === 'radio') {
    const options = arr(f.options);
    controls = options.map((o, k) => make('input', { type: 'radio', name: id, id: `${id}-${k}`, value: str(o.value) }));
    controls.forEach((c, k) => {
      /** @type {HTMLInputElement} */ (c).checked = str(value) === str(options[k].value);
    });
    const rows = controls.map((c, k) => h('div', { class: 'cw-option' }, c, h('label', { for: c.id, text: str(options[k].label) })));
    el = h('fieldset', { class: 'cw-field', 'aria-describedby': problem.id }, h('legend', { text: str(f.label) }, mark), ...rows, problem);
  } else if (type === 'checkbox') {
    const c = /** @type {HTMLInputElement} */ (make('input', { type: 'checkbox' }));
    c.checked = value === true;
    controls = [c];
    el = h('div', { class: 'cw-field cw-field-check' }, c, label, problem);
  } else if (type === 'file') {
    controls = [];
    el = h('div', { class: 'cw-field' }, label, h('input', { type: 'file', id, disabled: true, tabindex: '-1', 'aria-describedby': problem.id }), problem);
  } else {
    const secret = !!f.secret || type === 'password';
    const checks = obj(f.validation);
    /** @type {Control} */
    let c;
    if (type === 'select') {
      const none = h('option', { value: '', text: str(f.placeholder) || 'Choose…' });
      c = make('select');
      c.append(none, ...arr(f.options).map((o) => h('option', { value: str(o.value), text: str(o.label) })));
    } else if (type === 'textarea') {
      c = make('textarea', { rows: '3', placeholder: str(f.placeholder) || null });
    } else {
      c = make('input', {
        type: done && secret ? 'text' : type,
        placeholder: str(f.placeholder) || null,
        min: checks.min,
        max: checks.max,
        step: type === 'number' ? 'any' : null,
        autocomplete: secret ? 'off' : null,
      });
    }
    if (checks.minLength != null) setAttr(c, 'minlength', str(checks.minLength));
    if (checks.maxLength != null) setAttr(c, 'maxlength', str(checks.maxLength));
    c.value = done && secret ? HIDDEN : value == null ? '' : str(value);
    controls = [c];
    el = h('div', { class: 'cw-field' }, label, c, problem);
  }
  if (done) {
    for (const c of controls) {
      if (c instanceof HTMLSelectElement || /^(radio|checkbox)$/.test(c.type)) c.disabled = true;
      else /** @type {HTMLInputElement} */ (c).readOnly = true;
    }
  }
  const view = {
    el,
    id: str(f.id),
    sends: type !== 'file',
    /** The value to send: a checkbox's is a boolean, every other one text. @returns {string | boolean} */
    read() {
      const c = /** @type {HTMLInputElement} */ (controls[0]);
      if (type === 'checkbox') return c.checked;
      if (type === 'radio') return str(/** @type {HTMLInputElement[]} */ (controls).find((r) => r.checked)?.value);
      return c ? c.value : '';
    },
    /** What the browser's checks say is wrong ('' when nothing): the agent's message first. */
    check() {
      const bad = controls.find((c) => !c.checkValidity());
      if (!bad) return '';
      return str(f.error_message) || bad.validationMessage || 'Please check this field.';
    },
    /** Show (or clear, with '') what is wrong with the value. @param {string} text */
    problem(text) {
      if (type === 'file') text = text || NO_FILES; // said all along, as a note
      setAttr(problem, 'data-note', text === NO_FILES ? 'true' : null);
      problem.textContent = text;
      show(problem, !!text);
      for (const c of controls) setAttr(c, 'aria-invalid', text ? 'true' : null);
    },
    focus: () => controls[0]?.focus(),
  };
  view.problem(''); // a file field says at once that it cannot be sent
  return view;
}

/** The form's stops for Tab: enabled fields (a radio group once) and its button. @param {HTMLElement} el */
function tabStops(el) {
  /** @type {(Control | HTMLButtonElement)[]} */
  const all = [...el.querySelectorAll(/** @type {'input'} */ (FIELDS + ', button'))];
  return all.filter((c) => {
    if (c.disabled || c.closest('[hidden]')) return false;
    if (!(c instanceof HTMLInputElement) || c.type !== 'radio') return true;
    const group = /** @type {HTMLInputElement[]} */ (all.filter((r) => r instanceof HTMLInputElement && r.name === c.name));
    return c.checked || (!group.some((r) => r.checked) && group[0] === c);
  });
}

/**
 * The keys inside a form (see the top of this file). Returns the listener.
 * @param {HTMLElement} el @param {() => void} submit @param {boolean} enter Enter submits
 */
const formKeys = (el, submit, enter) => (/** @type {KeyboardEvent} */ e) => {
  const t = /** @type {HTMLElement} */ (e.target);
  const field = t.matches(FIELDS);
  const stop = () => {
    e.preventDefault();
    e.stopPropagation();
  };
  if (e.key === 'Tab' && !e.ctrlKey && !e.metaKey && !e.altKey) {
    const stops = tabStops(el);
    const next = stops[stops.indexOf(/** @type {Control} */ (t)) + (e.shiftKey ? -1 : 1)];
    const to = next || (e.shiftKey ? /** @type {HTMLElement | null} */ (el.closest('[role="article"]')) : null);
    if (to) {
      stop();
      to.focus();
    } // Tab from the last stop: the transcript sends the focus to the message box
  } else if (e.key === 'Escape') {
    stop();
    /** @type {HTMLElement | null} */ (el.closest('[role="article"]'))?.focus();
  } else if (e.key === 'Enter' && field && t instanceof HTMLInputElement && LINE.test(t.type) && !e.isComposing) {
    stop();
    if (enter) submit();
  } else if (field) {
    e.stopPropagation(); // the field's own keys (the caret, typing): not the transcript's, nor the notebook's
  }
};

/**
 * @typedef {object} FormSpec
 * @property {'form' | 'input'} kind
 * @property {string} title
 * @property {string} description
 * @property {Partial<FormField>[]} fields
 * @property {Record<string, unknown>} values shown when `submitted`
 * @property {boolean} submitted
 * @property {string} label the submit button's
 * @property {number} omitted fields left out (too many)
 * @property {boolean} enter Enter in a one-line field submits
 */

/** @param {FormSpec} spec @param {FormContext} ctx */
function buildForm(spec, ctx) {
  const uid = `cw-form-${++forms}`;
  const done = spec.submitted;
  const views = spec.fields.map((f, i) => fieldView(f, `${uid}-${i}`, done ? spec.values[str(f.id)] : f.default, done));
  const general = h('div', { class: 'cw-alert', role: 'alert', hidden: true });
  let sent = false;
  const submit = () => {
    if (sent || done) return;
    const bad = views.filter((v) => {
      const text = v.check();
      v.problem(text);
      return text;
    });
    show(general, false);
    if (bad.length) return bad[0].focus();
    /** @type {FormValues} */
    const values = {};
    for (const v of views) if (v.sends) values[v.id] = v.read();
    sent = !!(ctx.submit && ctx.submit(values));
  };
  const title = spec.title ? h('div', { class: 'cw-form-title', id: `${uid}-t`, text: spec.title }) : null;
  const el = h(
    'div',
    {
      class: `cw-form cw-form-${spec.kind}`,
      role: 'form',
      'aria-labelledby': title ? title.id : null,
      'aria-label': title ? null : spec.kind === 'input' ? str(spec.fields[0]?.label) : 'Form',
    },
    title,
    spec.description ? h('div', { class: 'cw-form-desc', text: spec.description }) : null,
    ...views.map((v) => v.el),
    spec.omitted > 0 ? h('div', { class: 'cw-note', text: `${spec.omitted} more fields were left out.` }) : null,
    general,
    done
      ? h('div', { class: 'cw-form-done', text: 'Submitted' })
      : control('cw-submit cw-latest-only', spec.label, submit),
  );
  el.addEventListener('keydown', formKeys(el, submit, spec.enter));
  el.addEventListener('cw-problems', (e) => {
    const problems = obj(/** @type {CustomEvent<Record<string, string>>} */ (e).detail);
    sent = false;
    const known = new Set(views.map((v) => v.id));
    for (const v of views) v.problem(str(problems[v.id]));
    const rest = Object.keys(problems).filter((k) => !known.has(k));
    general.textContent = rest.map((k) => str(problems[k])).join(' ');
    show(general, rest.length > 0);
    views.find((v) => problems[v.id])?.focus();
  });
  return el;
}

/**
 * A form block, or an input block (one field). `ctx.submit(values)` sends it to the
 * kernel: `{field_id: value}` (a checkbox's a boolean, the rest text; no file).
 * @param {Partial<FormBlock> | Partial<InputBlock>} b @param {FormContext} ctx
 */
export function renderForm(b, ctx) {
  if (b.kind === 'input') {
    const f = obj(b.field);
    return buildForm(
      {
        kind: 'input', title: '', description: '', fields: [f], values: { [str(f.id)]: b.value },
        submitted: !!b.submitted, label: 'Submit', omitted: 0, enter: b.submit_on_enter !== false,
      },
      ctx,
    ); // prettier-ignore
  }
  const f = /** @type {Partial<FormBlock>} */ (b);
  return buildForm(
    {
      kind: 'form', title: str(f.title), description: str(f.description), fields: arr(f.fields),
      values: obj(f.values), submitted: !!f.submitted, label: str(obj(f.submit).label) || 'Submit',
      omitted: Number(f.fields_omitted) || 0, enter: true,
    },
    ctx,
  ); // prettier-ignore
}

/**
 * A `form_problems` message from the kernel: hand `{field_id: message}` to the form of
 * that reply's block in this panel (`root`), which shows them.
 * @param {HTMLElement} root @param {unknown} msg
 */
export function showProblems(root, msg) {
  const m = /** @type {{type?: unknown, id?: unknown, block?: unknown, problems?: Record<string, string>}} */ (
    obj(/** @type {object} */ (msg))
  );
  if (m.type !== 'form_problems' || typeof m.block !== 'number') return;
  const article = [...root.querySelectorAll('.cw-msg')].find((a) => a instanceof HTMLElement && a.dataset.id === m.id);
  const block = article?.querySelector('.cw-blocks')?.children[m.block];
  block?.dispatchEvent(new CustomEvent('cw-problems', { detail: obj(m.problems) }));
}
