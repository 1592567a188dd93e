// SPDX-License-Identifier: MIT
// The work the agent test's apps do inside their spans. readAndHold reads a file and then
// keeps the span open a few more milliseconds: JavaScript SDKs stamp span starts with a
// millisecond clock (Date.now), so a span's reported window may sit up to 1 ms before the
// real one; holding on keeps the read inside it whatever the rounding.
'use strict';
const fs = require('fs');
const crypto = require('crypto');

function readAndHold(path) {
  const n = fs.readFileSync(path).length;
  const until = process.hrtime.bigint() + 3000000n;
  while (process.hrtime.bigint() < until);
  return n;
}

function cpuWork(iterations) {
  let h = Buffer.from('crosstrace');
  for (let i = 0; i < iterations; i++) h = crypto.createHash('sha256').update(h).digest();
  return h.toString('hex');
}

module.exports = { readAndHold, cpuWork };
