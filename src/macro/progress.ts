// Read a whole paginated list, with an ora spinner on an interactive, coloured stderr only.
import type { Io } from '../io.js';

export async function collectAll<T>(io: Io, label: string, items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  // A pty with no size reports 0 columns, and ora would then loop clearing lines.
  if (!(io.stderrIsTTY && io.color && (process.stderr.columns ?? 0) > 0)) {
    for await (const item of items) out.push(item);
    return out;
  }
  const { default: ora } = await import('ora');
  const spinner = ora({ text: label, stream: process.stderr, discardStdin: false }).start();
  try {
    for await (const item of items) {
      out.push(item);
      if (out.length % 25 === 0) spinner.text = `${label} (${out.length})`;
    }
  } finally {
    spinner.stop();
  }
  return out;
}
