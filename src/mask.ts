/** `****abcd`: enough to recognise a key, never enough to use it. */
export function maskSecret(secret: string | undefined): string {
  if (!secret) return '(not set)';
  if (secret.length <= 8) return '****';
  return `****${secret.slice(-4)}`;
}

/** Remove every occurrence of the secrets from a text before it is shown. */
export function redact(text: string, secrets: Array<string | undefined>): string {
  let out = text;
  for (const s of secrets) {
    if (s && s.length >= 4) out = out.split(s).join(maskSecret(s));
  }
  return out;
}

/** `redis://user:secret@host` -> `redis://user:****@host`: a store URL as it may be shown. */
export function maskStoreUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (!u.password) return raw;
    u.password = '****';
    return u.toString();
  } catch {
    // Not a URL: hide whatever sits between "//user:" and "@".
    return raw.replace(/(\/\/[^/:@]*:)[^@/]*@/, '$1****@');
  }
}
