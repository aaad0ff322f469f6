// Writes docs/cli.md, every command's `--help`, from the CLI's own commander program: `npm run docs`.
// test/docs.test.ts fails when it drifts, or when a command is missing from it, and checks once
// that the built binary prints the same.
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { buildProgram } from '../src/cli.ts';
import { colorAllowed, type Io } from '../src/io.ts';

const root = resolve(import.meta.dirname, '..');
export const CLI_DOC = resolve(root, 'docs', 'cli.md');

/** `livechat <command> --help`, in process: help is printed while parsing, before any command runs. */
export function helpOf(command: string): string {
  const args = command === '' ? ['--help'] : [...command.split(' '), '--help'];
  let out = '';
  const env = { ...process.env, NO_COLOR: '1' };
  const io: Io = {
    out: (text) => void (out += text),
    err: (text) => void (out += text),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    stdinIsTTY: false,
    color: colorAllowed(env, false),
    env,
  };
  try {
    buildProgram(io).parse(args, { from: 'user' });
  } catch (err) {
    if ((err as { code?: string }).code !== 'commander.helpDisplayed') throw err;
  }
  return out.trimEnd();
}

/** Every command path, from the `Commands:` sections of the help screens themselves. */
export function commandPaths(prefix = ''): string[] {
  const help = helpOf(prefix);
  const section = help.split(/^Commands:$/m)[1] ?? '';
  const names = [...section.matchAll(/^ {2}(\S+)/gm)].map((m) => m[1]).filter((n) => n !== 'help');
  return names.flatMap((n) => {
    const path = prefix ? `${prefix} ${n}` : n;
    return [path, ...commandPaths(path)];
  });
}

export function cliDoc(): string {
  const paths = ['', ...commandPaths()];
  const parts = [
    '# Command reference',
    '',
    'Every `livechat` command with its `--help`, as the CLI prints it (written by `npm run docs`; a test checks it).',
    '',
    ...paths.map((p) => `- [\`livechat ${p || '--help'}\`](#${anchor(p)})`),
  ];
  for (const p of paths) parts.push('', `## ${p ? `livechat ${p}` : 'livechat --help'}`, '', '```text', helpOf(p), '```');
  return `${parts.join('\n')}\n`;
}

/** GitHub's heading anchor. */
export function anchor(path: string): string {
  return (path ? `livechat ${path}` : 'livechat --help')
    .toLowerCase()
    .replace(/[^a-z0-9 -]/g, '')
    .replace(/ /g, '-');
}

if (import.meta.url === `file://${process.argv[1]}`) {
  let before = '';
  try {
    before = readFileSync(CLI_DOC, 'utf8');
  } catch {
    // first run
  }
  const out = cliDoc();
  writeFileSync(CLI_DOC, out);
  console.log(out === before ? 'docs/cli.md already up to date' : 'docs/cli.md written');
}
