// plain.js: the minimal page: list the challenges, send a command to /r, show the verdict.
// Everything from the server is shown with textContent: never parsed as HTML.
'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  let challenges = [];

  function show(slug) {
    const c = challenges.find((x) => x.slug === slug) || challenges[0];
    if (!c) return;
    $('challenge').value = c.slug;
    $('title').textContent = c.title;
    $('description').textContent = c.description;
    $('verdict').textContent = '';
    $('output').textContent = '';
  }

  async function run(ev) {
    ev.preventDefault();
    const c = challenges.find((x) => x.slug === $('challenge').value);
    const cmd = $('cmd').value;
    if (!c || !cmd) return;
    const q = new URLSearchParams({ slug: c.slug, ver: String(c.version), cmd });
    $('verdict').textContent = 'running...';
    $('verdict').className = '';
    try {
      const res = await fetch('/r?' + q.toString().replace(/\+/g, '%20'));
      const body = await res.json();
      if (body.error) {
        $('verdict').textContent = body.error;
        $('verdict').className = 'error';
        $('output').textContent = '';
      } else {
        $('verdict').textContent = body.correct ? 'Correct!' : 'Incorrect' + (body.message ? ': ' + body.message : '');
        $('verdict').className = body.correct ? 'correct' : 'incorrect';
        $('output').textContent = body.output;
      }
    } catch (e) {
      $('verdict').textContent = 'The server did not answer.';
      $('verdict').className = 'error';
    }
  }

  fetch('challenges.json').then((r) => r.json()).then((list) => {
    challenges = list;
    for (const c of list) {
      const o = document.createElement('option');
      o.value = c.slug;
      o.textContent = c.title;
      $('challenge').appendChild(o);
    }
    show(location.hash.replace(/^#\/?/, ''));
  });
  $('challenge').addEventListener('change', (e) => show(e.target.value));
  $('run').addEventListener('submit', run);
})();
