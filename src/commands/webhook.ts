import { LivechatError } from '../errors.js';

export async function webhookInstall(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

export async function webhookStatus(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

