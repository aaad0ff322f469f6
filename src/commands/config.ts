import { LivechatError } from '../errors.js';

export async function configShow(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

export async function configPath(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

export async function configSet(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

