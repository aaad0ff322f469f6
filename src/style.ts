// Colour helpers built on chalk with an explicit level, so NO_COLOR and pipes get plain text.
import { Chalk, type ChalkInstance } from 'chalk';
import type { Io } from './io.js';

export function paint(io: Pick<Io, 'color'>): ChalkInstance {
  return new Chalk({ level: io.color ? 1 : 0 });
}
