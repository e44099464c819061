// verdict.js: ask the server to judge a command (GET /r) and turn its answer, whatever it is,
// into words for the visitor. Output from the server only ever becomes text: escapeHtml below is
// the one place it is turned into markup.
'use strict';
window.Cmdarena = window.Cmdarena || {};

Cmdarena.verdict = (function () {
  // What the terminal shows of one output; the rest is counted, not drawn.
  const SHOW_LINES = 400;
  const SHOW_CHARS = 24000;

  // encodeURIComponent writes a space as %20 (never +): one command, one nginx cache key.
  function url(path, params) {
    return path + '?' + Object.keys(params)
      .map((k) => k + '=' + encodeURIComponent(String(params[k])))
      .join('&');
  }

  // Seconds to wait from a Retry-After header (delta-seconds or an HTTP date); null if absent.
  function retrySeconds(value) {
    if (!value) return null;
    if (/^\s*\d+\s*$/.test(value)) return Math.max(1, parseInt(value, 10));
    const when = Date.parse(value);
    if (isNaN(when)) return null;
    return Math.max(1, Math.ceil((when - Date.now()) / 1000));
  }

  // GET a JSON endpoint: {status, body, retryAfter}; status 0 when nothing answered.
  async function getJson(path, params) {
    let res;
    try {
      res = await fetch(url(path, params), { headers: { Accept: 'application/json' } });
    } catch (e) {
      return { status: 0, body: null, retryAfter: null };
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    return { status: res.status, body: body, retryAfter: retrySeconds(res.headers.get('Retry-After')) };
  }

  function run(slug, ver, cmd) {
    return getJson('/r', { slug: slug, ver: ver, cmd: cmd });
  }

  function solutions(slug) {
    return getJson('/s', { slug: slug });
  }

  function isVerdict(b) {
    return b && typeof b === 'object' && typeof b.correct === 'boolean' && typeof b.output === 'string';
  }

  function again(seconds) {
    if (!seconds) return 'Try again in a moment.';
    return 'Try again in ' + seconds + (seconds === 1 ? ' second.' : ' seconds.');
  }

  function sentence(body, fallback) {
    return body && typeof body.error === 'string' && body.error ? body.error : fallback;
  }

  // {kind, headline, detail, notes[], output, exitCode}. kind is one of correct, incorrect,
  // timeout, rate_limited, busy, server_error, refused, stale, no_answer.
  function describe(res) {
    const b = res.body;
    if (res.status === 200 && isVerdict(b)) {
      const v = {
        kind: b.correct ? 'correct' : 'incorrect',
        headline: b.correct ? 'Correct!' : 'Incorrect',
        detail: b.correct ? '' : (b.message || 'The output is not what the challenge asks for.'),
        notes: [],
        output: b.output,
        exitCode: typeof b.exit_code === 'number' ? b.exit_code : null,
      };
      if (b.timed_out) {
        v.kind = b.correct ? 'correct' : 'timeout';
        if (!b.correct) v.headline = 'Timed out';
        v.notes.push('The command was still running when its time ran out (exit code ' +
          (v.exitCode === null ? 124 : v.exitCode) + '). Does it wait for input, or loop forever?');
      }
      if (b.truncated) v.notes.push('The output was too long and was cut at the sandbox\'s limit.');
      return v;
    }
    const code = b && typeof b.code === 'string' ? b.code : '';
    const base = { notes: [], output: null, exitCode: null, code: code };
    if (res.status === 0) {
      return Object.assign(base, { kind: 'no_answer', headline: 'No answer',
        detail: 'The server did not answer. Check your connection, then press Enter to try again.' });
    }
    if (res.status === 429) {
      return Object.assign(base, { kind: 'rate_limited', headline: 'Slow down',
        detail: 'Too many commands in a short time. ' + again(res.retryAfter), retryAfter: res.retryAfter });
    }
    if (res.status === 409 && code === 'stale_version') {
      return Object.assign(base, { kind: 'stale', headline: 'Out of date',
        detail: 'This challenge changed on the server. Reload the page to get its new version.' });
    }
    if (res.status === 503) {
      return Object.assign(base, { kind: 'busy', headline: 'Busy',
        detail: sentence(b, 'Every sandbox is busy right now.') + ' ' + again(res.retryAfter),
        retryAfter: res.retryAfter });
    }
    if (res.status >= 500 || res.status === 200) {
      return Object.assign(base, { kind: 'server_error', headline: 'Server error',
        detail: sentence(b, 'The server could not judge your command (HTTP ' + res.status + ').') +
          ' ' + again(res.retryAfter) });
    }
    return Object.assign(base, { kind: 'refused', headline: 'Not run',
      detail: sentence(b, 'The server refused the command (HTTP ' + res.status + ').') });
  }

  const ENTITIES = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

  function escapeHtml(s) {
    return String(s).replace(/[&<>"']/g, (c) => ENTITIES[c]);
  }

  // Control characters other than newline and tab show in caret notation (ESC as ^[), dimmed,
  // the way `cat -v` shows them: an ANSI escape is visible, never obeyed.
  function caret(c) {
    const n = c.charCodeAt(0);
    return n === 0x7f ? '^?' : '^' + String.fromCharCode(n + 0x40);
  }

  function textHtml(s) {
    return escapeHtml(s).replace(/[\x00-\x08\x0b-\x1f\x7f]/g,
      (c) => '<span class="ctl">' + escapeHtml(caret(c)) + '</span>');
  }

  // The output as markup for the terminal, cut to what a screen can use.
  function outputHtml(text) {
    const lines = text.replace(/\n$/, '').split('\n');
    let shown = lines.slice(0, SHOW_LINES).join('\n');
    const partial = shown.length > SHOW_CHARS;
    if (partial) shown = shown.slice(0, SHOW_CHARS);
    const more = lines.length - shown.split('\n').length;
    let html = textHtml(shown);
    if (more > 0 || partial) {
      html += '\n<span class="cut">… ' +
        (more > 0 ? more + ' more line' + (more === 1 ? '' : 's') : 'the rest of the line') +
        ' not shown</span>';
    }
    return html;
  }

  return {
    url: url,
    run: run,
    solutions: solutions,
    describe: describe,
    retrySeconds: retrySeconds,
    escapeHtml: escapeHtml,
    textHtml: textHtml,
    outputHtml: outputHtml,
  };
})();
