// Forms and inputs (forms.js): every field type, the browser's checks, what goes to the
// kernel, the problems it sends back, the read-only state and the keys inside a form.
import { describe, it, expect, vi, afterEach } from 'vitest';
import { renderBlock } from '../src/blocks.js';
import { NO_FILES } from '../src/forms.js';
import { mount, tearDown, q, user, reply, key, frames, box } from './helpers.js';

afterEach(tearDown);

const field = (id, type, extra = {}) => ({
  id, type, label: `The ${id}`, placeholder: '', required: false, default: null, error_message: '',
  options: [], validation: {}, secret: type === 'password', ...extra,
}); // prettier-ignore
const OPTIONS = [{ value: 's', label: 'Small' }, { value: 'l', label: 'Large' }];
const TYPES = ['text', 'email', 'password', 'number', 'tel', 'url', 'textarea', 'select', 'checkbox', 'radio', 'date', 'time', 'datetime-local', 'file'];
const form = (fields, extra = {}) => ({
  kind: 'form', mid: 'f1', title: 'Sign up', description: 'Two minutes.', fields, fields_omitted: 0,
  submit: { label: 'Request a demo', style: 'primary' }, submitted: false, values: {}, ...extra,
}); // prettier-ignore
const every = () =>
  TYPES.map((t) => field(t, t, t === 'select' || t === 'radio' ? { options: OPTIONS } : {}));

/** A form rendered on the page (constraint validation needs it attached), with its submit spy. */
function shown(block) {
  const submit = vi.fn(() => true);
  const el = renderBlock(block, { send: vi.fn(), submit }, 2);
  document.body.append(box(el));
  return { el, submit };
}
const control = (el, label) => el.querySelector(`#${[...el.querySelectorAll('label')].find((l) => l.textContent.startsWith(label)).htmlFor}`);
const submitButton = (el) => el.querySelector('.cw-submit');

describe('forms', () => {
  it('draws every field type of the spec with a real label, and never the agent\'s pattern', () => {
    const fields = every().map((f) => ({ ...f, placeholder: `enter ${f.id}`, validation: { pattern: '(a+)+$' } }));
    const { el } = shown(form(fields));
    expect(el.getAttribute('role')).toBe('form');
    expect(el.getAttribute('aria-labelledby')).toBe(q(el, '.cw-form-title').id);
    expect(q(el, '.cw-form-title').textContent).toBe('Sign up');
    expect(q(el, '.cw-form-desc').textContent).toBe('Two minutes.');
    for (const t of TYPES.filter((x) => x !== 'radio')) {
      const c = control(el, `The ${t}`);
      const tag = { textarea: 'TEXTAREA', select: 'SELECT' }[t] || 'INPUT';
      expect(c.tagName).toBe(tag);
      if (tag === 'INPUT') expect(c.type).toBe(t);
    }
    const radios = el.querySelectorAll('input[type="radio"]');
    expect(radios.length).toBe(2);
    expect(radios[0].closest('fieldset').querySelector('legend').textContent).toBe('The radio');
    expect([...radios].map((r) => q(el, `label[for="${r.id}"]`).textContent)).toEqual(['Small', 'Large']);
    expect(control(el, 'The text').placeholder).toBe('enter text');
    expect([...control(el, 'The select').options].map((o) => [o.value, o.textContent])).toEqual([['', 'enter select'], ['s', 'Small'], ['l', 'Large']]);
    expect(el.querySelector('[pattern], form')).toBeNull(); // no pattern, no <form> that could post anywhere
    expect(el.innerHTML).not.toContain('(a+)+$');
    expect(submitButton(el).textContent).toBe('Request a demo');
    const file = control(el, 'The file');
    expect(file.disabled).toBe(true);
    expect(q(el, `#${file.getAttribute('aria-describedby')}`).textContent).toBe(NO_FILES);
    expect([...el.querySelectorAll('input, select, textarea, button')].every((c) => c.tabIndex === -1)).toBe(true);
  });

  it('marks required fields for the eye (aria-hidden) and for assistive tech (required), with defaults and checks', () => {
    const { el } = shown(form([
      field('name', 'text', { required: true, default: 'Ann', validation: { minLength: 2, maxLength: 40 } }),
      field('count', 'number', { default: '3', validation: { min: 1, max: 9 } }),
      field('ok', 'checkbox', { default: true }),
      field('size', 'radio', { options: OPTIONS, default: 'l' }),
    ])); // prettier-ignore
    const name = control(el, 'The name');
    expect(name.required).toBe(true);
    expect(name.value).toBe('Ann');
    expect([name.getAttribute('minlength'), name.getAttribute('maxlength')]).toEqual(['2', '40']);
    const mark = q(el, `label[for="${name.id}"] .cw-req`);
    expect(mark.textContent).toBe('*');
    expect(mark.getAttribute('aria-hidden')).toBe('true');
    const n = control(el, 'The count');
    expect([n.value, n.min, n.max, n.step]).toEqual(['3', '1', '9', 'any']);
    expect(control(el, 'The ok').checked).toBe(true);
    expect(el.querySelector('input[type="radio"][value="l"]').checked).toBe(true);
  });

  it('checks in the browser first: a problem shows by its field and nothing is sent', () => {
    const { el, submit } = shown(form([
      field('name', 'text', { required: true }),
      field('email', 'email', { error_message: 'An e-mail address, please' }),
      field('size', 'select', { required: true, options: OPTIONS }),
    ])); // prettier-ignore
    control(el, 'The email').value = 'not an address';
    submitButton(el).click();
    expect(submit).not.toHaveBeenCalled();
    const problemOf = (c) => q(el, `#${c.getAttribute('aria-describedby')}`);
    const name = control(el, 'The name');
    expect(name.getAttribute('aria-invalid')).toBe('true');
    expect(problemOf(name).hidden).toBe(false);
    expect(problemOf(name).textContent).not.toBe('');
    expect(problemOf(control(el, 'The email')).textContent).toBe('An e-mail address, please');
    expect(control(el, 'The size').getAttribute('aria-invalid')).toBe('true');
    expect(document.activeElement).toBe(name); // the first field to fix
    name.value = 'Ann';
    control(el, 'The email').value = 'ann@example.org';
    control(el, 'The size').value = 'l';
    submitButton(el).click();
    expect(submit).toHaveBeenCalledTimes(1);
    expect(submit).toHaveBeenCalledWith(2, { name: 'Ann', email: 'ann@example.org', size: 'l' });
    expect(name.hasAttribute('aria-invalid')).toBe(false);
    expect(problemOf(name).hidden).toBe(true);
  });

  it('sends one value per field: a checkbox\'s a boolean, a radio\'s its option, no file', () => {
    const { el, submit } = shown(form(every()));
    control(el, 'The text').value = 'hi';
    control(el, 'The password').value = 'hunter2';
    control(el, 'The number').value = '42';
    control(el, 'The checkbox').checked = true;
    el.querySelector('input[type="radio"][value="s"]').checked = true;
    control(el, 'The select').value = 'l';
    submitButton(el).click();
    const values = submit.mock.calls[0][1];
    expect(values).toMatchObject({ text: 'hi', password: 'hunter2', number: '42', checkbox: true, radio: 's', select: 'l', email: '' });
    expect(Object.keys(values)).not.toContain('file');
    expect(Object.keys(values).length).toBe(TYPES.length - 1);
  });

  it('shows the kernel\'s problems by each field (the agent\'s pattern is checked there)', async () => {
    const entry = form([field('code', 'text'), field('name', 'text')]);
    const { model, el } = mount({ transcript: [user('u1', 'sign up'), reply('a1', '', { blocks: [{ kind: 'text', text: 'Hi' }, entry] })] });
    const panel = q(el, '.cw-form');
    control(panel, 'The code').value = 'abc';
    submitButton(panel).click();
    expect(model.sent).toEqual([{ type: 'submit_form', id: 'a1', block: 1, values: { code: 'abc', name: '' } }]);
    model.emit('msg:custom', { type: 'form_problems', id: 'a1', block: 1, problems: { code: 'Three capitals', '': 'Try <b>again</b>.' } }, []);
    const code = control(panel, 'The code');
    expect(code.getAttribute('aria-invalid')).toBe('true');
    expect(q(panel, `#${code.getAttribute('aria-describedby')}`).textContent).toBe('Three capitals');
    const general = q(panel, '[role="alert"]');
    expect(general.hidden).toBe(false);
    expect(general.textContent).toBe('Try <b>again</b>.'); // text, never markup
    expect(general.querySelector('b')).toBeNull();
    model.emit('msg:custom', { type: 'form_problems', id: 'a9', block: 1, problems: { code: 'elsewhere' } }, []); // not this form
    expect(q(panel, `#${code.getAttribute('aria-describedby')}`).textContent).toBe('Three capitals');
    submitButton(panel).click(); // after problems, it can be sent again
    expect(model.sent.length).toBe(2);
  });

  it('once submitted shows the values filled in and read only, a password never', async () => {
    const done = form(every(), {
      submitted: true,
      values: { text: 'hi', password: null, number: '42', checkbox: true, radio: 'l', select: 's', date: '2025-01-02' },
    });
    const { el, submit } = shown(done);
    expect(submitButton(el)).toBeNull();
    expect(q(el, '.cw-form-done').textContent).toBe('Submitted');
    expect(control(el, 'The text').value).toBe('hi');
    expect(control(el, 'The text').readOnly).toBe(true);
    expect(control(el, 'The date').value).toBe('2025-01-02');
    const password = control(el, 'The password');
    expect([password.type, password.value, password.readOnly]).toEqual(['text', '(hidden)', true]);
    expect(control(el, 'The checkbox').checked).toBe(true);
    expect(control(el, 'The checkbox').disabled).toBe(true);
    expect(control(el, 'The select').value).toBe('s');
    expect(control(el, 'The select').disabled).toBe(true);
    expect(el.querySelector('input[type="radio"]:checked').value).toBe('l');
    expect(el.querySelectorAll('[required], .cw-latest-only').length).toBe(0);
    key(control(el, 'The text'), 'Enter');
    expect(submit).not.toHaveBeenCalled();
  });

  it('an input: one field, Enter sends it unless submit_on_enter is false', () => {
    const input = { kind: 'input', mid: 'i1', field: field('email', 'email', { required: true }), submit_on_enter: true, submitted: false, value: null };
    const { el, submit } = shown(input);
    expect(el.getAttribute('aria-label')).toBe('The email');
    const c = control(el, 'The email');
    c.value = 'ann@example.org';
    const e = key(c, 'Enter');
    expect(e.defaultPrevented).toBe(true);
    expect(submit).toHaveBeenCalledWith(2, { email: 'ann@example.org' });
    const quiet = shown({ ...input, submit_on_enter: false });
    control(quiet.el, 'The email').value = 'ann@example.org';
    key(control(quiet.el, 'The email'), 'Enter');
    expect(quiet.submit).not.toHaveBeenCalled();
    submitButton(quiet.el).click();
    expect(quiet.submit).toHaveBeenCalledTimes(1);
    const sent = shown({ ...input, submitted: true, value: 'ann@example.org' });
    expect(control(sent.el, 'The email').value).toBe('ann@example.org');
  });

  it('keeps the agent\'s labels, options and placeholders as text', () => {
    const evil = '<img src=x onerror=alert(1)>';
    const { el } = shown(form([field('a', 'select', { label: evil, placeholder: evil, options: [{ value: evil, label: evil }] })], { title: evil, description: evil }));
    expect(el.querySelector('img, [onerror]')).toBeNull();
    expect(q(el, '.cw-form-title').textContent).toBe(evil);
    expect(control(el, evil).options[1].textContent).toBe(evil);
  });

  it('keys: Tab moves between the fields, Escape and Shift+Tab from the first go back to the message, the rest stay with the field', async () => {
    const entry = form([field('a', 'text'), field('size', 'radio', { options: OPTIONS }), field('b', 'textarea')]);
    const { el } = mount({ transcript: [user('u1', 'x'), reply('a1', '', { blocks: [entry] })] });
    await frames();
    const article = q(el, '[data-id="a1"]');
    const a = control(el, 'The a');
    const notebook = vi.fn();
    document.addEventListener('keydown', notebook);
    article.focus();
    key(article, 'Enter'); // enters the form
    expect(document.activeElement).toBe(a);
    expect(key(a, 'Tab').defaultPrevented).toBe(true);
    expect(document.activeElement.value).toBe('s'); // a radio group is one stop
    key(document.activeElement, 'Tab');
    expect(document.activeElement).toBe(control(el, 'The b'));
    key(document.activeElement, 'Tab');
    expect(document.activeElement).toBe(submitButton(el));
    key(document.activeElement, 'Tab', { shiftKey: true });
    key(document.activeElement, 'ArrowLeft'); // the field's own key: the caret, not the transcript
    expect(document.activeElement).toBe(control(el, 'The b'));
    key(document.activeElement, 'Escape');
    expect(document.activeElement).toBe(article);
    a.focus();
    key(a, 'Tab', { shiftKey: true });
    expect(document.activeElement).toBe(article);
    expect(notebook).not.toHaveBeenCalled(); // none of these reached the notebook's shortcuts
    document.removeEventListener('keydown', notebook);
    article.focus();
    key(article, 'ArrowRight'); // Right reaches the fields too
    expect(document.activeElement).toBe(a);
  });

  it('only the latest reply\'s form can be filled in; the others are disabled, as choices are', async () => {
    const entry = form([field('a', 'text')]);
    const { model, el } = mount({ transcript: [user('u1', 'x'), reply('a1', '', { blocks: [entry] }), user('u2', 'y'), reply('a2', '', { blocks: [entry] })] });
    await frames();
    const a = (id) => control(q(el, `[data-id="${id}"]`), 'The a');
    expect(a('a1').disabled).toBe(true);
    expect(submitButton(q(el, '[data-id="a1"]')).disabled).toBe(true);
    expect(a('a2').disabled).toBe(false);
    model.set('pending', { user: user('u3', 'z'), assistant_id: 'a3' });
    await frames();
    expect(a('a2').disabled).toBe(true);
  });

  it('a form the kernel marks sent (the transcript tail replaces its entry) turns read only in place', async () => {
    const entry = form([field('a', 'text')]);
    const { model, el } = mount({ transcript: [user('u1', 'x'), reply('a1', 'Fill in:', { blocks: [entry], plain_text: '' })] });
    await frames();
    const sent = reply('a1', 'Fill in:', { blocks: [{ ...entry, submitted: true, values: { a: 'typed' } }], plain_text: '' });
    model.set('transcript_tail', { seq: 1, entries: [sent] });
    await frames();
    expect(q(el, '[data-id="a1"] .cw-form-done')).not.toBeNull();
    expect(control(el, 'The a').value).toBe('typed');
    expect(model.get('transcript').length).toBe(2);
  });

  it('notes fields left out', () => {
    const { el } = shown(form([field('a', 'text')], { fields_omitted: 3 }));
    expect(el.textContent).toContain('3 more fields were left out.');
  });
});
