// The markdown path of the panel, fuzzed (fast-check): replies built of container
// markers repeated up to thousands of times, indentation, emphasis, links, table pipes,
// fences and raw HTML. Rendering never throws, the nesting that reaches the DOM is
// bounded, every word of the reply is on screen, and streaming it in random deltas gives
// the same DOM as the finished reply. CONVOWIDGET_FUZZ_EXAMPLES sets the number of
// examples (`make fuzz` runs 10,000).
import { describe, it, expect, afterEach } from 'vitest';
import fc from 'fast-check';
import { renderMarkdown, MAX_DEPTH, MAX_INDENT } from '../src/markdown.js';
import { box, noTimeSlicing, streamedAndWhole, depth, tearDown } from './helpers.js';

afterEach(tearDown);

const RUNS = Number(process.env.CONVOWIDGET_FUZZ_EXAMPLES || 15);
const TIMEOUT = Math.max(30_000, RUNS * 1500); // ms: up to a second an example on a busy machine

const word = fc.integer({ min: 0, max: 999 }).map((n) => `w${n}x`);
// What may open a line, repeated a few or thousands of times.
const prefix = fc.tuple(
  fc.constantFrom('>', '> ', '- ', '* ', '+ ', '1. ', '2) ', '  ', '\t', '> - ', '    ', '|', '#'),
  fc.oneof(fc.integer({ min: 0, max: 4 }), fc.integer({ min: 0, max: 5000 })),
).map(([m, n]) => m.repeat(n));
const inline = fc.oneof(
  { weight: 5, arbitrary: word },
  fc.constantFrom(' ', '*', '_', '**', '~~', '`', '[', '](https://example.com/a)', '|', '\\', '&amp;', '<b>', '---', ':-'),
  fc.tuple(fc.constantFrom('*', '_', '[', '~~'), fc.integer({ min: 1, max: 3000 })).map(([m, n]) => (m + 'a ').repeat(n)),
);
const line = fc.oneof(
  { weight: 8, arbitrary: fc.tuple(prefix, fc.array(inline, { maxLength: 12 })).map(([p, xs]) => p + xs.join('')) },
  fc.constantFrom('', '```', '~~~', '|---|---|', '***'),
);
const reply = fc.array(line, { minLength: 1, maxLength: 30 }).map((ls) => ls.join('\n'));

describe('fuzzed markdown (deep nesting)', () => {
  it('renders without throwing, nesting bounded, every word on screen', () => {
    fc.assert(
      fc.property(reply, (text) => {
        const el = box(renderMarkdown(text));
        expect(depth(el, 'blockquote, ul, ol')).toBeLessThanOrEqual(MAX_DEPTH + MAX_INDENT / 2 + 1);
        // A table drops cells beyond its header's: words are checked where no pipe is.
        if (!text.includes('|')) {
          const shown = el.textContent;
          for (const w of text.match(/w\d+x/g) || []) expect(shown).toContain(w);
        }
      }),
      { numRuns: RUNS, endOnFailure: true }, // shrinking replies of megabytes would take hours
    );
  }, TIMEOUT);

  it('streamed in random deltas, gives the DOM of the finished reply', () => {
    noTimeSlicing();
    fc.assert(
      fc.property(reply, fc.array(fc.integer({ min: 1, max: 4000 }), { minLength: 1, maxLength: 20 }), (text, steps) => {
        const [streamed, whole] = streamedAndWhole(text, steps);
        expect(streamed.innerHTML).toBe(whole.innerHTML);
      }),
      { numRuns: RUNS, endOnFailure: true }, // shrinking replies of megabytes would take hours
    );
  }, TIMEOUT);
});
