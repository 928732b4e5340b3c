// Light syntax colouring for finished code blocks: comments, strings, numbers,
// keywords and literals of Python, JavaScript/TypeScript, shell and JSON. A few
// regular expressions, not a parser (about 1 KB gzipped; a highlighting library
// with these languages costs several times that). Tokens become text nodes and
// spans with a `cw-tk-*` class: nothing from the code is ever parsed as HTML.

/** @param {string} s */
const words = (s) => new Set(s.split(' '));
const DQ = String.raw`"(?:\\.|[^"\\\n])*"?`;
const SQ = String.raw`'(?:\\.|[^'\\\n])*'?`;
const NUM = String.raw`\b(?:0[xX][\da-fA-F_]+|0[bBoO][\d_]+|\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?n?)\b`;
const WORD = String.raw`[A-Za-z_$][\w$]*`;

/**
 * A language's patterns (comments, strings) and words (keywords, literals).
 * @typedef {{com: string, str: string, kw: Set<string>, lit: Set<string>}} Grammar
 */

/** @type {Record<string, Grammar>} */
const LANGS = {
  python: {
    com: '#[^\\n]*',
    str: String.raw`\b[rRbBuUfF]{1,2}(?="|')(?:"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|${DQ}|${SQ})|"""[\s\S]*?(?:"""|$)|'''[\s\S]*?(?:'''|$)|${DQ}|${SQ}`,
    kw: words(
      'and as assert async await break class continue def del elif else except finally for from global if ' +
        'import in is lambda nonlocal not or pass raise return try while with yield match case',
    ),
    lit: words('True False None self cls'),
  },
  js: {
    com: String.raw`\/\/[^\n]*|\/\*[\s\S]*?(?:\*\/|$)`,
    str: String.raw`\`(?:\\[\s\S]|[^\`\\])*\`?|${DQ}|${SQ}`,
    kw: words(
      'async await break case catch class const continue debugger default delete do else export extends ' +
        'finally for from function if import in instanceof let new of return static super switch throw try ' +
        'typeof var void while with yield interface type enum implements declare readonly as',
    ),
    lit: words('true false null undefined this NaN Infinity'),
  },
  bash: {
    com: String.raw`(?<![^\s;|&(])#[^\n]*`,
    str: `${DQ}|'[^']*'?`,
    kw: words(
      'if then else elif fi for in do done while until case esac function return export local set unset ' +
        'source cd echo exit sudo pip python python3 npm make',
    ),
    lit: words('true false'),
  },
  json: { com: '(?!)', str: DQ, kw: words(''), lit: words('true false null') },
};
/** @type {Record<string, string>} */
const ALIASES = {
  py: 'python', python3: 'python', py3: 'python', ipython: 'python', ipython3: 'python',
  javascript: 'js', jsx: 'js', mjs: 'js', cjs: 'js', node: 'js', ts: 'js', typescript: 'js', tsx: 'js',
  sh: 'bash', shell: 'bash', zsh: 'bash', console: 'bash', shellsession: 'bash',
  jsonc: 'json', json5: 'json',
}; // prettier-ignore
/** @type {Map<string, Grammar & {re: RegExp}>} */
const compiled = new Map();

/** The colouring rules for a code block's language label, or null (left plain). @param {string} lang */
function rules(lang) {
  const l = String(lang || '').toLowerCase();
  const name = LANGS[l] ? l : ALIASES[l];
  if (!name) return null;
  let rules = compiled.get(name);
  if (!rules) {
    const g = LANGS[name];
    rules = { ...g, re: new RegExp(`(${g.com})|(${g.str})|(${NUM})|(${WORD})`, 'g') };
    compiled.set(name, rules);
  }
  return rules;
}

/**
 * `text` as [kind, piece] pairs (kind: com, str, num, kw, lit or '' for plain); null if not coloured.
 * @param {string} text
 * @param {string} lang
 * @returns {[kind: string, piece: string][] | null}
 */
export function tokens(text, lang) {
  const g = rules(lang);
  if (!g) return null;
  /** @type {[string, string][]} */
  const out = [];
  let at = 0;
  /** @param {number} end */
  const plain = (end) => {
    if (end > at) out.push(['', text.slice(at, end)]);
  };
  g.re.lastIndex = 0;
  for (let m = g.re.exec(text); m; m = g.re.exec(text)) {
    if (!m[0]) {
      g.re.lastIndex++; // an empty match (an open string at the very end): move on
      continue;
    }
    const kind = m[1] ? 'com' : m[2] ? 'str' : m[3] ? 'num' : g.kw.has(m[0]) ? 'kw' : g.lit.has(m[0]) ? 'lit' : '';
    if (!kind) continue; // a plain word stays in the plain run
    plain(m.index);
    out.push([kind, m[0]]);
    at = m.index + m[0].length;
  }
  plain(text.length);
  return out;
}

const MAX = 20000; // characters: longer code is left plain

/** Colour the text of `el` (a <code>, or one of its line blocks) in place; false if left plain. @param {Element} el @param {string} lang */
export function paint(el, lang) {
  const text = el.textContent;
  if (!text || text.length > MAX) return false;
  const list = tokens(text, lang);
  if (!list || !list.some(([k]) => k)) return false;
  const frag = document.createDocumentFragment();
  for (const [kind, piece] of list) {
    if (!kind) frag.append(piece);
    else {
      const span = document.createElement('span');
      span.className = 'cw-tk-' + kind;
      span.textContent = piece;
      frag.append(span);
    }
  }
  el.replaceChildren(frag);
  return true;
}
