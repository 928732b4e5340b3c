// Rendering of ui_engine blocks: text, choice, image, card, carousel, unsupported.
import { h, control, noTabStop, safeHref, imageSource, imagePlaceholder, extLink, str, arr, obj } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { enhance } from './enhance.js';

/** @import { MessageContext, Block, CardBlock, ChoiceButton, ImageBlock } from './types.js' */
/** @typedef {Pick<MessageContext, 'send'>} BlockContext what a block may do: send a prompt */

/** @param {string | undefined} text @param {string} cls */
function mdBox(text, cls) {
  const box = h('div', { class: 'cw-md ' + cls });
  box.append(enhance(renderMarkdown(text)));
  return box;
}

/**
 * Buttons: `message` -> a button that sends it as a new prompt; otherwise a
 * `url` -> a link opening in a new tab (http(s), mailto: or tel:; `//host` is
 * read as https:; anything else gives a disabled button); a button with
 * neither sends its label. None is a Tab stop of its own (see keyboard.js); the
 * view disables the prompt buttons of every turn but the latest (`cw-choice-send`).
 * @param {ChoiceButton[] | undefined} list
 * @param {BlockContext} ctx
 */
function buttons(list, ctx) {
  const row = h('div', { class: 'cw-choices', role: 'group' });
  for (const b of arr(list)) {
    if (!b || typeof b !== 'object') continue;
    const label = str(b.label || b.message || b.url) || 'Option';
    if (!b.message && b.url) {
      const href = safeHref(b.url);
      row.append(
        href
          ? noTabStop(extLink(href, label, 'cw-choice cw-choice-link'))
          : control('cw-choice', label, null, { disabled: true }),
      );
    } else {
      const text = str(b.message || b.label);
      row.append(control('cw-choice cw-choice-send', label, () => text.trim() && ctx.send(text)));
    }
  }
  return row;
}

/**
 * An agent's image: https: only, lazy and without a referrer; an http: image
 * is a link to it (never loaded); data: and anything else a neutral text.
 * @param {ImageBlock['url'] | undefined} url
 * @param {string | undefined} alt
 * @param {string} cls
 * @param {string | undefined} [label]
 */
function image(url, alt, cls, label = alt) {
  const src = typeof url === 'object' && url ? url.url : url;
  const s = imageSource(src);
  if (s.kind === 'img') {
    return h('img', { class: cls, src: s.src, alt: str(alt), loading: 'lazy', referrerpolicy: 'no-referrer' });
  }
  if (s.kind === 'link') return noTabStop(extLink(s.href, str(label).trim() || s.href, 'cw-img-link'));
  return h('div', { class: 'cw-img-none', text: imagePlaceholder(label) });
}

/** @param {Partial<CardBlock> | undefined} card @param {BlockContext} ctx */
function cardBox(card, ctx) {
  const c = obj(card);
  return h(
    'div',
    { class: 'cw-card' },
    // The card's title is shown anyway: an image not loaded is labelled by its URL.
    c.image ? image(c.image, c.title, 'cw-card-img', '') : null,
    h(
      'div',
      { class: 'cw-card-body' },
      c.title ? h('div', { class: 'cw-card-title', text: str(c.title) }) : null,
      c.text ? mdBox(c.text, 'cw-card-text') : null,
      arr(c.buttons).length ? buttons(c.buttons, ctx) : null,
    ),
  );
}

/** @param {unknown} type */
const unsupported = (type) =>
  h('div', { class: 'cw-unsupported', text: `[unsupported message: ${str(type) || 'unknown'}]` });

/**
 * Render one block to an element. `ctx.send(text)` sends a prompt.
 * @param {Block} block
 * @param {BlockContext} ctx
 * @returns {HTMLElement}
 */
export function renderBlock(block, ctx) {
  const b = obj(block);
  switch (b.kind) {
    case 'text':
      return mdBox(b.text, 'cw-block-text');
    case 'choice':
      return buttons(b.buttons, ctx);
    case 'image':
      return image(b.url, b.alt, 'cw-block-img');
    case 'card':
      return cardBox(b, ctx);
    case 'carousel':
      return h('div', { class: 'cw-carousel', tabindex: '-1' }, ...arr(b.cards).map((c) => cardBox(c, ctx)));
    case 'unsupported':
      return unsupported(b.type);
    default: {
      const other = /** @type {{kind?: unknown, type?: unknown}} */ (b);
      return unsupported(other.type || other.kind);
    }
  }
}

/** Keeps a container in sync with a blocks array, re-rendering only changed blocks. */
export class BlocksView {
  /** @param {HTMLElement} el @param {BlockContext} ctx */
  constructor(el, ctx) {
    this.el = el;
    this.ctx = ctx;
    /** @type {string[]} */
    this.keys = [];
  }
  /** @param {Block[]} blocks */
  set(blocks) {
    const list = arr(blocks);
    const keys = list.map((b) => JSON.stringify(b));
    list.forEach((b, i) => {
      if (keys[i] === this.keys[i]) return;
      const el = renderBlock(b, this.ctx);
      el.classList.add('cw-block');
      const old = this.el.children[i];
      old ? old.replaceWith(el) : this.el.append(el);
    });
    while (this.el.children.length > list.length) this.el.lastElementChild?.remove();
    this.keys = keys;
  }
}
