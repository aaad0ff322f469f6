// Requires the bundled CLI with the V8 code cache the build wrote beside it (`<file>.cache`), so
// a start-up does not compile 300 KB of JavaScript again. The cache is only a hint: V8 rejects
// one made by another node or for other source and compiles as usual; without a cache this is a
// plain require(). The bundle holds no import() (see scripts/build.js): a script restored from a
// cache cannot run one on node 20.
'use strict';
const Module = require('node:module');
const { readFileSync } = require('node:fs');
const { dirname } = require('node:path');
const vm = require('node:vm');

/** Compile and run `file` as CommonJS, with `cachedData` when given; the script is kept to make a cache from. */
function run(file, cachedData) {
  const script = new vm.Script(Module.wrap(readFileSync(file, 'utf8')), { filename: file, cachedData });
  const m = { exports: {} };
  script.runInThisContext().call(m.exports, m.exports, Module.createRequire(file), m, file, dirname(file));
  return { script, exports: m.exports };
}

module.exports = function load(file) {
  let cachedData;
  try {
    cachedData = readFileSync(`${file}.cache`);
  } catch {
    return require(file);
  }
  return run(file, cachedData).exports;
};
module.exports.run = run;
