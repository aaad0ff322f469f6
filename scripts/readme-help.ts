// Rewrites the `--help` blocks in README.md from the built CLI: `npm run readme`.
// test/readme.test.ts fails when they drift.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const readme = resolve(root, 'README.md');
export const HELP_BLOCK = /<!-- help: ([^>]+?) -->(?:\n```text\n[\s\S]*?\n```)?/g;

export function helpOf(command: string): string {
  const args = command === '--help' ? ['--help'] : [...command.split(' '), '--help'];
  return execFileSync(process.execPath, [resolve(root, 'bin', 'livechat.js'), ...args], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', COLUMNS: '80' },
  }).trimEnd();
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const text = readFileSync(readme, 'utf8');
  const out = text.replace(HELP_BLOCK, (_m, command: string) => `<!-- help: ${command} -->\n\`\`\`text\n${helpOf(command)}\n\`\`\``);
  writeFileSync(readme, out);
  console.log(out === text ? 'README.md help blocks already up to date' : 'README.md help blocks updated');
}
