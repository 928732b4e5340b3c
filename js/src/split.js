// Incremental "commit point" scanner for streamed markdown.
//
// A commit point is an offset where a new top-level markdown block starts and
// everything before it can no longer change when more text arrives, so the part
// before it can be rendered once and kept. Points are found in complete lines
// (plus the start of the open last line when its first character decides it):
//   - the start of an unindented, non-blank line that follows a blank line
//     outside a code fence (the "last blank line outside a ``` fence" rule),
//   - the start of an unindented fence opener (``` or ~~~) outside a fence,
//   - the start of the line after such a top-level fence closes,
//   - the start of an unindented list item that continues a list, and
//   - the start of each body row of a GFM table ("row points", listed in
//     `heads` with the table's header + delimiter lines, which a row needs
//     to be rendered on its own),
// so that long lists and tables do not make the open tail huge.
// Blank lines inside a fence (at any indentation) never split.

const FENCE = /^(`{3,}|~{3,})(.*)$/;
const LIST_ITEM = /^(?:[-+*]|\d{1,9}[.)])[ \t]+\S/;
const HR = /^(?:(?:-[ \t]*){3,}|(?:\*[ \t]*){3,}|(?:_[ \t]*){3,})$/;
const BLANK = /^[ \t\r]*$/;
const DELIM = /^\|?[ \t]*:?-+:?[ \t]*(?:\|[ \t]*:?-+:?[ \t]*)*\|?$/;
// Lines that end a table (they start another block).
const ENDS_TABLE = /^(?:#{1,6}(?:[ \t]|$)|>|<|```|~~~|[-*+][ \t]|\d{1,9}[.)][ \t])/;

/**
 * An open code fence: its character and length, whether it is top-level (unindented),
 * where it starts and its info string.
 * @typedef {{ch: string, len: number, top: boolean, start: number, info: string}} Fence
 */

/**
 * What a scan has found so far (see `scan`).
 * @typedef {object} Scanner
 * @property {number} pos offset of the first unscanned (incomplete) line
 * @property {number[]} points commit points found so far, ascending
 * @property {Map<number, string>} heads row point -> table header + delimiter lines
 * @property {Fence | null} fence
 * @property {string | null} table header + delimiter of the table being scanned
 * @property {string | null} last previous line, when outside a fence and not blank
 * @property {boolean} prevBlank
 * @property {boolean} inList
 * @property {boolean} afterFence
 */

/** @returns {Scanner} */
export function createScanner() {
  return {
    pos: 0, // offset of the first unscanned (incomplete) line
    points: [], // commit points found so far, ascending
    heads: new Map(), // row point -> table header + delimiter lines
    fence: null, // open fence: {ch, len, top, start, info}
    table: null, // header + delimiter of the table being scanned
    last: null, // previous line, when outside a fence and not blank
    prevBlank: false,
    inList: false,
    afterFence: false,
  };
}

/** True when trimmed line `t` closes the open `fence`. @param {string} t @param {Fence} fence */
export function closesFence(t, fence) {
  const m = FENCE.exec(t.trimEnd());
  return !!m && m[1][0] === fence.ch && m[1].length >= fence.len && m[2].trim() === '';
}

/** The number of cells of a table row. @param {string} row */
function cells(row) {
  const t = row.trim().replace(/\\\|/g, '');
  let n = t.split('|').length;
  if (t.startsWith('|')) n--;
  if (t.length > 1 && t.endsWith('|')) n--;
  return n;
}

/** @param {Scanner} sc @param {number} start */
function push(sc, start) {
  if (start > 0 && start !== sc.points[sc.points.length - 1]) sc.points.push(start);
}

/** Scan one complete line `s` that starts at `start`. @param {Scanner} sc @param {string} s @param {number} start */
function line(sc, s, start) {
  const t = s.trimStart();
  const indent = s.length - t.length;
  if (sc.fence) {
    if (closesFence(t, sc.fence)) {
      sc.afterFence = sc.fence.top;
      sc.fence = null;
    }
    sc.prevBlank = false;
    return;
  }
  const blank = BLANK.test(s);
  if (sc.table) {
    if (!blank && indent < 4 && !ENDS_TABLE.test(t) && !HR.test(t.trimEnd())) {
      push(sc, start); // another body row
      sc.heads.set(start, sc.table);
      sc.last = s;
      return;
    }
    sc.table = null;
    if (!blank && indent === 0) push(sc, start); // a new block ends the table
  }
  const isItem = indent === 0 && LIST_ITEM.test(s) && !HR.test(s);
  const m = blank ? null : FENCE.exec(t);
  const opens = !!m && !(m[1][0] === '`' && m[2].includes('`'));
  if (sc.afterFence || (indent === 0 && !blank && (sc.prevBlank || opens || (isItem && sc.inList)))) {
    push(sc, start);
  }
  sc.afterFence = false;
  const prev = sc.last;
  sc.last = blank ? null : s;
  if (opens) {
    sc.fence = { ch: m[1][0], len: m[1].length, top: indent === 0, start, info: m[2].trim() };
    if (indent === 0) sc.inList = false;
    sc.prevBlank = false;
    sc.last = null;
    return;
  }
  if (indent === 0 && !blank) sc.inList = isItem;
  sc.prevBlank = blank;
  // A delimiter row under a header row with as many cells starts a table.
  if (prev != null && indent < 4 && prev.includes('|') && t.includes('|') && DELIM.test(t.trimEnd()) && cells(prev) === cells(t)) {
    sc.table = prev + '\n' + s + '\n';
  }
}

/** Scan the complete lines of `text` not scanned yet; returns the scanner. @param {Scanner} sc @param {string} text */
export function scan(sc, text) {
  let pos = sc.pos;
  for (let nl = text.indexOf('\n', pos); nl !== -1; nl = text.indexOf('\n', pos)) {
    line(sc, text.slice(pos, nl), pos);
    pos = nl + 1;
  }
  sc.pos = pos;
  // The open last line can already be known to start a new block: after a
  // blank line or a closed top-level fence, an unindented first character.
  if (
    pos < text.length && !sc.fence && !sc.table && (sc.prevBlank || sc.afterFence) &&
    !/\s/.test(text[pos])
  ) {
    push(sc, pos);
  }
  return sc;
}

/** One-shot split: `committed` ends at the last commit point, `tail` is the rest. @param {string} text */
export function splitCommitted(text) {
  const { points } = scan(createScanner(), text);
  const p = points.length ? points[points.length - 1] : 0;
  return { committed: text.slice(0, p), tail: text.slice(p) };
}
