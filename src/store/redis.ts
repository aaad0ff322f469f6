// The session store on Redis, shared by any number of `livechat serve` processes. Every write is one
// Lua script, so it is atomic: a commit compares the conversation's version and applies the state,
// timers, calls, deliveries and ticket link together, or nothing (CommitConflict). Claims are keys
// holding their owner with a lease (PX): Redis's clock alone decides when one lapses, so processes
// whose clocks differ still agree. Due timers sit in one sorted set, so finding them is a range read.
// ioredis is loaded only when this store is opened: `--help` and the SQLite path never load it.
// One Redis (or a primary with replicas); not Redis Cluster: the scripts touch keys of many slots.
import { createHash } from 'node:crypto';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { LivechatError } from '../errors.js';
import { maskStoreUrl, redact } from '../mask.js';
import type { ConversationState, HelpdeskOp, TimerKind } from '../session/machine.js';
import {
  CommitConflict,
  type ClaimKind,
  type Delivery,
  type Job,
  type QueuedDelivery,
  type Recovery,
  type SessionStore,
  type SharedStore,
  type Timers,
  type Unclaimed,
} from '../session/store.js';

export interface RedisStoreOptions {
  /** Every key starts with this. Default `livechat:`, or `?prefix=` in the URL. */
  prefix?: string;
  /** A command that takes longer fails (the input is refused with 503, never acknowledged). Default 5 s. */
  commandTimeoutMs?: number;
  /** Told once when the connection is lost, and once when it is back. */
  onConnection?(event: { up: boolean; detail: string }): void;
}

export type RedisStore = SessionStore &
  SharedStore & {
    /** The URL with its password masked: what may be shown. */
    readonly where: string;
    /** What Redis is set up to do that can lose our keys (an eviction policy), found at open. */
    readonly warnings: string[];
    count(): Promise<{ open: number; jobs: number; deliveries: number }>;
  };

const TIMER_KINDS: readonly TimerKind[] = ['expiry', 'catchUp', 'release'];
const FORGET_BATCH = 500;

export { maskStoreUrl };

export const isRedisUrl = (raw: string): boolean => /^(redis|rediss|redis\+unix):\/\//i.test(raw);

interface Target {
  options: RedisOptions;
  prefix?: string;
  password?: string;
}

/** Pure: ioredis options from `redis://[user:pass@]host[:port][/db][?prefix=p]`, `rediss://...`, `redis+unix:///path.sock[?db=n]`. */
export function redisTarget(raw: string): Target {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new LivechatError(`--store "${maskStoreUrl(raw)}" is not a valid URL (expected redis://host:port/db)`, { kind: 'usage' });
  }
  const scheme = u.protocol.replace(/:$/, '').toLowerCase();
  if (!['redis', 'rediss', 'redis+unix'].includes(scheme)) {
    throw new LivechatError(`--store must be a redis://, rediss:// or redis+unix:// URL, got ${scheme}:`, { kind: 'usage' });
  }
  const password = u.password ? decodeURIComponent(u.password) : undefined;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  const dbText = scheme === 'redis+unix' ? (u.searchParams.get('db') ?? '0') : u.pathname.replace(/^\//, '') || '0';
  if (!/^\d{1,2}$/.test(dbText))
    throw new LivechatError(`--store: the database must be a number (redis://host:6379/0), got "${dbText}"`, { kind: 'usage' });
  const options: RedisOptions = { db: Number(dbText), username, password };
  if (scheme === 'redis+unix') {
    if (!u.pathname || u.pathname === '/')
      throw new LivechatError('--store: redis+unix:// needs a socket path (redis+unix:///run/redis.sock)', { kind: 'usage' });
    options.path = decodeURIComponent(u.pathname);
  } else {
    if (!u.hostname) throw new LivechatError('--store: the redis URL has no host', { kind: 'usage' });
    options.host = u.hostname.replace(/^\[|\]$/g, '');
    options.port = u.port ? Number(u.port) : 6379;
    if (scheme === 'rediss') options.tls = { servername: options.host };
  }
  return { options, prefix: u.searchParams.get('prefix') ?? undefined, password };
}

// ---- the scripts (ARGV[1] is always the key prefix) ----------------------------------------------

const RECOUNT_OUTBOX = `
local function recount(P, c)
  local seqs = redis.call('ZRANGE', P..'o:'..c, 0, -1)
  if #seqs == 0 then redis.call('ZREM', P..'outq', c) return end
  local min = nil
  for _, s in ipairs(seqs) do
    local n = tonumber(redis.call('HGET', P..'d:'..s, 'n') or '0')
    if min == nil or n < min then min = n end
  end
  redis.call('ZADD', P..'outq', min, c)
end
`;

const SCRIPTS = {
  // ARGV: P, id, expect, state ('' deletes), timers json, at, live, expiry, catchUp, release, doneJob,
  //       updateSeq, updateOp, linkTicket, nJobs, nDeliveries, ops..., deliveries...
  commit: `
local P, id = ARGV[1], ARGV[2]
local ck = P..'c:'..id
local cur = tonumber(redis.call('HGET', ck, 'v') or '0')
if cur ~= tonumber(ARGV[3]) then return {-1, cur} end
local v = cur + 1
local kinds = {'expiry', 'catchUp', 'release'}
for _, k in ipairs(kinds) do redis.call('ZREM', P..'timers', id..'\\0'..k) end
if ARGV[4] == '' then
  redis.call('DEL', ck)
  redis.call('SREM', P..'live', id)
  redis.call('ZREM', P..'idle', id)
else
  redis.call('HSET', ck, 'v', v, 's', ARGV[4], 't', ARGV[5], 'at', ARGV[6])
  if ARGV[7] == '1' then
    redis.call('SADD', P..'live', id)
    redis.call('ZREM', P..'idle', id)
  else
    redis.call('SREM', P..'live', id)
    redis.call('ZADD', P..'idle', ARGV[6], id)
  end
  for i, k in ipairs(kinds) do
    if ARGV[7 + i] ~= '' then redis.call('ZADD', P..'timers', ARGV[7 + i], id..'\\0'..k) end
  end
end
if ARGV[11] ~= '' then
  if redis.call('DEL', P..'job:'..ARGV[11]) == 1 then redis.call('DECR', P..'n:jobs') end
  redis.call('ZREM', P..'j:'..id, ARGV[11])
end
if ARGV[12] ~= '' and redis.call('EXISTS', P..'job:'..ARGV[12]) == 1 then redis.call('HSET', P..'job:'..ARGV[12], 'op', ARGV[13]) end
local nj, nd = tonumber(ARGV[15]), tonumber(ARGV[16])
local first = 0
if nj + nd > 0 then first = redis.call('INCRBY', P..'seq', nj + nd) - (nj + nd) + 1 end
for i = 1, nj do
  local s = first + i - 1
  redis.call('HSET', P..'job:'..s, 'c', id, 'op', ARGV[16 + i])
  redis.call('ZADD', P..'j:'..id, s, s)
end
if nj > 0 then redis.call('INCRBY', P..'n:jobs', nj) end
if redis.call('EXISTS', P..'j:'..id) == 1 then redis.call('SADD', P..'jobq', id) else redis.call('SREM', P..'jobq', id) end
for i = 1, nd do
  local s = first + nj + i - 1
  redis.call('HSET', P..'d:'..s, 'c', id, 'b', ARGV[16 + nj + i], 'a', 0, 'n', 0)
  redis.call('ZADD', P..'o:'..id, s, s)
end
if nd > 0 then
  redis.call('INCRBY', P..'n:deliveries', nd)
  redis.call('ZADD', P..'outq', 0, id)
end
if ARGV[14] ~= '' then
  redis.call('HSET', P..'tickets', ARGV[14], id)
  redis.call('SADD', P..'tix:'..id, ARGV[14])
end
return {v, first}
`,
  // ARGV: P, id -> seq, op, started ('1' or '')...
  jobsOf: `
local P, id = ARGV[1], ARGV[2]
local out = {}
for _, s in ipairs(redis.call('ZRANGE', P..'j:'..id, 0, -1)) do
  local f = redis.call('HMGET', P..'job:'..s, 'op', 's')
  if f[1] then
    table.insert(out, s)
    table.insert(out, f[1])
    table.insert(out, f[2] or '')
  end
end
return out
`,
  // ARGV: P, id -> seq, body, attempts, nextAt...
  deliveriesOf: `
local P, id = ARGV[1], ARGV[2]
local out = {}
for _, s in ipairs(redis.call('ZRANGE', P..'o:'..id, 0, -1)) do
  local f = redis.call('HMGET', P..'d:'..s, 'b', 'a', 'n')
  if f[1] then
    table.insert(out, s)
    table.insert(out, f[1])
    table.insert(out, f[2] or '0')
    table.insert(out, f[3] or '0')
  end
end
return out
`,
  startJob: `
if redis.call('EXISTS', ARGV[1]..'job:'..ARGV[2]) == 1 then redis.call('HSET', ARGV[1]..'job:'..ARGV[2], 's', '1') end
return 1
`,
  // ARGV: P, seq
  delivered: `${RECOUNT_OUTBOX}
local P, s = ARGV[1], ARGV[2]
local c = redis.call('HGET', P..'d:'..s, 'c')
if not c then return 0 end
redis.call('DEL', P..'d:'..s)
redis.call('DECR', P..'n:deliveries')
redis.call('ZREM', P..'o:'..c, s)
recount(P, c)
return 1
`,
  // ARGV: P, seq, attempts, nextAt
  defer: `${RECOUNT_OUTBOX}
local P, s = ARGV[1], ARGV[2]
local c = redis.call('HGET', P..'d:'..s, 'c')
if not c then return 0 end
redis.call('HSET', P..'d:'..s, 'a', ARGV[3], 'n', ARGV[4])
recount(P, c)
return 1
`,
  // ARGV: P, kind, key, owner, ms
  claim: `
local k = ARGV[1]..'claim:'..ARGV[2]..':'..ARGV[3]
local cur = redis.call('GET', k)
if cur and cur ~= ARGV[4] then return 0 end
redis.call('SET', k, ARGV[4], 'PX', ARGV[5])
return 1
`,
  release: `
local k = ARGV[1]..'claim:'..ARGV[2]..':'..ARGV[3]
if redis.call('GET', k) == ARGV[4] then redis.call('DEL', k) end
return 1
`,
  // ARGV: P, now, limit -> {jobs}, {deliveries}, {member, at, ...}
  unclaimed: `
local P, now, limit = ARGV[1], ARGV[2], tonumber(ARGV[3])
local jobs, outs, timers = {}, {}, {}
for _, id in ipairs(redis.call('SMEMBERS', P..'jobq')) do
  if #jobs >= limit then break end
  if redis.call('EXISTS', P..'claim:jobs:'..id) == 0 then table.insert(jobs, id) end
end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P..'outq', '-inf', now, 'LIMIT', 0, limit * 4)) do
  if #outs >= limit then break end
  if redis.call('EXISTS', P..'claim:outbox:'..id) == 0 then table.insert(outs, id) end
end
local due = redis.call('ZRANGEBYSCORE', P..'timers', '-inf', now, 'WITHSCORES', 'LIMIT', 0, limit * 4)
for i = 1, #due, 2 do
  if #timers >= 2 * limit then break end
  if redis.call('EXISTS', P..'claim:timer:'..due[i]..'\\0'..due[i + 1]) == 0 then
    table.insert(timers, due[i])
    table.insert(timers, due[i + 1])
  end
end
return {jobs, outs, timers}
`,
  // ARGV: P, before, batch -> how many were forgotten
  forget: `
local P = ARGV[1]
local n = 0
for _, id in ipairs(redis.call('ZRANGEBYSCORE', P..'idle', '-inf', '('..ARGV[2], 'LIMIT', 0, tonumber(ARGV[3]))) do
  -- Calls or deliveries still queued: kept, and looked at again by the next sweep.
  if redis.call('EXISTS', P..'j:'..id) == 0 and redis.call('EXISTS', P..'o:'..id) == 0 then
    redis.call('ZREM', P..'idle', id)
    redis.call('DEL', P..'c:'..id)
    for _, t in ipairs(redis.call('SMEMBERS', P..'tix:'..id)) do
      if redis.call('HGET', P..'tickets', t) == id then redis.call('HDEL', P..'tickets', t) end
    end
    redis.call('DEL', P..'tix:'..id)
    n = n + 1
  end
end
return n
`,
} as const;

type ScriptName = keyof typeof SCRIPTS;

export async function openRedisStore(url: string, options: RedisStoreOptions = {}): Promise<RedisStore> {
  const target = redisTarget(url);
  const where = maskStoreUrl(url);
  const P = options.prefix ?? target.prefix ?? 'livechat:';
  const hide = (text: string) => redact(text, [target.password]);
  const mod = await import('ioredis');
  const Redis = mod.Redis ?? (mod as unknown as { default: typeof mod.Redis }).default;
  const redis: RedisClient = new Redis({
    ...target.options,
    lazyConnect: true,
    // Down is down: a command fails at once rather than waiting in a queue, so no input is
    // acknowledged that Redis did not take (the caller answers 503; the catch-up recovers webhooks).
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 5000,
    connectTimeout: 5000,
    retryStrategy: (times) => Math.min(100 * times, 2000),
  });
  let up = false;
  let lastError: string | undefined;
  let firstError: string | undefined;
  redis.on('error', (err: Error) => {
    firstError ??= err.message;
    lastError = err.message;
  });
  redis.on('close', () => {
    if (!up) return;
    up = false;
    options.onConnection?.({ up: false, detail: `lost the store at ${where}: ${hide(lastError ?? 'connection closed')}` });
  });
  redis.on('ready', () => {
    if (up) return;
    up = true;
    lastError = undefined;
    options.onConnection?.({ up: true, detail: `connected to the store at ${where}` });
  });
  /** What a failed command says: "out of reach" rather than ioredis's words for an unwritable stream. */
  const failure = (err: unknown): Error =>
    redis.status === 'ready'
      ? (err as Error)
      : new Error(`the store at ${where} is out of reach (${hide(lastError ?? redis.status)})`, { cause: err });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    redis.disconnect();
    const why = firstError ?? (err as Error).message;
    throw new LivechatError(`cannot reach the store at ${where}: ${hide(why)}`, { kind: 'unreachable', cause: err });
  }
  const warnings: string[] = [];
  const policy = /maxmemory_policy:(\S+)/.exec(await redis.info('memory').catch(() => ''))?.[1];
  if (policy && policy !== 'noeviction') {
    warnings.push(`the store at ${where} has maxmemory-policy ${policy}: Redis may evict sessions under memory pressure; set it to noeviction`);
  }

  const shas = Object.fromEntries(Object.entries(SCRIPTS).map(([name, lua]) => [name, createHash('sha1').update(lua).digest('hex')])) as Record<
    ScriptName,
    string
  >;
  /** One script, by its hash (loaded on first use and after a Redis restart). */
  async function run<T>(name: ScriptName, args: Array<string | number>): Promise<T> {
    try {
      return (await redis.evalsha(shas[name], 0, P, ...args)) as T;
    } catch (err) {
      if (!/NOSCRIPT/.test((err as Error).message)) throw failure(err);
      return (await redis.eval(SCRIPTS[name], 0, P, ...args).catch((e: unknown) => Promise.reject(failure(e)))) as T;
    }
  }

  async function jobsOf(id: string): Promise<Job[]> {
    const flat = await run<string[]>('jobsOf', [id]);
    const jobs: Job[] = [];
    for (let i = 0; i < flat.length; i += 3) {
      jobs.push({ seq: Number(flat[i]), conversationId: id, op: JSON.parse(flat[i + 1]) as HelpdeskOp, ...(flat[i + 2] ? { started: true } : {}) });
    }
    return jobs;
  }

  async function deliveriesOf(id: string): Promise<QueuedDelivery[]> {
    const flat = await run<string[]>('deliveriesOf', [id]);
    const out: QueuedDelivery[] = [];
    for (let i = 0; i < flat.length; i += 4) {
      const body = JSON.parse(flat[i + 1]) as Omit<Delivery, 'conversationId'>;
      out.push({ ...body, conversationId: id, seq: Number(flat[i]), attempts: Number(flat[i + 2]), nextAt: Number(flat[i + 3]) });
    }
    return out;
  }

  let closed = false;
  return {
    where,
    warnings,
    async load(id) {
      const [v, s, t] = await redis.hmget(`${P}c:${id}`, 'v', 's', 't').catch((e: unknown) => Promise.reject(failure(e)));
      if (v === null || s === null) return undefined;
      return { version: Number(v), state: JSON.parse(s) as ConversationState, timers: JSON.parse(t ?? '{}') as Timers };
    },
    async commit(c) {
      const live = c.state !== undefined && (c.state.mode === 'LIVECHAT' || Object.keys(c.timers).length > 0);
      const args: Array<string | number> = [
        c.conversationId,
        c.expectVersion,
        c.state ? JSON.stringify(c.state) : '',
        JSON.stringify(c.timers),
        c.at,
        live ? '1' : '0',
        ...TIMER_KINDS.map((k) => (c.timers[k] === undefined ? '' : c.timers[k])),
        c.doneJob ?? '',
        c.updateJob?.seq ?? '',
        c.updateJob ? JSON.stringify(c.updateJob.op) : '',
        c.linkTicket ?? '',
        c.jobs.length,
        c.deliveries.length,
        ...c.jobs.map((op) => JSON.stringify(op)),
        ...c.deliveries.map((d) => JSON.stringify(deliveryBody(d))),
      ];
      const [version, first] = await run<[number, number]>('commit', args);
      if (version === -1) throw new CommitConflict(c.conversationId);
      return {
        version,
        jobs: c.jobs.map((op, i) => ({ seq: first + i, conversationId: c.conversationId, op })),
        deliveries: c.deliveries.map((d, i) => ({ ...d, seq: first + c.jobs.length + i, attempts: 0, nextAt: 0 })),
      };
    },
    conversationForTicket: async (ticketId) =>
      (await redis.hget(`${P}tickets`, String(ticketId)).catch((e: unknown) => Promise.reject(failure(e)))) ?? undefined,
    async recover(): Promise<Recovery> {
      const live = await redis.smembers(`${P}live`);
      const timers: Recovery['timers'] = [];
      for (const id of live) {
        const t = await redis.hget(`${P}c:${id}`, 't');
        const parsed = JSON.parse(t ?? '{}') as Timers;
        if (Object.keys(parsed).length) timers.push({ conversationId: id, timers: parsed });
      }
      const jobs = (await Promise.all((await redis.smembers(`${P}jobq`)).map(jobsOf))).flat().sort((a, b) => a.seq - b.seq);
      const deliveries = (await Promise.all((await redis.zrange(`${P}outq`, 0, -1)).map(deliveriesOf))).flat().sort((a, b) => a.seq - b.seq);
      return { timers, jobs, deliveries };
    },
    delivered: async (seq) => void (await run('delivered', [seq])),
    deferDelivery: async (seq, attempts, nextAt) => void (await run('defer', [seq, attempts, nextAt])),
    async forget(before) {
      let total = 0;
      for (;;) {
        const n = await run<number>('forget', [before, FORGET_BATCH]);
        total += n;
        if (n < FORGET_BATCH) return total;
      }
    },
    async healthy() {
      if (closed || redis.status !== 'ready') return false;
      try {
        return (await redis.ping()) === 'PONG';
      } catch {
        return false;
      }
    },
    async count() {
      const [jobs, deliveries] = await redis.mget(`${P}n:jobs`, `${P}n:deliveries`);
      return { open: await redis.scard(`${P}live`), jobs: Number(jobs ?? 0), deliveries: Number(deliveries ?? 0) };
    },
    // ---- shared ----
    claim: async (kind: ClaimKind, key, owner, lease) => (await run<number>('claim', [kind, key, owner, Math.max(1, Math.round(lease.ms))])) === 1,
    release: async (kind, key, owner) => void (await run('release', [kind, key, owner])),
    jobsOf,
    deliveriesOf,
    startJob: async (seq) => void (await run('startJob', [seq])),
    async unclaimed(now, limit): Promise<Unclaimed> {
      const [jobs, deliveries, flat] = await run<[string[], string[], string[]]>('unclaimed', [now, limit]);
      const timers: Unclaimed['timers'] = [];
      for (let i = 0; i < flat.length; i += 2) {
        const cut = flat[i].lastIndexOf('\u0000');
        timers.push({ conversationId: flat[i].slice(0, cut), kind: flat[i].slice(cut + 1) as TimerKind, at: Number(flat[i + 1]) });
      }
      return { jobs, deliveries, timers };
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await redis.quit();
      } catch {
        redis.disconnect();
      }
    },
  };
}

function deliveryBody(d: Delivery): Omit<Delivery, 'conversationId'> {
  return { id: d.id, createdAt: d.createdAt, ...(d.user ? { user: d.user } : {}), ...(d.bot ? { bot: d.bot } : {}) };
}
