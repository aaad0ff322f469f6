// The Gorgias webhook receiver: a pure parser and a node http handler.
export * from './parse.js';
export * from './http.js';
