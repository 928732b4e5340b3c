// Rendering of ui_engine blocks: text, choice, image, card, carousel, iframe, notice,
// unsupported; forms and inputs come from forms.js.
import { h, control, noTabStop, safeHref, imageSource, imagePlaceholder, extLink, str, arr, obj } from './dom.js';
import { renderMarkdown } from './markdown.js';
import { enhance } from './enhance.js';
import { renderForm } from './forms.js';

/** @import { Block, CardBlock, ChoiceButton, ImageBlock, IframeBlock } from './types.js' */
/** @import { FormValues } from './forms.js' */
/**
 * What a block may do: send a prompt; submit a form (the block's index and its values).
 * Both are false when nothing went out.
 * @typedef {{send: (text: string) => boolean, submit?: (block: number, values: FormValues) => boolean}} BlockContext
 */

const NOTICES = ['default', 'success', 'danger', 'primary', 'warning', 'info'];

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

/**
 * Embedded content: nothing loads until the person asks. The host and the layout show,
 * with "Load embedded content"; a click puts in a sandboxed, referrer-less frame of the
 * https address (16:9 for a video, `vertical`; a wide frame for a web page). No usable
 * https address: the agent's text, as text.
 * @param {Partial<IframeBlock>} b
 */
function embed(b) {
  const href = safeHref(b.url);
  if (!href || !/^https:/i.test(href)) return h('div', { class: 'cw-embed-text', text: str(b.text).trim() || '[embedded content]' });
  const layout = b.layout === 'vertical' ? 'vertical' : 'horizontal';
  const what = `${layout === 'vertical' ? 'Video' : 'Web page'} from ${str(b.host) || href.split('/')[2]}`;
  const box = h('div', { class: `cw-embed cw-embed-${layout}` });
  const load = () =>
    box.replaceChildren(
      h('iframe', {
        class: 'cw-embed-frame',
        src: href,
        title: what,
        sandbox: 'allow-scripts allow-same-origin allow-presentation',
        referrerpolicy: 'no-referrer',
        loading: 'lazy',
        tabindex: '-1',
      }),
    );
  box.append(h('div', { class: 'cw-embed-info', text: what }), control('cw-choice cw-embed-load', 'Load embedded content', load));
  return box;
}

/** @param {unknown} type */
const unsupported = (type) =>
  h('div', { class: 'cw-unsupported', text: `[unsupported message: ${str(type) || 'unknown'}]` });

/**
 * Render one block to an element. `ctx.send(text)` sends a prompt; a form's submit
 * calls `ctx.submit(index, values)`.
 * @param {Block} block
 * @param {BlockContext} ctx
 * @param {number} [index] the block's place in its reply
 * @returns {HTMLElement}
 */
export function renderBlock(block, ctx, index = 0) {
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
    case 'form':
    case 'input':
      return renderForm(b, { submit: (values) => !!ctx.submit && ctx.submit(index, values) });
    case 'iframe':
      return embed(b);
    case 'notice': {
      const level = NOTICES.includes(str(b.level)) ? b.level : 'default';
      return h('div', { class: `cw-notice cw-notice-${level}`, role: 'status', text: str(b.text) });
    }
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
      const el = renderBlock(b, this.ctx, i);
      el.classList.add('cw-block');
      const old = this.el.children[i];
      old ? old.replaceWith(el) : this.el.append(el);
    });
    while (this.el.children.length > list.length) this.el.lastElementChild?.remove();
    this.keys = keys;
  }
}
