// SPDX-License-Identifier: MIT
// The work every SDK client does inside its spans: a file read and some CPU, so that the
// spans (and later their kernel annotations) have something to show.
'use strict';
const fs = require('fs');
const crypto = require('crypto');

function readFile(path) {
  return fs.readFileSync(path);
}

function cpuWork(iterations) {
  let h = Buffer.from('crosstrace');
  for (let i = 0; i < iterations; i++) h = crypto.createHash('sha256').update(h).digest();
  return h.toString('hex');
}

module.exports = { readFile, cpuWork };
