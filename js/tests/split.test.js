import { describe, it, expect } from 'vitest';
import { splitCommitted, createScanner, scan } from '../src/split.js';

describe('committed/tail split', () => {
  it('splits at the last blank line', () => {
    const text = 'First paragraph.\n\nSecond paragraph.\n\nThird is still open';
    const { committed, tail } = splitCommitted(text);
    expect(committed).toBe('First paragraph.\n\nSecond paragraph.\n\n');
    expect(tail).toBe('Third is still open');
    expect(splitCommitted('One.\n\nTwo, still typing\nmore').tail).toBe('Two, still typing\nmore');
  });

  it('keeps everything open when there is no finished block', () => {
    expect(splitCommitted('just one line')).toEqual({ committed: '', tail: 'just one line' });
    expect(splitCommitted('line one\nline two\n')).toEqual({ committed: '', tail: 'line one\nline two\n' });
  });

  it('decides on the open last line only from complete lines and its first character', () => {
    expect(splitCommitted('A\n\nSec').committed).toBe('A\n\n');
    expect(splitCommitted('A\n\n').committed).toBe('');
    expect(splitCommitted('A\n\n ').committed).toBe(''); // may become indented content
    expect(splitCommitted('A\n\n    code').committed).toBe('');
    expect(splitCommitted('- a\n-').committed).toBe(''); // list item or thematic break: unknown yet
  });

  it('never splits at a blank line inside a ``` fence', () => {
    const text = 'Intro\n\n```python\ndef f():\n\n    return 1\n\n\nx = 2\n';
    const { committed, tail } = splitCommitted(text);
    expect(committed).toBe('Intro\n\n');
    expect(tail.startsWith('```python')).toBe(true);
    expect(tail).toContain('\n\n    return 1');
  });

  it('splits after a closed fence', () => {
    const text = 'Intro\n\n```\na\n\nb\n```\nafter\n\nlast\n';
    const { committed, tail } = splitCommitted(text);
    expect(tail).toBe('last\n');
    expect(committed).toBe('Intro\n\n```\na\n\nb\n```\nafter\n\n');
    const { points } = scan(createScanner(), text);
    // fence opener, the line after the closing fence, and "last"
    expect(points.map((p) => text.slice(p, p + 5))).toEqual(['```\na', 'after', 'last\n']);
  });

  it('handles ~~~ fences and longer closing fences', () => {
    const text = '~~~\nx\n\n```\n\ny\n~~~~\n\nend\n';
    expect(splitCommitted(text).tail).toBe('end\n');
    const open = '````md\n```\n\ninner\n```\n\nstill code\n';
    expect(splitCommitted(open).committed).toBe('');
  });

  it('does not treat a backtick line with backticks in the info string as a fence', () => {
    const text = '```not a fence```\n\nnext\n';
    expect(splitCommitted(text).committed).toBe('```not a fence```\n\n');
  });

  it('treats indented fences (inside list items) as fences too', () => {
    const text = '1. Step one:\n   ```bash\n   echo a\n\n   echo b\n   ```\n2. Step two\n';
    const { points } = scan(createScanner(), text);
    expect(points.map((p) => text.slice(p, p + 6))).toEqual(['2. Ste']);
  });

  it('does not split before indented continuation lines', () => {
    const text = '- item\n\n    still the item\n\nNext block\n';
    expect(splitCommitted(text).committed).toBe('- item\n\n    still the item\n\n');
  });

  it('splits long lists between items', () => {
    const text = '- a\n- b\n- c\n';
    const { points } = scan(createScanner(), text);
    expect(points).toEqual([4, 8]);
    // but not a paragraph followed by a list item, nor a thematic break
    expect(scan(createScanner(), 'para\n- a\n').points).toEqual([]);
    expect(scan(createScanner(), '- a\n- - -\n').points).toEqual([]);
  });

  it('marks each table body row, with the header it needs', () => {
    const text = 'Intro:\n| a | b |\n|---|:-:|\n| 1 | 2 |\n| 3 | 4 |\n\nafter\n';
    const sc = scan(createScanner(), text);
    const at = (s) => text.indexOf(s);
    expect(sc.points).toEqual([at('| 1'), at('| 3'), at('after')]);
    expect(sc.heads.get(at('| 1'))).toBe('| a | b |\n|---|:-:|\n');
    expect(sc.heads.get(at('| 3'))).toBe(sc.heads.get(at('| 1')));
    expect(sc.heads.has(at('after'))).toBe(false);
    // not a table: cell counts differ, or no pipes in the delimiter row
    expect(scan(createScanner(), '| a | b |\n|---|\n| 1 |\n').heads.size).toBe(0);
    expect(scan(createScanner(), '| a |\n---\ntext\n').heads.size).toBe(0);
    // a heading ends the table
    const t2 = '| a |\n| - |\n| 1 |\n# Next\n';
    expect(scan(createScanner(), t2).points).toEqual([t2.indexOf('| 1'), t2.indexOf('# Next')]);
  });

  it('gives the same points when fed in arbitrary chunks', () => {
    const text = [
      '# Title', '', 'Para one', 'continues', '', '```js', 'let a = 1;', '', 'let b = 2;', '```', 'after',
      '', '- x', '- y', '  - nested', '', '> quote', '', '| h | i |', '|---|---|', '| 1 | 2 |', '| 3 | 4 |',
      '', '~~~', '', '~~~', 'tail text',
    ].join('\n');
    const full = scan(createScanner(), text).points;
    let seed = 7;
    for (let round = 0; round < 20; round++) {
      const sc = createScanner();
      let i = 0;
      while (i < text.length) {
        seed = (seed * 1103515245 + 12345) % 2147483648;
        i = Math.min(text.length, i + 1 + (seed % 9));
        scan(sc, text.slice(0, i));
      }
      expect(sc.points).toEqual(full);
    }
  });
});
