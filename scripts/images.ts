// What the README's pictures share: each one small (PNG, under 200 KB).
import { statSync } from 'node:fs';

export const MAX_IMAGE_BYTES = 200 * 1024;

/** Says how big the picture came out; throws when it is over the limit. */
export function checkImageSize(file: string): void {
  const bytes = statSync(file).size;
  console.log(`${file}: ${Math.round(bytes / 1024)} KiB`);
  if (bytes > MAX_IMAGE_BYTES) throw new Error(`${file} is over ${MAX_IMAGE_BYTES / 1024} KiB: make the shot smaller`);
}
