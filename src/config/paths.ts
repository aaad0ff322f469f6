import { homedir } from 'node:os';
import { join } from 'node:path';

/** `$LIVECHAT_CONFIG_DIR`, else `$XDG_CONFIG_HOME/livechat`, else `~/.config/livechat`. */
export function configDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIVECHAT_CONFIG_DIR) return env.LIVECHAT_CONFIG_DIR;
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, 'livechat');
}

/**
 * The folder is livechat's own (the default place), so livechat may tighten it to 0700. A folder
 * named by LIVECHAT_CONFIG_DIR may be shared with other things: it is made 0700 only when created.
 */
export function ownsConfigDir(env: NodeJS.ProcessEnv = process.env): boolean {
  return !env.LIVECHAT_CONFIG_DIR;
}

export function configFile(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'config.json');
}

/** Held while a command reads, changes and writes the config. */
export function configLockFile(env: NodeJS.ProcessEnv = process.env): string {
  return `${configFile(env)}.lock`;
}

/** Prefix of the file a write goes to before it is renamed over the config. */
export function configTempPrefix(env: NodeJS.ProcessEnv = process.env): string {
  return `${configFile(env)}.tmp-`;
}

/** `$LIVECHAT_DATA`, else `$XDG_DATA_HOME/livechat/livechat.db`, else `~/.local/share/livechat/livechat.db`. */
export function dataFile(env: NodeJS.ProcessEnv = process.env): string {
  if (env.LIVECHAT_DATA) return env.LIVECHAT_DATA;
  const base = env.XDG_DATA_HOME || join(homedir(), '.local', 'share');
  return join(base, 'livechat', 'livechat.db');
}
