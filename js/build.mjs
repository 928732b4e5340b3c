// Bundle the widget: js/src/widget.{js,css} -> convowidget/static/widget.{js,css}.
// Deterministic output (no sourcemaps, timestamps or absolute paths), so
// `npm ci && npm run build` reproduces the committed files byte for byte.
import { build } from 'esbuild';
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const outdir = 'convowidget/static';

await build({
  absWorkingDir: root,
  entryPoints: ['js/src/widget.js', 'js/src/widget.css'],
  outdir,
  bundle: true,
  format: 'esm',
  minify: true,
  target: 'es2020',
  platform: 'browser',
  charset: 'utf8',
  legalComments: 'eof',
  sourcemap: false,
  logLevel: 'warning',
});

for (const f of ['widget.js', 'widget.css']) {
  const { size } = statSync(`${root}/${outdir}/${f}`);
  console.log(`${outdir}/${f}  ${size} bytes`);
}
