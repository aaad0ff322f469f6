import { LivechatError } from '../errors.js';

export async function macroCreate(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

export async function macroList(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

export async function macroShow(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

export async function macroDelete(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

