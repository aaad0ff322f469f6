import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$LIVECHAT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/livechat`, else `~/.config/livechat`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIVECHAT_CONFIG_DIR) return env.LIVECHAT_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'livechat');
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

/** `$LIVECHAT_DATA`, else `$XDG_DATA_HOME/livechat/livechat.db`, else `~/.local/share/livechat/livechat.db`. */
export function dataFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIVECHAT_DATA) return env.LIVECHAT_DATA;
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'livechat', 'livechat.db');
}
