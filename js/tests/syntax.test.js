import { describe, it, expect } from 'vitest';
import { tokens, paint } from '../src/syntax.js';
import { MdStream } from '../src/mdstream.js';
import { box } from './helpers.js';

const kinds = (text, lang) => (tokens(text, lang) || []).filter(([k]) => k).map(([k, t]) => `${k}:${t}`);

describe('light syntax colours', () => {
  it('finds comments, strings, numbers, keywords and literals of Python', () => {
    expect(kinds('def f(x=1):  # note "q"\n    return f"a{x}" if x else None', 'python')).toEqual([
      'kw:def', 'num:1', 'com:# note "q"', 'kw:return', 'str:f"a{x}"', 'kw:if', 'kw:else', 'lit:None',
    ]);
    expect(kinds('s = """one\n# not a comment\n"""', 'py')).toEqual(['str:"""one\n# not a comment\n"""']);
  });

  it('knows JavaScript, shell and JSON by their usual labels, and leaves others plain', () => {
    expect(kinds('const a = `x` // c', 'ts')).toEqual(['kw:const', 'str:`x`', 'com:// c']);
    expect(kinds('pip install "x" # go\necho a#b', 'sh')).toEqual(['kw:pip', 'str:"x"', 'com:# go', 'kw:echo']);
    expect(kinds('{"a": [1, true, null]}', 'json')).toEqual(['str:"a"', 'num:1', 'lit:true', 'lit:null']);
    expect(tokens('SELECT 1', 'sql')).toBeNull();
    expect(tokens('x', '')).toBeNull();
  });

  it('keeps every character, in order, and an unfinished string is still a string', () => {
    const text = 'x = "open string\nprint(1)';
    const list = tokens(text, 'python');
    expect(list.map(([, t]) => t).join('')).toBe(text);
    expect(kinds(text, 'python')).toEqual(['str:"open string', 'num:1']);
  });

  it('paints with text nodes and spans only: markup in the code stays text', () => {
    const code = document.createElement('code');
    code.textContent = 'x = "<img src=x onerror=alert(1)>"  # <b>b</b>';
    expect(paint(code, 'python')).toBe(true);
    expect(code.querySelector('img, b')).toBeNull();
    expect([...code.children].map((c) => c.className)).toEqual(['cw-tk-str', 'cw-tk-com']);
    expect(code.textContent).toBe('x = "<img src=x onerror=alert(1)>"  # <b>b</b>');
    const long = document.createElement('code');
    long.textContent = 'x = 1\n'.repeat(5000); // over the limit: left plain
    expect(paint(long, 'python')).toBe(false);
    expect(long.children.length).toBe(0);
  });
});

describe('code blocks in a streaming message', () => {
  it('have the language label and Copy code while the fence is open, and colours once it closes', () => {
    const el = box();
    const md = new MdStream(el);
    md.set('```python\nx = 1\n');
    expect(el.querySelector('.cw-code-lang').textContent).toBe('python');
    expect(el.querySelector('.cw-copy-code').textContent).toBe('Copy code');
    expect(el.querySelector('.cw-tk-num')).toBeNull(); // plain while it grows
    md.set('```python\nx = 1\n```\n');
    expect(el.querySelectorAll('.cw-code').length).toBe(1);
    expect(el.querySelector('.cw-code-lang').textContent).toBe('python');
    expect(el.querySelector('.cw-tk-num').textContent).toBe('1');
    const whole = box();
    new MdStream(whole).set('```python\nx = 1\n```\n');
    expect(el.innerHTML).toBe(whole.innerHTML);
  });
});
