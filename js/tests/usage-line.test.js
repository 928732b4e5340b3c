// The per-reply line's words, shared with the terminal: `convowidget ask` prints the same
// line for the same numbers (tests/test_cli_ask.py reads the same cases).
import { describe, it, expect } from 'vitest';
import { readFileSync } from 'node:fs';
import { usageParts } from '../src/steps.js';
import { box } from './helpers.js';

const CASES = JSON.parse(readFileSync('js/tests/usage-lines.json', 'utf8')); // vitest runs from the repository root

/** The line as the eye sees it: screen-reader-only text left out. */
function seen(usage) {
  const parts = usageParts(usage);
  if (!parts) return null;
  const el = box(...parts);
  el.querySelectorAll('.cw-sr').forEach((n) => n.remove());
  return el.textContent;
}

describe('the per-reply line', () => {
  it('reads as the shared cases say, the words the terminal prints too', () => {
    for (const { usage, line } of CASES) expect(seen(usage)).toBe(line);
  });
});
