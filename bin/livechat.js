#!/usr/bin/env node
// The CLI is one bundled file (see scripts/build.js); this folder is CommonJS (bin/package.json).
require('./load.js')(require('node:path').join(__dirname, '../dist/livechat.cjs')).main(process.argv.slice(2));
