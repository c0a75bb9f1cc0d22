// The drop-in build's template minifier: esbuild minifies code but keeps the text of
// template literals as written, so the elements' `css` and `html` templates carried their
// indentation, line breaks and comments (about 9 KB of the drop-in's styles alone).
// `minifyTemplates(source)` rewrites the static text of each css`…` and html`…` template
// of a TypeScript file: CSS loses comments and the spaces around `{ } ; , >`; HTML keeps
// one space for every run of white space that spans lines (what the browser renders
// anyway outside <pre>, so files with <pre> are left alone). A small lexer walks strings,
// comments and nested `${…}` expressions, so nothing outside those templates changes.

const cssText = (text) =>
  text
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/\s+/g, ' ')
    .replace(/\s*([{};,>])\s*/g, '$1')
    .replace(/;}/g, '}');
const htmlText = (text) => text.replace(/\s*\n\s*/g, ' ');

/** `source` with its css`…` and html`…` templates' static text minified. */
export function minifyTemplates(source) {
  if (/<pre[\s>]/.test(source)) return source;
  let out = '';
  let at = 0;
  const n = source.length;

  /** Copies a template literal starting after its backtick; `shrink` rewrites its static parts. Returns nothing; moves `at` past the closing backtick. */
  function template(shrink) {
    let part = '';
    const flush = () => {
      out += shrink ? shrink(part) : part;
      part = '';
    };
    while (at < n) {
      const c = source[at];
      if (c === '\\') {
        part += source.slice(at, at + 2);
        at += 2;
      } else if (c === '`') {
        flush();
        out += '`';
        at++;
        return;
      } else if (c === '$' && source[at + 1] === '{') {
        flush();
        out += '${';
        at += 2;
        code(1);
      } else {
        part += c;
        at++;
      }
    }
    flush();
  }

  /** Copies code until the `}` that closes `depth` (0: to the end), handling strings, comments and templates. */
  function code(depth) {
    while (at < n) {
      const c = source[at];
      if (c === '/' && source[at + 1] === '/') {
        const end = source.indexOf('\n', at);
        const stop = end === -1 ? n : end;
        out += source.slice(at, stop);
        at = stop;
      } else if (c === '/' && source[at + 1] === '*') {
        const end = source.indexOf('*/', at + 2);
        const stop = end === -1 ? n : end + 2;
        out += source.slice(at, stop);
        at = stop;
      } else if (c === '"' || c === "'") {
        let end = at + 1;
        while (end < n && source[end] !== c) end += source[end] === '\\' ? 2 : 1;
        out += source.slice(at, end + 1);
        at = end + 1;
      } else if (c === '`') {
        const tag = /\b(css|html)$/.exec(source.slice(Math.max(0, at - 4), at))?.[1];
        out += '`';
        at++;
        template(tag === 'css' ? cssText : tag === 'html' ? htmlText : null);
      } else if (c === '{') {
        if (depth) depth++;
        out += c;
        at++;
      } else if (c === '}') {
        out += c;
        at++;
        if (depth && --depth === 0) return;
      } else {
        out += c;
        at++;
      }
    }
  }

  code(0);
  return out;
}
