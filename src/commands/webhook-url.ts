import { LivechatError } from '../errors.js';

export async function webhookUrl(..._args: unknown[]): Promise<void> {
  throw new LivechatError('not implemented yet');
}

