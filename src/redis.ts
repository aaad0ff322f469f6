// `gorgias-livechat/redis`: the store several processes share, apart from the root so that only its users load ioredis.
export { maskStoreUrl, openRedisStore, type RedisStore, type RedisStoreOptions } from './store/redis.js';
