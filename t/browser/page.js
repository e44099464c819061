#!/usr/bin/env node
// page.js: the web terminal in a real browser (Debian's chromium, driven by playwright-core)
// against a real stack that t/t0500-browser.t started. TAP on stdout.
//
// Environment (set by t/t0500-browser.t):
//   CMDARENA_BASE        the stack's http://127.0.0.1:PORT
//   CMDARENA_BASE_LIMITED a second stack whose pool allows one execution per client at a time
//   CMDARENA_SHOTS       where the screenshots go
//   CMDARENA_CHALLENGES  the stack's own copy of the catalogue (this script bumps a version in it)
//   CMDARENA_FCGI_PID    the stack's cmdarena-fcgi master (SIGHUP reloads it; SIGTERM stops it)
'use strict';

const fs = require('fs');
const path = require('path');
const t = require('./tap');

const CHROMIUM = '/usr/bin/chromium';
const ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run'];
const DESKTOP = { width: 1280, height: 860 };
const PHONE = { width: 375, height: 740 };
const VERDICT_WAIT_MS = 30000;   // well beyond the server's own hard deadline (10 s)
const WAIT_MS = 30000;           // any other wait: the machine may be busy with other tests

const base = process.env.CMDARENA_BASE;
const limitedBase = process.env.CMDARENA_BASE_LIMITED;
const shots = process.env.CMDARENA_SHOTS;
const catalogueDir = process.env.CMDARENA_CHALLENGES;
const fcgiPid = parseInt(process.env.CMDARENA_FCGI_PID || '', 10);

let shotCount = 0;
const foreign = [];      // requests to anything but the stack
const consoleErrors = [];
const dialogs = [];

// ---- helpers ----------------------------------------------------------------------------------

// The reference solutions, read from the catalogue's `example:` lines (plain, '' or "" scalars).
function examples(yaml) {
  const out = {};
  let slug = null;
  for (const l of yaml.split('\n')) {
    let m = /^- slug:\s*(\w+)\s*$/.exec(l);
    if (m) {
      slug = m[1];
      continue;
    }
    m = /^ {2}example:\s*(.+?)\s*$/.exec(l);
    if (m && slug) {
      const v = m[1];
      if (v.startsWith("'")) out[slug] = v.slice(1, -1).replace(/''/g, "'");
      else if (v.startsWith('"')) out[slug] = JSON.parse(v);
      else out[slug] = v;
    }
  }
  return out;
}

async function shot(page, name) {
  const file = path.join(shots, String(++shotCount).padStart(2, '0') + '-' + name + '.png');
  await page.screenshot({ path: file });
  t.diag('screenshot: ' + file);
}

function watch(page, label) {
  page.on('console', (m) => {
    // The error scenarios make the server answer 409/429/502 on purpose; Chrome logs each.
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of (409|429|502|503)/.test(m.text()))
      consoleErrors.push(label + ': ' + m.text());
  });
  page.on('pageerror', (e) => consoleErrors.push(label + ': uncaught ' + e.message));
  page.on('dialog', (d) => {
    dialogs.push(label + ': ' + d.type() + ' ' + d.message());
    d.dismiss().catch(() => {});
  });
}

async function newContext(browser, label, opts, origin) {
  const ctx = await browser.newContext(Object.assign({ viewport: DESKTOP }, opts || {}));
  ctx.setDefaultTimeout(WAIT_MS);
  ctx.on('request', (r) => {
    if (!r.url().startsWith((origin || base) + '/')) foreign.push(label + ': ' + r.url());
  });
  return ctx;
}

async function open(ctx, label, hash, origin) {
  const page = await ctx.newPage();
  watch(page, label);
  const res = await page.goto((origin || base) + '/' + (hash || ''));
  await page.waitForSelector('body.ready');
  return { page, res };
}

const terminal = {
  command: (page) => page.evaluate(() => window.jQuery('#terminal').terminal().get_command()),
  output: (page) => page.locator('#terminal .terminal-output').innerText(),
  prompt: async (page) => (await page.locator('#terminal .cmd-prompt').textContent()).replace(/\s+/g, ' '),
  verdicts: (page) => page.locator('#terminal .verdict-line').count(),
  focused: (page) => page.evaluate(() => !!document.activeElement && document.getElementById('terminal').contains(document.activeElement)),
};

// Type a command into the terminal, press Enter, wait for its verdict line: the #verdict text.
// "Busy" (503: no sandbox came free in time, as on a machine loaded with other tests) is a real
// answer but not what a check is about: the command is sent once more, as a visitor would.
async function run(page, cmd, busyRetried) {
  const before = await terminal.verdicts(page);
  await page.keyboard.type(cmd);
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('#terminal .verdict-line').length > n,
    before, { timeout: VERDICT_WAIT_MS });
  const verdict = await page.locator('#verdict').innerText();
  if (/^Busy /.test(verdict) && !busyRetried) {
    t.diag('the server was busy (' + verdict + '): sending ' + JSON.stringify(cmd) + ' again');
    await page.waitForTimeout(2000);
    return run(page, cmd, true);
  }
  return verdict;
}

const text = (page, sel) => page.locator(sel).innerText();
const hidden = (page, sel) => page.locator(sel).evaluate((e) => e.hidden || e.closest('[hidden]') !== null);
const slugOf = (page) => page.evaluate(() => location.hash.replace(/^#\//, ''));

async function getJson(url) {
  const res = await fetch(url);
  return { status: res.status, body: await res.json().catch(() => null), headers: res.headers };
}

async function until(what, fn, ms) {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('gave up waiting for ' + what);
    await new Promise((r) => setTimeout(r, 200));
  }
}

// ---- the scenarios ------------------------------------------------------------------------------

async function loadAndSolve(browser, list) {
  const first = list[0];
  const ctx = await newContext(browser, 'desktop');
  const { page, res } = await open(ctx, 'desktop');

  t.is(res.status(), 200, 'the page loads');
  const csp = res.headers()['content-security-policy'] || '';
  t.like(csp, /script-src 'self'(;|$)/, 'CSP: scripts from this origin only');
  t.like(csp, /style-src 'self'[^;]*;/, 'CSP: styles from this origin');
  t.unlike(csp, /unsafe-inline|unsafe-eval|\*/, 'CSP: no unsafe-inline, unsafe-eval or wildcard');
  t.is(await text(page, '#title'), first.title, 'the first challenge is shown: ' + first.title);
  t.like(await page.locator('#description').innerHTML(), /<code>/, 'its description is rendered Markdown');
  t.is(await hidden(page, '#learn'), !first.learn, 'the learn box is there when the challenge has one');
  t.is(await page.locator('#learn').evaluate((e) => e.open), !!first.disp_learn, 'and open as disp_learn says');
  t.ok(await terminal.focused(page), 'the terminal has the keyboard focus');
  t.like(await terminal.prompt(page), new RegExp(first.slug + ' \\$'), 'the prompt names the challenge');
  t.like(await text(page, '#overall'), new RegExp('0 of ' + list.length + ' solved'), 'progress: 0 of ' + list.length);
  t.ok(await hidden(page, '#solutions'), 'other solutions are hidden before solving');
  t.is(await page.locator('#verdict').getAttribute('aria-live'), 'polite', 'the verdict region is aria-live');
  await shot(page, 'load');

  // A wrong answer: the message is the server's own.
  const wrongCmd = 'echo hello';
  const direct = await getJson(base + '/r?slug=' + first.slug + '&ver=' + first.version + '&cmd=' + encodeURIComponent(wrongCmd));
  const wrong = await run(page, wrongCmd);
  t.like(wrong, /^Incorrect/, 'a wrong answer says Incorrect');
  t.ok(direct.body && direct.body.message && wrong.includes(direct.body.message),
    'with the server\'s message', 'expected to contain: ' + (direct.body && direct.body.message) + '\n got: ' + wrong);
  t.like(await terminal.output(page), /^hello$/m, 'the output is in the terminal');
  t.like(await text(page, '#overall'), /^0 of /, 'progress does not move');
  t.ok(await hidden(page, '#solutions'), 'other solutions stay hidden');
  await shot(page, 'incorrect');

  // Solve it by typing.
  const right = await run(page, 'echo hello world');
  t.like(right, /^Correct!/, 'echo hello world: Correct!');
  t.like(await text(page, '#overall'), new RegExp('^1 of ' + list.length + ' solved'), 'progress moves to 1 of ' + list.length);
  t.is(await page.locator('#list a[href="#/' + first.slug + '"]').getAttribute('class'), 'item solved', 'the list marks it solved');
  t.like(await text(page, '#list .track-beginner .track-count'), /^1 of \d+$/, 'the beginner track counts it');
  const stored = await page.evaluate(() => JSON.parse(localStorage.getItem('cmdarena.progress.v1') || '{}'));
  t.ok(stored.solved && stored.solved[first.slug], 'progress is kept in localStorage');
  t.is(await text(page, '#next'), 'Next: ' + list[1].title + ' →', 'the next unsolved challenge is offered');
  await page.waitForSelector('#solutions:not([hidden])');
  t.like(await page.locator('#solutions-list').textContent(), /echo hello world/, 'other solutions appear after solving');
  await shot(page, 'correct');

  // Tab completion, a failing exit status in the prompt, Ctrl-R, Ctrl-L and clear.
  await page.keyboard.type('ech');
  await page.keyboard.press('Tab');
  t.is(await terminal.command(page), 'echo', 'Tab completes a common command');
  await page.keyboard.press('Control+U');
  t.is(await terminal.command(page), '', 'Ctrl-U empties the line');
  await run(page, 'ls /nonexistent');
  t.like(await terminal.prompt(page), /^2 hello_world \$/, 'the prompt shows the failed exit status');
  t.is(await page.locator('#terminal .cmd-prompt .p-fail').count(), 1, 'in the failure colour');
  await page.keyboard.press('Control+R');
  await page.keyboard.type('hello w');
  t.is(await terminal.command(page), 'echo hello world', 'Ctrl-R finds a command in the history');
  const before = await terminal.verdicts(page);
  await page.keyboard.press('Enter');
  await page.waitForFunction((n) => document.querySelectorAll('#terminal .verdict-line').length > n, before);
  t.like(await text(page, '#verdict'), /^Correct!/, 'and Enter runs it');
  t.like(await terminal.prompt(page), /^hello_world \$/, 'exit status 0: no code in the prompt');
  t.is(await page.locator('#terminal .cmd-prompt .p-ok').count(), 1, 'in the success colour');
  await page.keyboard.press('Control+L');
  t.is((await terminal.output(page)).trim(), '', 'Ctrl-L clears the screen');
  await run(page, 'echo again');
  await page.keyboard.type('clear');
  await page.keyboard.press('Enter');
  t.is((await terminal.output(page)).trim(), '', '`clear` clears the screen');

  // Output is text, never markup, formatting or a command.
  const xss = "echo '<img src=x onerror=alert(1)>'";
  await run(page, xss);
  const out = await terminal.output(page);
  t.like(out, /^<img src=x onerror=alert\(1\)>$/m, 'the XSS output shows as text');
  t.is(await page.locator('#terminal img, #challenge img').count(), 0, 'no <img> element was made');
  await page.waitForTimeout(300);
  t.is(dialogs.length, 0, 'no dialog fired', dialogs.join('\n'));
  await run(page, "printf 'a\\e[31mred\\e[0m [[;red;]x] [[ clear ]]\\n'");
  t.like(await terminal.output(page), /a\^\[\[31mred\^\[\[0m \[\[;red;\]x\] \[\[ clear \]\]/,
    'ANSI escapes and terminal formatting show as characters, executed by nobody');
  t.like(await terminal.output(page), /<img src=x/, 'and the screen was not cleared by them');
  await shot(page, 'xss-as-text');

  // Reload: progress and history stay.
  await page.reload();
  await page.waitForSelector('body.ready');
  t.is(await slugOf(page), first.slug, 'after a reload the same challenge is open');
  t.like(await text(page, '#overall'), /^1 of /, 'progress survives the reload');
  t.is(await page.locator('#list a.solved').count(), 1, 'so does the solved mark');
  t.like(await terminal.output(page), /Solved with echo hello world/, 'the terminal recalls how it was solved');
  await page.keyboard.press('ArrowUp');
  t.is(await terminal.command(page), "printf 'a\\e[31mred\\e[0m [[;red;]x] [[ clear ]]\\n'", 'Up recalls the last command after the reload');
  await page.keyboard.press('ArrowUp');
  t.is(await terminal.command(page), xss, 'and Up again the one before');
  await page.keyboard.press('Control+U');
  await page.waitForSelector('#solutions:not([hidden])');
  t.ok(true, 'other solutions are shown for a solved challenge after the reload');
  await shot(page, 'reloaded');

  // Deep links.
  const target = list.find((c) => c.slug === 'print_file') || list[3];
  const deep = await open(ctx, 'deep-link', '#/' + target.slug);
  t.is(await text(deep.page, '#title'), target.title, 'a deep link #/' + target.slug + ' opens its challenge');
  t.like(await terminal.prompt(deep.page), new RegExp('^' + target.slug + ' \\$'), 'with its prompt');
  t.is(await deep.page.locator('#list [aria-current="page"]').getAttribute('href'), '#/' + target.slug, 'and marks it in the list');
  const file = (target.files || []).find((w) => /\./.test(w));
  if (t.ok(file, 'the challenge offers a file name to complete: ' + file)) {
    await deep.page.keyboard.type('cat ' + file.slice(0, 2));
    await deep.page.keyboard.press('Tab');
    t.is(await terminal.command(deep.page), 'cat ' + file, 'Tab completes the challenge\'s file name');
  }
  await shot(deep.page, 'deep-link');
  await deep.page.keyboard.press('Control+U');
  await deep.page.goto(base + '/#/no_such_challenge');
  await deep.page.waitForFunction(() => location.hash !== '#/no_such_challenge');
  t.like(await terminal.output(deep.page), /no challenge called "no_such_challenge"/, 'an unknown deep link says so');
  await deep.page.close();

  // Reset progress asks first.
  await page.click('#reset-ask');
  t.ok(!(await hidden(page, '#reset-confirm')), 'reset progress asks for confirmation');
  await page.click('#reset-no');
  t.like(await text(page, '#overall'), /^1 of /, '"Keep" keeps the progress');
  await page.click('#reset-ask');
  await shot(page, 'reset-confirm');
  await page.click('#reset-yes');
  t.like(await text(page, '#overall'), /^0 of /, '"Yes, reset" resets it');
  t.is(await page.locator('#list a.solved').count(), 0, 'and the marks');
  return { ctx, page };
}

// The verdicts that are not a plain right or wrong.
async function otherVerdicts(page) {
  await page.click('#terminal');
  // Time out: the spinner turns while it runs.
  await page.keyboard.type('sleep 30');
  await page.keyboard.press('Enter');
  await page.waitForSelector('#terminal .spin');
  t.ok(true, 'a spinner shows while the command runs');
  await page.waitForFunction(() => !document.querySelector('#terminal .spin') &&
    document.getElementById('verdict').textContent !== '', null, { timeout: VERDICT_WAIT_MS });
  t.like(await text(page, '#verdict'), /^Timed out .*ran out \(exit code 124\)/, 'a command that runs too long: Timed out, exit 124');
  t.like(await terminal.prompt(page), /^124 /, 'the prompt shows 124');
  await shot(page, 'timed-out');

  // Truncated output.
  const cut = await run(page, 'seq 100000');
  t.like(cut, /too long and was cut/, 'an output over the cap says it was cut');
  t.like(await terminal.output(page), /… \d+ more lines not shown/, 'the terminal draws only the start of a long output');

}

// A rate limit, on the second stack (one execution per client, then 429 with Retry-After).
async function rateLimited(browser) {
  const ctx = await newContext(browser, 'limited', {}, limitedBase);
  const { page } = await open(ctx, 'limited', '#/hello_world', limitedBase);
  const first = await run(page, 'echo one');
  t.like(first, /^Incorrect/, 'the first command of a client is judged');
  const limited = page.waitForResponse((r) => r.url().includes('cmd=echo%20two'));
  const slow = await run(page, 'echo two');
  const r429 = await limited;
  t.is(r429.status(), 429, 'the next one is over the limit: 429');
  const after = r429.headers()['retry-after'];
  t.like(after, /^\d+$/, 'with Retry-After (' + after + ')');
  t.like(slow, new RegExp('^Slow down .*Try again in ' + after + ' seconds?\\.'), 'the page says when to retry');
  await shot(page, 'rate-limited');
  await ctx.close();
}

// A stale version: the server's catalogue moves on while the page is open; the page retries once.
async function staleVersion(page) {
  const file = path.join(catalogueDir, 'challenges.yaml');
  const yaml = fs.readFileSync(file, 'utf8');
  const bumped = yaml.replace(/^(- slug: hello_world\n(?: {2}.*\n)*? {2}version: )1$/m, '$12');
  t.ok(bumped !== yaml, 'hello_world\'s version is bumped in the stack\'s catalogue');
  fs.writeFileSync(file, bumped);
  process.kill(fcgiPid, 'SIGHUP');
  // Each probe is a new command: an answer from before the reload sits in nginx's cache.
  let probe = 0;
  await until('the reload', async () =>
    (await getJson(base + '/r?slug=hello_world&ver=1&cmd=true%20' + ++probe)).status === 409, 30000);
  await page.goto(base + '/#/hello_world');
  await page.waitForSelector('body.ready');
  const seen = [];
  page.on('response', (r) => {
    if (r.url().includes('/r?')) seen.push(r.status() + ' ' + new URL(r.url()).searchParams.get('ver'));
  });
  const v = await run(page, 'echo "hello world"');
  t.like(v, /^Correct!/, 'a stale version is retried by itself and judged');
  t.ok(seen[0] === '409 1' && seen[seen.length - 1] === '200 2', 'first 409 with the old version, then 200 with the new one',
    'answers (status, ver): ' + seen.join(', '));
}

// The server gone: a clear error, no crash.
async function serverError(page) {
  process.kill(fcgiPid, 'SIGTERM');
  let probe = 0;
  await until('the pool to stop', async () =>
    (await getJson(base + '/r?slug=hello_world&ver=2&cmd=false%20' + ++probe)).status === 502, 60000);
  const v = await run(page, 'echo anyone there');
  t.like(v, /^Server error /, 'a server error is said as such');
  await shot(page, 'server-error');
}

// A phone: no horizontal scroll, the on-screen keyboard types into the terminal.
async function phone(browser, ex) {
  const ctx = await newContext(browser, 'phone', { viewport: PHONE, isMobile: true, hasTouch: true, deviceScaleFactor: 2 });
  const { page } = await open(ctx, 'phone', '#/spaces_in_names');
  const widths = () => page.evaluate(() => [document.documentElement.scrollWidth, document.body.scrollWidth, window.innerWidth]);
  let [doc, body, inner] = await widths();
  t.is(inner, PHONE.width, 'the phone viewport is ' + PHONE.width + ' px wide');
  t.ok(doc <= inner && body <= inner, 'no horizontal scroll at ' + PHONE.width + ' px', `scrollWidth ${doc}/${body}, viewport ${inner}`);
  await shot(page, 'phone');
  await page.tap('#terminal');
  t.ok(await page.waitForFunction(() => document.getElementById('terminal').contains(document.activeElement), null, { timeout: 10000 }).then(() => true, () => false),
    'tapping the terminal focuses it (the on-screen keyboard opens)',
    'focus is on ' + await page.evaluate(() => document.activeElement && document.activeElement.outerHTML.slice(0, 100)));
  const v = await run(page, ex.spaces_in_names);
  t.like(v, /^Correct!/, 'a command typed on the phone is judged');
  [doc, body, inner] = await widths();
  t.ok(doc <= inner && body <= inner, 'still no horizontal scroll with output and verdict', `scrollWidth ${doc}/${body}, viewport ${inner}`);
  await shot(page, 'phone-solved');
  await page.tap('#list-toggle');
  t.ok(await page.locator('#sidebar').isVisible(), 'the challenge list opens as a drawer');
  const box = await page.locator('#sidebar').boundingBox();
  t.ok(box && box.x >= 0 && box.x + box.width <= PHONE.width + 0.5, 'inside the screen', JSON.stringify(box));
  await shot(page, 'phone-list');
  await ctx.close();
}

// Three challenges in a row with the keyboard alone, then out of the terminal and back.
async function keyboardOnly(browser, ex) {
  const ctx = await newContext(browser, 'keyboard');
  const { page } = await open(ctx, 'keyboard');
  for (let i = 1; i <= 3; i++) {
    const slug = await slugOf(page);
    if (!t.ok(ex[slug], 'the catalogue has an example for ' + slug)) break;
    const v = await run(page, ex[slug]);
    t.like(v, /^Correct!/, `keyboard ${i}/3: ${slug} solved by typing`);
    t.ok(await terminal.focused(page), 'the terminal keeps the focus');
    await page.keyboard.press('Enter');
    await page.waitForFunction((s) => location.hash !== '#/' + s, slug);
    t.ok((await slugOf(page)) !== slug, 'Enter on the empty line opens the next challenge');
  }
  t.like(await text(page, '#overall'), /^3 of /, 'three solved in a row');
  await shot(page, 'keyboard-three');
  await page.keyboard.press('Escape');
  t.is(await page.evaluate(() => document.activeElement.id), 'title', 'Esc leaves the terminal');
  await page.keyboard.type('x');
  t.is(await terminal.command(page), '', 'keys then do not reach the terminal');
  for (let i = 0; i < 6 && !(await terminal.focused(page)); i++) await page.keyboard.press('Tab');
  t.ok(await terminal.focused(page), 'Tab brings the focus back to the terminal');
  await page.keyboard.type('pwd');
  t.is(await terminal.command(page), 'pwd', 'and typing works again');
  await ctx.close();
}

// Issue 16, by keyboard alone: completion from the real files, verdicts that teach, two hints, giving
// up on one challenge, solving another with its golf line, exporting the progress and importing it
// into a fresh browser profile (by the code and by the link); the light theme and its toggle.
async function tabTo(page, id, back) {
  for (let i = 0; i < 250; i++) {
    if (await page.evaluate(() => document.activeElement && document.activeElement.id) === id) return true;
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
  }
  return false;
}

// Type a line that gets no verdict (`hint`): Enter, then wait for what it prints.
async function typeLine(page, cmd, sel, before) {
  await page.keyboard.type(cmd);
  await page.keyboard.press('Enter');
  await page.waitForFunction(([s, n]) => document.querySelectorAll(s).length > n, [sel, before]);
}

async function visitor(browser, ex, list) {
  const hinted = list.find((c) => Array.isArray(c.hints) && c.hints.length >= 2 && c.slug !== 'print_file');
  if (!t.ok(hinted, 'challenges.json has a challenge with at least two hints (insert-hints.py run on the catalogue)')) return;
  t.is(list.filter((c) => !c.learn && !(c.hints && c.hints.length >= 2)).map((c) => c.slug).join(' '), '',
    'every challenge without a Learn box has at least two hints');
  const solve = list.find((c) => c.slug === 'print_file');
  const ctx = await newContext(browser, 'visitor');
  const { page } = await open(ctx, 'visitor', '#/hidden_files');

  // Honest completion: the files there, never a hidden name; commands where a command goes.
  const hf = list.find((c) => c.slug === 'hidden_files');
  t.ok(hf && hf.files.length > 0 && hf.files.every((f) => !/^\.|\/\./.test(f)), 'hidden_files lists its files, no hidden name',
    JSON.stringify(hf && hf.files));
  t.ok(list.every((c) => Array.isArray(c.files)), 'every challenge in challenges.json has a files list');
  await page.keyboard.type('cat .');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  t.is(await terminal.command(page), 'cat .', 'Tab offers no hidden name (the answer of hidden_files)');
  t.unlike(await terminal.output(page), /\.diary|\.bunkrc|\.hidden/, 'not even in the list of candidates');
  await page.keyboard.press('Control+U');
  const file = hf.files.find((f) => /^l/.test(f));
  await page.keyboard.type('cat ' + file.slice(0, 2));
  await page.keyboard.press('Tab');
  t.is(await terminal.command(page), 'cat ' + file, 'Tab completes a real file name: ' + file);
  await page.keyboard.press('Control+U');
  await page.keyboard.type('ta');
  await page.keyboard.press('Tab');
  await page.keyboard.press('Tab');
  t.like(await terminal.output(page), /\btac\b[\s\S]*\btail\b/, 'where a command goes, Tab offers commands');
  await page.keyboard.press('Control+U');

  // Verdicts that teach, and the one line on how commands run.
  await page.goto(base + '/#/list_files');
  await page.waitForFunction(() => location.hash === '#/list_files');
  let v = await run(page, 'ls | head -n 4');
  t.like(v, /2 expected lines are missing \(the order does not matter here\)/, 'an any-order mismatch counts the missing lines');
  t.like(await terminal.output(page), /Each command runs on a fresh copy of the files/, 'the first command of the visit says how commands run');
  v = await run(page, 'lss');
  t.like(v, /found no command named 'lss'/, 'a command not found is said as such');
  t.is((await terminal.output(page)).split('fresh copy of the files').length, 2, 'the fresh-copy line is said once');
  await shot(page, 'verdicts-that-teach');

  // Two hints: one with the `hint` command, one with the button.
  await page.goto(base + '/#/' + hinted.slug);
  await page.waitForFunction((s) => location.hash === '#/' + s, hinted.slug);
  const n = hinted.hints.length;
  t.like(await text(page, '#hints-left'), new RegExp('^' + n + ' of ' + n + ' hints left'), 'the page says how many hints there are');
  await typeLine(page, 'hint', '#terminal .hint-mark', 0);
  t.like(await terminal.output(page), new RegExp('Hint 1 of ' + n + ':'), '`hint` in the terminal shows the first hint');
  t.is(await page.locator('#hints-list li').count(), 1, 'and lists it above the terminal');
  await page.keyboard.press('Escape');
  t.ok(await tabTo(page, 'hint-next'), 'Tab reaches the hint button');
  await page.keyboard.press('Enter');
  t.is(await page.locator('#hints-list li').count(), 2, 'the button shows the second hint');
  t.like(await text(page, '#hints-left'), new RegExp('^' + (n - 2) + ' of ' + n + ' hints? left|^No hints left'), 'and how many are left');
  await shot(page, 'two-hints');

  // Give up on it: revealed, not solved.
  t.ok(await tabTo(page, 'giveup'), 'Tab reaches "Give up and show solutions" (past the terminal, on an empty line)');
  await page.keyboard.press('Enter');
  t.ok(!(await hidden(page, '#solutions')), 'giving up shows the solutions');
  t.like(await text(page, '#overall'), /^0 of \d+ solved · 1 revealed/, 'the progress counts it revealed, not solved');
  t.is(await page.locator('#list a[href="#/' + hinted.slug + '"]').getAttribute('class'), 'item revealed', 'the list marks it revealed');
  t.ok(await hidden(page, '#giveup-box'), 'the give-up button is gone');
  await shot(page, 'gave-up');

  // Solve another: the golf line.
  await page.goto(base + '/#/' + solve.slug);
  await page.waitForFunction((s) => location.hash === '#/' + s, solve.slug);
  v = await run(page, ex[solve.slug]);
  t.like(v, /^Correct!/, solve.slug + ' solved by typing');
  const len = Array.from(ex[solve.slug]).length;
  await page.waitForFunction(() => !/shortest known: …/.test(document.getElementById('golf').textContent));
  const g = await text(page, '#golf');
  t.like(g, new RegExp('^Your command: ' + len + ' characters; shortest known: \\d+\\.'), 'the golf line: ' + g);
  t.ok(parseInt(g.replace(/.*shortest known: (\d+).*/, '$1'), 10) <= len, 'the shortest known is no longer than this one');
  const kept = await page.evaluate(() => JSON.parse(localStorage.getItem('cmdarena.progress.v1')));
  t.is(kept.best[solve.slug], len, 'the personal best is kept in the browser');
  t.ok(!(await hidden(page, '#solutions-used')) && (await page.locator('#solutions-used li').count()) > 0, 'the most used solutions are listed');
  t.like(await page.locator('#solutions-list').textContent(), /\d+ chars/, 'and the shortest, with their lengths');
  await page.keyboard.type('cat  ' + solve.files[0]);
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => /Your best: /.test(document.getElementById('golf').textContent));
  t.like(await text(page, '#golf'), new RegExp('Your best: ' + len + '\\.'), 'a longer solution recalls the personal best');
  await shot(page, 'golf');

  // Export (keyboard), then import into fresh profiles: by the code, and by the link.
  await page.keyboard.press('Escape');
  t.ok(await tabTo(page, 'export'), 'Tab reaches "Export progress"');
  await page.keyboard.press('Enter');
  const code = await page.locator('#export-code').inputValue();
  t.like(code, /^CA1-[A-Za-z0-9_-]+-[0-9a-z]{4}$/, 'the export code is short and versioned: ' + code.length + ' characters');
  t.ok(code.length < 200, 'short enough to paste');
  const link = await page.locator('#export-link').getAttribute('href');
  t.like(link, /#import=CA1-/, 'and a link carries it');
  await shot(page, 'export');
  await ctx.close();

  const fresh = await newContext(browser, 'fresh-profile');
  const f = await open(fresh, 'fresh-profile', '#/' + solve.slug);
  t.like(await text(f.page, '#overall'), /^0 of /, 'a fresh profile starts with nothing');
  await f.page.keyboard.press('Escape');
  t.ok(await tabTo(f.page, 'import-code'), 'Tab reaches the import field');
  await f.page.keyboard.type(code.slice(0, -1) + (code.slice(-1) === 'a' ? 'b' : 'a'));
  await f.page.keyboard.press('Enter');
  t.like(await text(f.page, '#import-msg'), /last four characters do not match/, 'a damaged code is refused with a clear message');
  t.like(await text(f.page, '#overall'), /^0 of /, 'and changes nothing');
  await f.page.keyboard.press('Control+A');
  await f.page.keyboard.type('CA9-abc-defg');
  await f.page.keyboard.press('Enter');
  t.like(await text(f.page, '#import-msg'), /newer version/, 'a code of another version says so');
  await f.page.keyboard.press('Control+A');
  await f.page.keyboard.type(code);
  await f.page.keyboard.press('Enter');
  t.like(await text(f.page, '#import-msg'), /^Imported: 1 solved and 1 revealed/, 'the code imports');
  t.like(await text(f.page, '#overall'), /^1 of \d+ solved · 1 revealed/, 'solved and revealed are restored');
  t.is(await f.page.locator('#list a[href="#/' + solve.slug + '"]').getAttribute('class'), 'item solved', 'the solved mark');
  t.is(await f.page.locator('#list a[href="#/' + hinted.slug + '"]').getAttribute('class'), 'item revealed', 'the revealed mark');
  const best = await f.page.evaluate((s) => JSON.parse(localStorage.getItem('cmdarena.progress.v1')).best[s], solve.slug);
  t.is(best, len, 'and the personal best');
  await shot(f.page, 'imported');
  await fresh.close();

  const viaLink = await newContext(browser, 'link-profile');
  const l = await open(viaLink, 'link-profile', link.replace(/^.*#/, '#'));
  t.like(await text(l.page, '#overall'), /^1 of \d+ solved · 1 revealed/, 'the link imports the progress in another fresh profile');
  t.unlike(await l.page.evaluate(() => location.hash), /import/, 'and the code leaves the address bar');
  await viaLink.close();
}

// The light theme follows the system, and a button (keyboard) switches it.
async function themes(browser) {
  const ctx = await newContext(browser, 'light', { colorScheme: 'light' });
  const { page } = await open(ctx, 'light', '#/hello_world');
  const bg = () => page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  t.is(await page.evaluate(() => document.documentElement.dataset.theme), 'light', 'a light system gets the light theme');
  t.is(await bg(), 'rgb(246, 248, 250)', 'with a light background');
  await shot(page, 'light');
  await page.keyboard.press('Escape');
  t.ok(await tabTo(page, 'theme', true), 'Shift-Tab reaches the theme button');
  await page.keyboard.press('Enter');
  t.is(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the button switches to dark');
  t.is(await bg(), 'rgb(13, 17, 23)', 'with the dark background');
  await page.reload();
  await page.waitForSelector('body.ready');
  t.is(await page.evaluate(() => document.documentElement.dataset.theme), 'dark', 'the choice is kept over a reload');
  // The page's weight: what it loads from this origin.
  const bytes = await page.evaluate(() => performance.getEntriesByType('resource').concat(performance.getEntriesByType('navigation'))
    .filter((e) => !/challenges\.json/.test(e.name)).reduce((n, e) => n + (e.decodedBodySize || 0), 0));
  t.ok(bytes > 0 && bytes <= 512 * 1024, 'the page and its assets (challenges.json aside) are within 512 KiB: ' + Math.round(bytes / 1024) + ' KiB');
  const own = ['store', 'verdict', 'shell', 'page'].map((n) => fs.readdirSync(path.join(__dirname, '..', '..', 'htdocs', 'vendor'))
    .filter((x) => x.startsWith(n + '.')).map((x) => fs.statSync(path.join(__dirname, '..', '..', 'htdocs', 'vendor', x)).size)
    .reduce((a, b) => a + b, 0)).reduce((a, b) => a + b, 0);
  t.ok(own <= 80 * 1024, 'the page\'s own scripts and style are within 80 KiB: ' + Math.round(own / 1024) + ' KiB');
  await ctx.close();
}

async function main() {
  for (const [k, v] of Object.entries({ CMDARENA_BASE: base, CMDARENA_BASE_LIMITED: limitedBase,
    CMDARENA_SHOTS: shots, CMDARENA_CHALLENGES: catalogueDir }))
    if (!v) throw new Error(k + ' is not set');
  if (!(fcgiPid > 1)) throw new Error('CMDARENA_FCGI_PID is not set');
  fs.mkdirSync(shots, { recursive: true });
  const ex = examples(fs.readFileSync(path.join(catalogueDir, 'challenges.yaml'), 'utf8'));
  const list = (await getJson(base + '/challenges.json')).body;
  t.ok(Array.isArray(list) && list.length > 3, 'challenges.json lists the challenges');

  // playwright-core downloads no browser here: it drives Debian's chromium.
  const { chromium } = require('playwright-core');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, headless: true });
  const steps = [
    ['desktop', async () => {
      const { page } = await loadAndSolve(browser, list);
      await otherVerdicts(page);
      await staleVersion(page);
      await serverError(page);
    }],
  ];
  // The phone and keyboard runs go first: the desktop run ends by stopping the pool.
  steps.unshift(['keyboard', () => keyboardOnly(browser, ex)]);
  steps.unshift(['themes', () => themes(browser)]);
  steps.unshift(['visitor', () => visitor(browser, ex, list)]);
  steps.unshift(['rate limit', () => rateLimited(browser)]);
  steps.unshift(['phone', () => phone(browser, ex)]);
  for (const [name, step] of steps) {
    try {
      await step();
    } catch (e) {
      t.ok(false, 'the ' + name + ' run finished', String(e.stack || e));
    }
  }
  t.is(foreign.length, 0, 'no request went to another host', foreign.join('\n'));
  t.is(consoleErrors.length, 0, 'no console error, uncaught exception or CSP violation', consoleErrors.join('\n'));
  t.is(dialogs.length, 0, 'no dialog in the whole run', dialogs.join('\n'));
  await browser.close();
}

const guard = setTimeout(() => {
  t.ok(false, 'the browser test finished within 300 s');
  t.done();
  process.exit(1);
}, 300000);

main().then(() => {
  clearTimeout(guard);
  process.exit(t.done() ? 1 : 0);
}, (e) => {
  clearTimeout(guard);
  t.ok(false, 'the browser test ran', String(e.stack || e));
  t.done();
  process.exit(1);
});
