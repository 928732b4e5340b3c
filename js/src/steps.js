// What a finished reply did and cost, around its text: tool calls as collapsed steps
// (like HoloViz Panel's ChatStep), other actions as small notes, a handoff's payload,
// the sources, and the per-reply usage line. Everything here is the agent's text and is
// set as text (JSON in a <pre>), never as markup; links follow `safeHref`.
import { h, noTabStop, extLink, safeHref, str, arr, obj } from './dom.js';

/** @import { AssistantEntry, ToolCall, Source, SourceItem, Usage } from './types.js' */

let sourceLists = 0;

/** JSON text in a scrolling box (no Tab stop of its own). @param {string} label @param {unknown} text */
const json = (label, text) =>
  text == null
    ? null
    : h('div', { class: 'cw-step-part' }, label ? h('div', { class: 'cw-step-label', text: label }) : null, noTabStop(h('pre', { class: 'cw-json', text: str(text) })));

/** A tool call: "Tool call: name", opening to its input and output. @param {Partial<ToolCall>} call */
export function toolStep(call) {
  const c = obj(call);
  const parts = [json('Input', c.input), json('Output', c.output)].filter(Boolean);
  return h(
    'details',
    { class: 'cw-step' },
    h('summary', { tabindex: '-1', text: `Tool call: ${str(c.name) || 'unnamed tool'}` }),
    ...(parts.length ? parts : [h('div', { class: 'cw-step-label', text: 'No input or output was sent.' })]),
  );
}

/** The tool calls of a reply, in order. @param {AssistantEntry} m */
export const toolSteps = (m) => arr(m.tool_calls).map(toolStep);

/**
 * An action other than a handoff or a tool call: a small note with its type and text.
 * @param {{type?: string, text?: string}} a
 */
export const actionNote = (a) =>
  h('div', { class: 'cw-action', role: 'note' }, h('div', { text: `Action: ${str(obj(a).type) || 'unknown'}` }), json('', obj(a).text || null));

/** A handoff's payload, under the handoff's words. @param {AssistantEntry} m */
export const handoffPayload = (m) => (m.handoff_payload ? json('Handoff details', m.handoff_payload) : null);

/**
 * One source: `{url, title, id}` (source_items) or, from older kernels, a string or
 * `{url, title}`. The title (else the id, else the URL) is linked to the URL when the URL
 * is one `safeHref` allows; anything else is text.
 * @param {Source | SourceItem} s
 */
function source(s) {
  const o = /** @type {Partial<SourceItem> & {name?: string}} */ (s && typeof s === 'object' ? s : { url: str(s) });
  const href = safeHref(o.url);
  const text = str(o.title || o.name).trim() || str(o.id).trim() || href || str(o.url).trim();
  if (!text) return null;
  return href ? noTabStop(extLink(href, text)) : document.createTextNode(text);
}

/** "Sources:" and a list: `source_items` when the kernel sent them, else `sources`. @param {AssistantEntry} m */
export function sourcesList(m) {
  const items = arr(m.source_items).length ? arr(m.source_items) : arr(m.sources);
  const list = items.map(source).filter(Boolean);
  if (!list.length) return null;
  const label = `cw-src-${++sourceLists}`;
  return h(
    'div',
    { class: 'cw-sources' },
    h('div', { class: 'cw-sources-label', id: label, text: 'Sources:' }),
    h('ul', { 'aria-labelledby': label }, ...list.map((x) => h('li', null, x))),
  );
}

/** @param {unknown} v */
const known = (v) => typeof v === 'number' && Number.isFinite(v) && v >= 0;
/** @param {number} s */
const seconds = (s) => (s < 0.05 ? '< 0.1 s' : `${s < 10 ? s.toFixed(1) : Math.round(s)} s`);
/** @param {number} n */
const count = (n) => Math.round(n).toLocaleString('en-US');
/** Text only a screen reader says. @param {string} text */
const sr = (text) => h('span', { class: 'cw-sr', text });

/**
 * The per-reply line: "0.4 s to first word · 2.1 s · 1,234 → 567 tokens · gpt-4o",
 * leaving out what is unknown; null when nothing is known. A screen reader hears
 * "1,234 tokens in, 567 out" for the arrow.
 * @param {Partial<Usage> | undefined} usage
 */
export function usageParts(usage) {
  const u = obj(usage);
  /** @type {(string | Node)[][]} */
  const parts = [];
  if (known(u.first_chunk_s)) parts.push([`${seconds(/** @type {number} */ (u.first_chunk_s))} to first word`]);
  if (known(u.elapsed_s)) parts.push([seconds(/** @type {number} */ (u.elapsed_s)), sr(' in all')]);
  const tin = known(u.input_tokens) ? count(/** @type {number} */ (u.input_tokens)) : '';
  const tout = known(u.output_tokens) ? count(/** @type {number} */ (u.output_tokens)) : '';
  if (tin && tout) parts.push([tin, h('span', { 'aria-hidden': 'true', text: ' → ' }), sr(' tokens in, '), `${tout} tokens`, sr(' out')]);
  else if (tin || tout) parts.push([`${tin || tout} tokens ${tin ? 'in' : 'out'}`]);
  if (u.model) parts.push([str(u.model)]);
  if (!parts.length) return null;
  return parts.flatMap((p, i) => (i ? [h('span', { 'aria-hidden': 'true', text: ' · ' }), sr(', '), ...p] : p));
}
