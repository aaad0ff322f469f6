// Read a whole paginated list, with an ora spinner on an interactive, coloured stderr only.
import type { Io } from '../io.js';

export async function collectAll<T>(io: Io, label: string, items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  if (!(io.stderrIsTTY && io.color)) {
    for await (const item of items) out.push(item);
    return out;
  }
  const { default: ora } = await import('ora');
  const spinner = ora({ text: label, stream: process.stderr }).start();
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
