// index.cjs — the package's `require()` entry. The package is ES modules; Node versions that can
// require() an ES module graph (20.19+, 22.12+) get it here, older ones one sentence saying what to do.
'use strict';

try {
  module.exports = require('./index.js');
} catch (e) {
  if (e && (e.code === 'ERR_REQUIRE_ESM' || e.code === 'ERR_REQUIRE_ASYNC_MODULE')) {
    throw new Error("mobilellm-wasm is an ES module that this Node cannot require(): load it with `await import('mobilellm-wasm')`.");
  }
  throw e;
}
