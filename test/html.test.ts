import assert from 'node:assert/strict';
import { test } from 'node:test';
import { escapeHtml, textToHtml } from '../src/html.ts';

test('escapeHtml escapes the five characters that matter', () => {
  assert.equal(escapeHtml(`<a href="x">Tom & 'Jerry'</a>`), '&lt;a href=&quot;x&quot;&gt;Tom &amp; &#39;Jerry&#39;&lt;/a&gt;');
});

test('textToHtml: paragraphs on blank lines, <br> on single newlines, CRLF too', () => {
  assert.equal(textToHtml('Bye & thanks! LIVECHAT_SESSION_END'), '<p>Bye &amp; thanks! LIVECHAT_SESSION_END</p>');
  assert.equal(textToHtml('a\nb\n\nc'), '<p>a<br>b</p><p>c</p>');
  assert.equal(textToHtml('a\r\nb'), '<p>a<br>b</p>');
});
