import { describe, it, expect } from 'vitest';
import { markdownToHtml, renderMarkdown } from '../src/markdown.js';

const render = (md) => {
  const box = document.createElement('div');
  box.append(renderMarkdown(md));
  return box;
};

describe('markdown sanitizing', () => {
  it('removes event handler attributes from images', () => {
    const box = render('<img src="https://example.com/a.png" onerror="alert(1)">');
    const img = box.querySelector('img');
    expect(img).not.toBeNull();
    expect(img.getAttribute('onerror')).toBeNull();
    expect(box.innerHTML).not.toMatch(/onerror/i);
  });

  it('removes <script> elements', () => {
    const html = markdownToHtml('hello <script>alert(1)</script>\n\n<script src="https://x/y.js"></script>');
    expect(html).not.toMatch(/<script/i);
    expect(html).toContain('hello');
  });

  it('removes svg with onload', () => {
    const html = markdownToHtml('<svg onload="alert(1)"><circle r="4"/></svg>\n\n<svg><script>alert(2)</script></svg>');
    expect(html).not.toMatch(/<svg/i);
    expect(html).not.toMatch(/onload/i);
    expect(html).not.toMatch(/alert/);
  });

  it('removes javascript: URLs from links', () => {
    const box = render('[click](javascript:alert(1)) and <a href="JaVaScRiPt:alert(2)">raw</a> and <a href=" javascript:alert(3)">x</a>');
    for (const a of box.querySelectorAll('a')) {
      expect(a.getAttribute('href') || '').not.toMatch(/script:/i);
    }
    expect(box.innerHTML).not.toMatch(/javascript:/i);
  });

  it('removes iframe, object, embed and form', () => {
    const html = markdownToHtml(
      [
        '<iframe src="https://evil.example"></iframe>',
        '<object data="x.swf"></object>',
        '<embed src="x.swf">',
        '<form action="https://evil.example"><input name="pw" type="password"><button>Go</button></form>',
      ].join('\n\n'),
    );
    expect(html).not.toMatch(/<(iframe|object|embed|form|button)/i);
    expect(html).not.toMatch(/type="password"/i);
  });

  it('removes style elements and attributes', () => {
    const html = markdownToHtml('<style>body{display:none}</style>\n\n<p style="position:fixed">x</p>');
    expect(html).not.toMatch(/<style|style=/i);
  });

  it('opens every link in a new tab without opener', () => {
    const box = render('See [docs](https://example.com/docs) and <https://example.org>.\n\n<a href="https://x.example">raw</a>');
    const links = box.querySelectorAll('a');
    expect(links.length).toBe(3);
    for (const a of links) {
      expect(a.getAttribute('target')).toBe('_blank');
      expect(a.getAttribute('rel')).toBe('noopener noreferrer');
    }
  });

  it('renders code blocks as <pre><code> with escaped content', () => {
    const box = render('```python\nprint("<b>hi</b>")\n```');
    const code = box.querySelector('pre > code');
    expect(code).not.toBeNull();
    expect(code.className).toBe('language-python');
    expect(code.textContent).toBe('print("<b>hi</b>")\n');
    expect(box.querySelector('b')).toBeNull();
  });

  it('allows images only from http(s) and data:image URLs', () => {
    const box = render(
      [
        '![ok](https://example.com/a.png)',
        '![data](data:image/png;base64,iVBORw0KGgo=)',
        '![js](javascript:alert(1))',
        '![rel](files/secret.png)',
        '![file](file:///etc/passwd)',
        '<img src="data:text/html,<script>alert(1)</script>">',
      ].join('\n\n'),
    );
    const srcs = [...box.querySelectorAll('img')].map((i) => i.getAttribute('src'));
    expect(srcs).toEqual(['https://example.com/a.png', 'data:image/png;base64,iVBORw0KGgo=']);
  });

  it('keeps GFM task checkboxes but read-only', () => {
    const box = render('- [x] done\n- [ ] todo');
    const boxes = box.querySelectorAll('input');
    expect(boxes.length).toBe(2);
    for (const b of boxes) {
      expect(b.type).toBe('checkbox');
      expect(b.disabled).toBe(true);
    }
  });

  it('renders ordinary markdown', () => {
    const box = render('# Title\n\nSome **bold** and `code`.\n\n| a | b |\n|---|---|\n| 1 | 2 |');
    expect(box.querySelector('h1').textContent).toBe('Title');
    expect(box.querySelector('strong').textContent).toBe('bold');
    expect(box.querySelector('table td').textContent).toBe('1');
  });
});
