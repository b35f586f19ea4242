// The C highlighter: tokens in spans, everything else escaped, the text
// unchanged.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { highlightC } from '../static/core/highlight.js';

/** The text a highlighted line shows. */
const text = (lines) => lines.join('\n').replace(/<[^>]+>/g, '').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&amp;/g, '&');

const SRC = `#include <sys/socket.h>
/* a "comment" with <tags> */
int main(int argc, char **argv) {
  int fd = socket(AF_INET, SOCK_STREAM, 0); // a line comment
  if (write(fd, "alice\\n", 6) < 0 && argc > 1) return 'x';
  return 0;
}`;

test('the highlighted listing shows the same text', () => {
  assert.equal(text(highlightC(SRC)), SRC);
});

test('keywords, types, socket calls, strings, comments and numbers are marked', () => {
  const html = highlightC(SRC).join('\n');
  for (const [cls, token] of [['c-kw', 'return'], ['c-type', 'int'], ['c-call', 'socket'], ['c-call', 'write'], ['c-str', '&quot;alice\\n&quot;'], ['c-com', '// a line comment'], ['c-num', '6']]) {
    assert.match(html, new RegExp(`<span class="${cls}">${token.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')}</span>`), `${cls} ${token}`);
  }
});

test('markup in the source stays text', () => {
  const html = highlightC('char *s = "<script>alert(1)</script>"; /* </pre> */').join('\n');
  assert.doesNotMatch(html, /<script|<\/pre>/);
});
