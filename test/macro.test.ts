// Unit tests: the sign-off text, the macro body, and finding macros.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Macro } from '../src/gorgias/types.ts';
import { carriesToken, DEFAULT_SIGNOFF, macroUpdate, resolveMacroRef, signoffMacroBody, signoffText } from '../src/macro/signoff.ts';
import { LivechatError } from '../src/errors.ts';

function macro(id: number, name: string, bodyText?: string): Macro {
  return {
    id,
    name,
    intent: null,
    actions: bodyText === undefined ? [] : [signoffMacroBody(name, bodyText).actions[0]],
    created_datetime: '2024-01-01T00:00:00Z',
    updated_datetime: '2024-01-01T00:00:00Z',
  };
}

test('signoffText adds the token only when missing', () => {
  assert.deepEqual(signoffText(), { text: DEFAULT_SIGNOFF, added: false });
  assert.match(DEFAULT_SIGNOFF, /LIVECHAT_SESSION_END$/);
  assert.deepEqual(signoffText('Bye! LIVECHAT_SESSION_END'), { text: 'Bye! LIVECHAT_SESSION_END', added: false });
  assert.deepEqual(signoffText('Bye!  '), { text: 'Bye! LIVECHAT_SESSION_END', added: true });
  assert.throws(
    () => signoffText('  '),
    (e: unknown) => e instanceof LivechatError && e.kind === 'usage',
  );
});

test('signoffMacroBody: one setResponseText action, escaped HTML', () => {
  const body = signoffMacroBody('End livechat', 'Tom & <Jerry> say "bye"\nsee you LIVECHAT_SESSION_END');
  assert.deepEqual(body, {
    name: 'End livechat',
    intent: null,
    actions: [
      {
        name: 'setResponseText',
        type: 'user',
        title: 'Add response text',
        arguments: {
          body_text: 'Tom & <Jerry> say "bye"\nsee you LIVECHAT_SESSION_END',
          body_html: '<p>Tom &amp; &lt;Jerry&gt; say &quot;bye&quot;<br>see you LIVECHAT_SESSION_END</p>',
        },
      },
    ],
  });
});

test('carriesToken looks in the actions, not the name', () => {
  assert.equal(carriesToken(macro(1, 'Anything', 'ok LIVECHAT_SESSION_END')), true);
  assert.equal(carriesToken(macro(2, 'LIVECHAT_SESSION_END', 'hello')), false);
  assert.equal(carriesToken(macro(3, 'End livechat')), false);
  assert.equal(
    carriesToken({ actions: [{ name: 'setResponseText', type: 'user', title: 't', arguments: { body_html: '<p>LIVECHAT_SESSION_END</p>' } }] }),
    true,
  );
  assert.equal(carriesToken({ actions: [{ name: 'addTags', type: 'user', title: 't', arguments: { tags: 'a,b' } }] }), false);
});

test('macroUpdate: null when it matches; replaces only our action', () => {
  const want = signoffMacroBody('End livechat', 'Bye LIVECHAT_SESSION_END');
  const same = macro(1, 'End livechat', 'Bye LIVECHAT_SESSION_END');
  assert.equal(macroUpdate(same, want), null);
  const tags = { name: 'addTags', type: 'user' as const, title: 'Add tags', arguments: { tags: 'livechat' } };
  const old: Macro = { ...macro(1, 'Old name', 'Ciao LIVECHAT_SESSION_END'), actions: [tags, macro(1, 'x', 'Ciao LIVECHAT_SESSION_END').actions[0]] };
  const upd = macroUpdate(old, want);
  assert.ok(upd);
  assert.equal(upd.name, 'End livechat');
  assert.deepEqual(upd.actions, [tags, want.actions[0]]);
});

test('resolveMacroRef: id, exact name, conflict, missing', () => {
  const list = [macro(1, 'End livechat'), macro(2, 'Refund'), macro(3, 'Dup'), macro(4, 'Dup'), macro(5, '42')];
  assert.equal(resolveMacroRef(list, '2').id, 2);
  assert.equal(resolveMacroRef(list, 'End livechat').id, 1);
  assert.equal(resolveMacroRef(list, '42').id, 5);
  assert.throws(
    () => resolveMacroRef(list, 'Dup'),
    (e: unknown) => e instanceof LivechatError && e.kind === 'conflict' && /#3, #4/.test(e.message),
  );
  assert.throws(
    () => resolveMacroRef(list, 'end livechat'),
    (e: unknown) => e instanceof LivechatError && e.kind === 'not_found',
  );
  assert.throws(() => resolveMacroRef(list, '99'), /no macro with id "99"/);
});
