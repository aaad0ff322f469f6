// `gorgias-livechat/sqlite`: the durable store, apart from the root so that only its users load the native module.
export { openSqliteStore, type SqliteStore, type SqliteStoreOptions } from './store/sqlite.js';
