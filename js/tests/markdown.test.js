import { describe, it, expect } from 'vitest';
import { markdownToHtml, renderMarkdown, sanitize } from '../src/markdown.js';
import { box as boxOf } from './helpers.js';

const render = (md) => boxOf(renderMarkdown(md));

describe('markdown sanitizing', () => {
  it('removes event handler attributes from images', () => {
    // Raw HTML is text now; a markdown image's title cannot smuggle an attribute either.
    const box = render('<img src="https://example.com/a.png" onerror="alert(1)">\n\n![a](https://example.com/b.png "x\\" onerror=\\"alert(2)")');
    expect(box.querySelectorAll('img').length).toBe(1);
    expect(box.querySelector('img').getAttribute('src')).toBe('https://example.com/b.png');
    expect(box.querySelector('[onerror]')).toBeNull();
    expect(box.textContent).toContain('<img src="https://example.com/a.png" onerror="alert(1)">');
  });

  it('removes <script> elements', () => {
    const box = render('hello <script>alert(1)</script>\n\n<script src="https://x/y.js"></script>');
    expect(box.querySelector('script')).toBeNull();
    expect(box.textContent).toContain('hello <script>alert(1)</script>');
  });

  it('removes svg with onload', () => {
    const box = render('<svg onload="alert(1)"><circle r="4"/></svg>\n\n<svg><script>alert(2)</script></svg>');
    expect(box.querySelector('svg, circle, script, [onload]')).toBeNull();
    expect(box.textContent).toContain('<svg onload="alert(1)">');
  });

  it('removes javascript: URLs from links', () => {
    const box = render('[click](javascript:alert(1)) and <a href="JaVaScRiPt:alert(2)">raw</a> and <a href=" javascript:alert(3)">x</a>');
    expect(box.querySelectorAll('a').length).toBe(0);
    expect(box.querySelector('[href]')).toBeNull();
    expect(box.textContent).toContain('click and <a href="JaVaScRiPt:alert(2)">raw</a>');
  });

  it('removes iframe, object, embed and form', () => {
    const box = render(
      [
        '<iframe src="https://evil.example"></iframe>',
        '<object data="x.swf"></object>',
        '<embed src="x.swf">',
        '<form action="https://evil.example"><input name="pw" type="password"><button>Go</button></form>',
      ].join('\n\n'),
    );
    expect(box.querySelector('iframe, object, embed, form, button, input, [action], [name]')).toBeNull();
    expect(box.textContent).toContain('<input name="pw" type="password">');
  });

  it('removes style elements and attributes', () => {
    const box = render('<style>body{display:none}</style>\n\n<p style="position:fixed">x</p>');
    expect(box.querySelector('style, [style]')).toBeNull();
    expect([...box.querySelectorAll('p')].map((p) => p.textContent)).toEqual([
      '<style>body{display:none}</style>',
      '<p style="position:fixed">x</p>',
    ]);
  });

  it('opens every link in a new tab without opener', () => {
    const box = render('See [docs](https://example.com/docs) and <https://example.org>.\n\n[x](https://x.example) www.example.net');
    const links = box.querySelectorAll('a');
    expect(links.length).toBe(4);
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

  it('allows images only from https: URLs', () => {
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
    expect(srcs).toEqual(['https://example.com/a.png']);
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

// Every attribute name in a rendered box, as "tag[attr]".
const attrs = (box) =>
  [...box.querySelectorAll('*')].flatMap((n) => [...n.attributes].map((a) => `${n.tagName.toLowerCase()}[${a.name}]`));

describe('agent HTML is shown as text', () => {
  it('keeps every word of prose that names a tag', () => {
    const box = render('Put CSS inside a <style> element.\n\nNext paragraph');
    expect([...box.querySelectorAll('p')].map((p) => p.textContent)).toEqual([
      'Put CSS inside a <style> element.',
      'Next paragraph',
    ]);
    expect(box.querySelector('style')).toBeNull();
  });

  it('shows a fake JupyterLab dialog as literal text, inline or as a block', () => {
    const dialog = '<div class="jp-Dialog-content lm-Menu">x</div>';
    const box = render(`Look: ${dialog}\n\n${dialog}\n\n<div id="main" name="n" style="position:fixed">\nhi\n</div>`);
    const paras = [...box.querySelectorAll('p')].map((p) => p.textContent);
    expect(paras[0]).toBe(`Look: ${dialog}`);
    expect(paras[1]).toBe(dialog);
    expect(paras[2]).toBe('<div id="main" name="n" style="position:fixed">\nhi\n</div>');
    expect(box.querySelector('div, [class], [id], [name], [style]')).toBeNull();
  });

  it('still renders the markdown around and between raw tags', () => {
    const box = render('<details>\n**bold** and [docs](https://example.com)\n</details>');
    expect(box.querySelector('details')).toBeNull();
    expect(box.querySelector('strong').textContent).toBe('bold');
    expect(box.querySelector('a').getAttribute('href')).toBe('https://example.com');
    expect(box.textContent).toContain('<details>');
    expect(box.textContent).toContain('</details>');
  });

  it('lets no agent class, id, style or name reach the DOM from markdown', () => {
    const box = render(
      [
        '# Heading {#id .cls}',
        '[link](https://example.com "title") ![img](https://example.com/a.png "t")',
        '- [x] task',
        '| a | b |\n|:-:|--:|\n| 1 | 2 |',
        '```js"><img src=x class="jp-Dialog">\nx\n```',
        '<p class="jp-X" id="y" name="z" style="color:red">raw</p> <span class=lm-Menu>s</span>',
        '3. three',
      ].join('\n\n'),
    );
    const allowed = new Set([
      'a[href]', 'a[title]', 'a[target]', 'a[rel]', 'img[src]', 'img[alt]', 'img[title]', 'img[loading]',
      'img[referrerpolicy]', 'input[type]', 'input[checked]', 'input[disabled]', 'th[align]', 'td[align]',
      'ol[start]', 'code[class]',
    ]);
    expect(attrs(box).filter((a) => !allowed.has(a))).toEqual([]);
    expect([...box.querySelectorAll('[class]')].map((n) => n.className)).toEqual(['language-js']);
  });

  it('labels code blocks with their language', () => {
    const box = render('```python title="x.py"\nprint(1)\n```\n\n```c++\nint x;\n```\n\n```\nplain\n```');
    expect([...box.querySelectorAll('pre > code')].map((c) => c.className)).toEqual(['language-python', 'language-c++', '']);
  });
});

describe('DOMPurify as the second line of defence', () => {
  it('drops class, id, name, style, download and ping on anything marked did not make', () => {
    const box = boxOf(
      sanitize(
        '<p class="jp-Dialog" id="x" name="y" style="position:fixed">p</p>' +
          '<pre><code class="language-js">a</code></pre><code class="jp-Dialog language-js">b</code>' +
          '<a href="https://example.com/f.zip" download ping="https://t.example">f</a>' +
          '<a href="//example.com/x">r</a><img src="http://example.com/a.png"><img src="data:image/png;base64,AA">' +
          '<img src="https://example.com/ok.png" srcset="https://t.example/1.png 2x">',
      ),
    );
    expect([...box.querySelectorAll('[class]')].map((n) => n.className)).toEqual(['language-js']);
    expect(box.querySelector('[id], [name], [style], [download], [ping], [srcset]')).toBeNull();
    const a = box.querySelector('a[href]');
    expect(a.getAttribute('href')).toBe('https://example.com/f.zip');
    expect(a.getAttribute('target')).toBe('_blank');
    expect(a.getAttribute('rel')).toBe('noopener noreferrer');
    expect(box.querySelectorAll('a[href]').length).toBe(1); // a relative href is dropped
    expect([...box.querySelectorAll('img')].map((i) => i.getAttribute('src'))).toEqual(['https://example.com/ok.png']);
  });
});

describe('images and links from the agent', () => {
  it('loads images from https: only, lazily and without a referrer', () => {
    const box = render('![a cat](https://example.com/cat.png) ![proto](//example.com/p.png)');
    const imgs = [...box.querySelectorAll('img')];
    expect(imgs.map((i) => i.getAttribute('src'))).toEqual(['https://example.com/cat.png', 'https://example.com/p.png']);
    for (const img of imgs) {
      expect(img.getAttribute('loading')).toBe('lazy');
      expect(img.getAttribute('referrerpolicy')).toBe('no-referrer');
    }
    expect(imgs[0].getAttribute('alt')).toBe('a cat');
  });

  it('shows an http: image as a link to it (its alt text, else its URL), never loading it', () => {
    const box = render('![plain http](http://example.com/a.png) ![](http://example.com/b.png)');
    expect(box.querySelector('img')).toBeNull();
    const links = [...box.querySelectorAll('a')];
    expect(links.map((a) => [a.getAttribute('href'), a.textContent])).toEqual([
      ['http://example.com/a.png', 'plain http'],
      ['http://example.com/b.png', 'http://example.com/b.png'],
    ]);
    for (const a of links) expect(a.getAttribute('rel')).toBe('noopener noreferrer');
  });

  it('shows data: and every other image as a neutral placeholder', () => {
    const box = render(
      '![pixel](data:image/png;base64,iVBORw0KGgo=) ![](data:image/svg+xml,<svg/>) ![js](javascript:alert(1)) ' +
        '![rel](files/secret.png) ![file](file:///etc/passwd)',
    );
    expect(box.querySelector('img, a')).toBeNull();
    expect(box.textContent.trim()).toBe('[image: pixel] [image] [image: js] [image: rel] [image: file]');
  });

  it('opens links in a new tab, reads //host as https: and keeps mailto: and tel:', () => {
    const box = render('[r](//example.com/path) [m](mailto:help@example.com) [t](tel:+441234) <https://example.org/x>');
    const links = [...box.querySelectorAll('a')];
    expect(links.map((a) => a.getAttribute('href'))).toEqual([
      'https://example.com/path',
      'mailto:help@example.com',
      'tel:+441234',
      'https://example.org/x',
    ]);
    for (const a of links) {
      expect(a.getAttribute('target')).toBe('_blank');
      expect(a.getAttribute('rel')).toBe('noopener noreferrer');
      expect(a.hasAttribute('download')).toBe(false);
    }
  });

  it('shows javascript:, data:, vbscript: and relative links as their text', () => {
    const box = render(
      '[a](javascript:alert(1)) [b](JAVASCRIPT:alert(1)) [c](data:text/html,<script>alert(1)</script>) ' +
        '[d](vbscript:msgbox) [e](files/secret.txt) [f](#top) [g](/lab/tree) [h](https:evil.example)',
    );
    expect(box.querySelector('a, [href]')).toBeNull();
    expect(box.textContent.trim()).toBe('a b c d e f g h');
  });

  it('puts no link inside a link (an http: image in a link is a placeholder)', () => {
    const box = render('[![logo](http://example.com/l.png)](https://example.com) [![ok](https://example.com/i.png)](https://example.com)');
    expect(box.querySelector('a a')).toBeNull();
    expect([...box.querySelectorAll('a')].map((a) => a.textContent)).toEqual(['[image: logo]', '']);
    expect(box.querySelector('a img').getAttribute('src')).toBe('https://example.com/i.png');
  });
});

describe('odd text', () => {
  it('does not throw on lone surrogates, in text, links, images, code and tables', () => {
    const lone = ['\ud83d', '\ude00', 'a\ud800b', '\udfff\ud800'];
    for (const s of lone) {
      const md = `${s} *${s}*\n\n[x${s}](https://example.com/${s}) ![${s}](https://example.com/${s}.png) <https://e.example/${s}>\n\n` +
        `| ${s} | b |\n|---|---|\n| 1 | ${s} |\n\n\`\`\`${s}\n${s}\n\`\`\``;
      expect(() => render(md)).not.toThrow();
      expect(render(md).textContent).toContain(s);
    }
  });
});
