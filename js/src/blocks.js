// Rendering of ui_engine blocks: text, choice, image, card, carousel, unsupported.
import { h, isHttpUrl, isImageUrl, extLink } from './dom.js';
import { renderMarkdown } from './markdown.js';

const str = (v) => (v == null ? '' : String(v));

function mdBox(text, cls) {
  const box = h('div', { class: 'cw-md ' + cls });
  box.append(renderMarkdown(text));
  return box;
}

/**
 * Buttons: `message` -> a button that sends it as a new prompt; otherwise a
 * `url` -> a link opening in a new tab (http(s) only, else a disabled button);
 * a button with neither sends its label.
 */
function buttons(list, ctx) {
  const row = h('div', { class: 'cw-choices', role: 'group' });
  for (const b of Array.isArray(list) ? list : []) {
    if (!b || typeof b !== 'object') continue;
    const label = str(b.label || b.message || b.url) || 'Option';
    if (!b.message && b.url) {
      row.append(
        isHttpUrl(b.url)
          ? extLink(b.url, label, 'cw-choice cw-choice-link')
          : h('button', { class: 'cw-choice', type: 'button', disabled: true, text: label }),
      );
    } else {
      const text = str(b.message || b.label);
      row.append(
        h('button', {
          class: 'cw-choice',
          type: 'button',
          onclick: () => text.trim() && ctx.send(text),
          text: label,
        }),
      );
    }
  }
  return row;
}

function image(url, alt, cls) {
  const src = typeof url === 'object' && url ? url.url : url;
  return isImageUrl(src)
    ? h('img', { class: cls, src: src.trim(), alt: str(alt), loading: 'lazy', referrerpolicy: 'no-referrer' })
    : null;
}

function card(c, ctx) {
  c = c && typeof c === 'object' ? c : {};
  return h(
    'div',
    { class: 'cw-card' },
    image(c.image, c.title, 'cw-card-img'),
    h(
      'div',
      { class: 'cw-card-body' },
      c.title ? h('div', { class: 'cw-card-title', text: str(c.title) }) : null,
      c.text ? mdBox(c.text, 'cw-card-text') : null,
      Array.isArray(c.buttons) && c.buttons.length ? buttons(c.buttons, ctx) : null,
    ),
  );
}

const unsupported = (type) =>
  h('div', { class: 'cw-unsupported', text: `[unsupported message: ${str(type) || 'unknown'}]` });

/** Render one block to an element. `ctx.send(text)` sends a prompt. */
export function renderBlock(b, ctx) {
  b = b && typeof b === 'object' ? b : {};
  switch (b.kind) {
    case 'text':
      return mdBox(b.text, 'cw-block-text');
    case 'choice':
      return buttons(b.buttons, ctx);
    case 'image':
      return image(b.url, b.alt, 'cw-block-img') || unsupported('image');
    case 'card':
      return card(b, ctx);
    case 'carousel':
      return h('div', { class: 'cw-carousel' }, ...(Array.isArray(b.cards) ? b.cards : []).map((c) => card(c, ctx)));
    case 'unsupported':
      return unsupported(b.type);
    default:
      return unsupported(b.type || b.kind);
  }
}

/** Keeps a container in sync with a blocks array, re-rendering only changed blocks. */
export class BlocksView {
  constructor(el, ctx) {
    this.el = el;
    this.ctx = ctx;
    this.keys = [];
  }
  set(blocks) {
    const list = Array.isArray(blocks) ? blocks : [];
    const keys = list.map((b) => JSON.stringify(b));
    list.forEach((b, i) => {
      if (keys[i] === this.keys[i]) return;
      const el = renderBlock(b, this.ctx);
      el.classList.add('cw-block');
      const old = this.el.children[i];
      old ? old.replaceWith(el) : this.el.append(el);
    });
    while (this.el.children.length > list.length) this.el.lastElementChild.remove();
    this.keys = keys;
  }
}
