//# allFunctionsCalledOnLoad
/**
 * highlight.js — the C listings' syntax highlighter (markup strings).
 */
import { esc } from './format.js';

export const C_KEYWORDS = new Set(('auto break case const continue default do else enum extern for goto if inline register ' +
  'restrict return sizeof static struct switch typedef union volatile while').split(' '));
export const C_TYPES = new Set(('bool char double float int long short signed unsigned void FILE').split(' '));
/** The socket calls seqd traces: emphasised in the listings. */
export const C_CALLS = new Set(('getaddrinfo socket setsockopt bind listen connect accept read write send recv ' +
  'sendto recvfrom shutdown close').split(' '));

export const C_TOKEN = new RegExp([
  String.raw`(\/\*)`, // 1: a block comment starts
  String.raw`(\/\/.*)`, // 2: a line comment
  String.raw`("(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?)`, // 3: a string or character literal
  String.raw`((?:0[xX][0-9a-fA-F]+|\d+(?:\.\d*)?(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)[uUlLfF]*)`, // 4: a number
  String.raw`([A-Za-z_]\w*)`, // 5: an identifier
].join('|'), 'g');

/**
 * Highlights C source: returns one HTML string per line, the text escaped,
 * tokens wrapped in <span class="c-…">: kw (keywords), type, str (strings
 * and characters), com (comments), num, pp (preprocessor), const
 * (CAPITAL_NAMES: macros and constants), call (the socket calls). A small
 * hand-written tokenizer, good for the listings seqd ships, not a parser.
 */
export function highlightC(text) {
  const span = (cls, s) => `<span class="c-${cls}">${esc(s)}</span>`;
  const lines = String(text ?? '').replace(/\r\n?/g, '\n').split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  let inComment = false;
  return lines.map((line) => {
    let out = '';
    let i = 0;
    if (inComment) {
      const end = line.indexOf('*/');
      if (end < 0) return line ? span('com', line) : '';
      out += span('com', line.slice(0, end + 2));
      i = end + 2;
      inComment = false;
    }
    const pp = i === 0 ? /^(\s*)(#\s*\w+)(\s*)(<[^>]*>)?/.exec(line) : null;
    if (pp) {
      out += esc(pp[1]) + span('pp', pp[2]) + esc(pp[3]) + (pp[4] ? span('str', pp[4]) : '');
      i = pp[0].length;
    }
    C_TOKEN.lastIndex = i;
    let m;
    while ((m = C_TOKEN.exec(line))) {
      out += esc(line.slice(i, m.index));
      i = m.index + m[0].length;
      if (m[1]) {
        const end = line.indexOf('*/', m.index + 2);
        if (end < 0) {
          out += span('com', line.slice(m.index));
          inComment = true;
          i = line.length;
          break;
        }
        out += span('com', line.slice(m.index, end + 2));
        i = C_TOKEN.lastIndex = end + 2;
      } else if (m[2]) out += span('com', m[2]);
      else if (m[3]) out += span('str', m[3]);
      else if (m[4]) {
        // A digit inside a word (x2) is the identifier's, not a number.
        out += /\w/.test(line[m.index - 1] ?? '') ? esc(m[4]) : span('num', m[4]);
      } else {
        const w = m[5];
        if (C_KEYWORDS.has(w)) out += span('kw', w);
        else if (C_TYPES.has(w) || /^\w+_t$/.test(w)) out += span('type', w);
        else if (C_CALLS.has(w) && /^\s*\(/.test(line.slice(i))) out += span('call', w);
        else if (/^[A-Z][A-Z0-9_]+$/.test(w)) out += span('const', w);
        else out += esc(w);
      }
    }
    return out + esc(line.slice(i));
  });
}
