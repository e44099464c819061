// tap.js: just enough TAP for the browser test (t/t0500-browser.t reads it with TAP::Parser).
// A failing check prints what it expected and what it got.
'use strict';

let count = 0;
let failed = 0;

function line(s) {
  process.stdout.write(s + '\n');
}

function diag(msg) {
  for (const l of String(msg).split('\n')) line('# ' + l);
}

function ok(pass, name, details) {
  count++;
  if (!pass) failed++;
  line((pass ? 'ok ' : 'not ok ') + count + ' - ' + String(name).replace(/[\r\n]+/g, ' ').replace(/#/g, '\\#'));
  if (!pass && details) diag(details);
  return !!pass;
}

function show(v) {
  return typeof v === 'string' ? JSON.stringify(v) : JSON.stringify(v, null, 0);
}

function is(got, want, name, more) {
  return ok(got === want, name, `expected: ${show(want)}\n     got: ${show(got)}` + (more ? '\n' + more : ''));
}

function like(got, re, name) {
  return ok(typeof got === 'string' && re.test(got), name, `expected to match: ${re}\n             got: ${show(got)}`);
}

function unlike(got, re, name) {
  return ok(typeof got === 'string' && !re.test(got), name, `expected not to match: ${re}\n                 got: ${show(got)}`);
}

function done() {
  line('1..' + count);
  return failed;
}

module.exports = { ok, is, like, unlike, diag, done, failed: () => failed };
