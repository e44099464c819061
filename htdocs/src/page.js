// page.js: the page around the terminal: the challenge (title, Markdown description, learn box),
// the verdict, the next challenge, other solutions, the challenge list with progress, deep links
// (#/<slug>) and the progress reset.
'use strict';

(function () {
  const V = Cmdarena.verdict;
  const S = Cmdarena.store;
  const byId = (id) => document.getElementById(id);

  // Markdown from challenges.json: raw HTML is escaped (html: false), and images are not rendered
  // at all, so a description can never make the page fetch from another host.
  const md = window.markdownit({ html: false, linkify: false, typographer: false }).disable('image');

  const TRACK_NAMES = { beginner: 'Beginner', intermediate: 'Intermediate', advanced: 'Advanced', other: 'Other' };
  const MARKS = {
    correct: '✔', incorrect: '✘', timeout: '⏱', rate_limited: '…', busy: '…',
    server_error: '!', refused: '!', stale: '!', no_answer: '!',
  };

  let list = [];
  let current = null;
  let offer = null;       // the challenge Enter on an empty line opens, after a correct verdict
  let topic = null;       // the topic the list is filtered by
  let shell = null;

  function el(tag, attrs, text) {
    const e = document.createElement(tag);
    for (const k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function titleOf(c) {
    return c.title || c.slug;
  }

  function valid(c) {
    return c && typeof c.slug === 'string' && /^\w+$/.test(c.slug) && Number.isInteger(c.version) &&
      typeof c.description === 'string' && Array.isArray(c.tags);
  }

  async function fetchList(reload) {
    const res = await fetch('challenges.json', { cache: reload ? 'reload' : 'no-cache' });
    if (!res.ok) throw new Error('challenges.json: HTTP ' + res.status);
    const data = await res.json();
    if (!Array.isArray(data)) throw new Error('challenges.json is not a list');
    return data.filter(valid).map((c) => Object.assign({ completions: [] }, c));
  }

  // ---- progress and the list --------------------------------------------------------------

  function setMeter(fill, solved, total) {
    fill.style.width = (total ? (100 * solved) / total : 0).toFixed(1) + '%';
  }

  function renderProgress() {
    const p = S.progress(list);
    byId('overall-long').textContent = p.solved + ' of ' + p.total + ' solved';
    byId('overall-short').textContent = p.solved + '/' + p.total;
    setMeter(byId('overall-fill'), p.solved, p.total);
    byId('reset-ask').disabled = p.solved === 0;
    renderTopics(p.topics);
    renderList(p.tracks);
  }

  function renderTopics(topics) {
    const box = byId('topics');
    box.replaceChildren();
    for (const t of topics) {
      const b = el('button', { type: 'button', class: 'chip' + (t.solved === t.total ? ' done' : ''),
        'aria-pressed': String(topic === t.name) });
      b.append(el('span', { class: 'chip-name' }, t.name), ' ',
        el('span', { class: 'chip-count', 'aria-label': t.solved + ' of ' + t.total + ' solved' },
          t.solved + '/' + t.total));
      b.addEventListener('click', function () {
        topic = topic === t.name ? null : t.name;
        renderProgress();
        const again = Array.from(byId('topics').children).find((x) => x.firstChild.textContent === t.name);
        if (again) again.focus();
      });
      box.append(b);
    }
  }

  function renderList(tracks) {
    const box = byId('list');
    box.replaceChildren();
    for (const t of tracks) {
      const items = list.filter((c) => S.trackOf(c) === t.name && (!topic || c.tags.indexOf(topic) >= 0));
      if (!items.length) continue;
      const sec = el('section', { class: 'track track-' + t.name });
      const head = el('h2', { class: 'track-head' });
      const fill = el('span', { class: 'meter-fill' });
      setMeter(fill, t.solved, t.total);
      const meter = el('span', { class: 'meter', 'aria-hidden': 'true' });
      meter.append(fill);
      head.append(el('span', { class: 'track-name' }, TRACK_NAMES[t.name] || t.name),
        el('span', { class: 'track-count' }, t.solved + ' of ' + t.total), meter);
      sec.append(head);
      const ol = el('ol', { class: 'items' });
      for (const c of items) {
        const solved = S.isSolved(c.slug);
        const a = el('a', { href: '#/' + c.slug, class: 'item' + (solved ? ' solved' : '') });
        if (current && current.slug === c.slug) a.setAttribute('aria-current', 'page');
        a.append(el('span', { class: 'mark', 'aria-hidden': 'true' }, solved ? '✔' : '○'),
          el('span', { class: 'item-title' }, titleOf(c)),
          el('span', { class: 'visually-hidden' }, solved ? ' (solved)' : ''),
          el('span', { class: 'item-topic' }, S.topicsOf(c).join(' ')));
        const li = el('li');
        li.append(a);
        ol.append(li);
      }
      sec.append(ol);
      box.append(sec);
    }
  }

  // ---- one challenge ------------------------------------------------------------------------

  function show(c) {
    current = c;
    offer = null;
    const n = list.indexOf(c) + 1;
    document.title = titleOf(c) + ' · cmdarena';
    const crumbs = byId('crumbs');
    crumbs.replaceChildren(
      el('span', { class: 'crumb-track crumb-' + S.trackOf(c) }, TRACK_NAMES[S.trackOf(c)] || S.trackOf(c)),
      ...S.topicsOf(c).map((t) => el('span', { class: 'crumb-topic' }, t)),
      el('span', { class: 'crumb-n' }, n + ' / ' + list.length));
    if (S.isSolved(c.slug)) crumbs.append(el('span', { class: 'crumb-solved' }, '✔ solved'));
    byId('title').textContent = titleOf(c);
    byId('description').innerHTML = md.render(c.description);
    const learn = byId('learn');
    learn.hidden = !c.learn;
    learn.open = !!c.disp_learn;
    byId('learn-body').innerHTML = c.learn ? md.render(c.learn) : '';
    hideVerdict();
    byId('solutions').hidden = true;
    byId('solutions').open = false;
    renderProgress();

    shell.clear();
    shell.setPlace(c.slug);
    const mine = S.solution(c.slug);
    if (mine !== null) {
      shell.echoHtml('<span class="v v-correct">✔ Solved</span> with <span class="said">' +
        V.textHtml(mine) + '</span>', 'note');
      loadSolutions(c);
    }
    closeList();
  }

  // The status line under the terminal: the key hints, or the last verdict in words (the
  // verdict element is a live region: screen readers announce each new text).
  function hideVerdict() {
    byId('status').className = 'status';
    byId('verdict').textContent = '';
    byId('next').hidden = true;
  }

  function showVerdict(v) {
    byId('status').className = 'status has-verdict verdict-' + v.kind;
    const text = byId('verdict');
    text.replaceChildren(el('strong', { class: 'verdict-head' }, v.headline));
    const more = [v.detail].concat(v.notes).filter(Boolean).join(' ');
    if (more) text.append(' ', el('span', { class: 'verdict-detail' }, more));
  }

  function offerNext(c) {
    const next = byId('next');
    offer = S.nextUnsolved(list, c.slug);
    if (!offer) {
      shell.echoHtml('<span class="v v-correct">Every challenge is solved.</span> ' +
        '<span class="dim">That is all ' + list.length + ' of them: well done.</span>', 'note');
      next.hidden = true;
      return;
    }
    shell.echoHtml('<span class="dim">Press</span> <kbd>Enter</kbd> <span class="dim">for the next ' +
      'challenge:</span> ' + V.escapeHtml(titleOf(offer)), 'note');
    next.textContent = 'Next: ' + titleOf(offer) + ' →';
    next.hidden = false;
  }

  async function judge(c, cmd) {
    let res = await V.run(c.slug, c.version, cmd);
    if (res.status === 409 && res.body && res.body.code === 'stale_version') {
      // The list in this page is older than the server's: take the new one, retry once.
      try {
        await refreshList();
      } catch (e) {
        /* the reply's own "ver" is enough to retry */
      }
      if (typeof res.body.ver === 'number') c.version = res.body.ver;
      res = await V.run(c.slug, c.version, cmd);
    }
    return res;
  }

  async function run(cmd) {
    const c = current;
    offer = null;
    hideVerdict();
    const stop = shell.spinner();
    let res;
    try {
      res = await judge(c, cmd);
    } finally {
      stop();
    }
    if (c !== current) return;
    const v = V.describe(res);
    if (v.output) shell.echoHtml(V.outputHtml(v.output));
    let line = '<span class="v v-' + v.kind + '">' + MARKS[v.kind] + ' ' + V.escapeHtml(v.headline) + '</span>';
    if (v.detail) line += ' ' + V.escapeHtml(v.detail);
    shell.echoHtml(line, 'verdict-line');
    for (const note of v.notes) shell.echoHtml(V.escapeHtml(note), 'note');
    shell.setStatus(v.exitCode);
    showVerdict(v);
    if (v.kind === 'correct') {
      S.markSolved(c.slug, c.version, cmd);
      renderProgress();
      offerNext(c);
      loadSolutions(c);
    }
  }

  async function loadSolutions(c) {
    const box = byId('solutions');
    const res = await V.solutions(c.slug);
    if (c !== current || !S.isSolved(c.slug)) return;
    const sols = res.status === 200 && res.body && Array.isArray(res.body.solutions) ?
      res.body.solutions.filter((s) => typeof s === 'string') : [];
    if (!sols.length) {
      box.hidden = true;
      return;
    }
    const mine = S.solution(c.slug);
    const ol = byId('solutions-list');
    ol.replaceChildren(...sols.map((s) => {
      const li = el('li');
      li.append(el('code', {}, s));
      if (s === mine) li.append(' ', el('span', { class: 'yours' }, 'yours'));
      return li;
    }));
    byId('solutions-summary').textContent = 'Other solutions, shortest first (' + sols.length + ')';
    box.hidden = false;
  }

  // ---- navigation ---------------------------------------------------------------------------

  function slugFromHash() {
    const m = /^#\/(\w*)$/.exec(location.hash);
    return m ? m[1] : null;
  }

  function route() {
    const slug = slugFromHash();
    if (slug === null && current) return;   // not a challenge link (e.g. #terminal)
    let c = list.find((x) => x.slug === slug);
    const unknown = slug && !c;
    if (!c) c = S.nextUnsolved(list, null) || list[0];
    if (!c) return;
    if (location.hash !== '#/' + c.slug) history.replaceState(null, '', '#/' + c.slug);
    show(c);
    if (unknown) shell.echoText('There is no challenge called "' + slug + '": here is the next unsolved one.', 'note');
    shell.focus();
  }

  function go(c) {
    if (location.hash === '#/' + c.slug) route();
    else location.hash = '#/' + c.slug;
  }

  async function refreshList() {
    const fresh = await fetchList(true);
    for (const f of fresh) {
      const old = list.find((c) => c.slug === f.slug);
      if (old) Object.assign(old, f);
    }
  }

  function openList(open) {
    const side = byId('sidebar');
    side.classList.toggle('open', open);
    byId('list-toggle').setAttribute('aria-expanded', String(open));
  }

  function closeList() {
    openList(false);
  }

  function wire() {
    byId('next').addEventListener('click', function () {
      if (offer) go(offer);
    });
    byId('list-toggle').addEventListener('click', function () {
      const open = !byId('sidebar').classList.contains('open');
      openList(open);
      if (open) {
        const here = byId('list').querySelector('[aria-current]') || byId('list').querySelector('a');
        if (here) here.focus();
      }
    });
    byId('sidebar').addEventListener('keydown', function (e) {
      if (e.key === 'Escape' && byId('sidebar').classList.contains('open')) {
        closeList();
        byId('list-toggle').focus();
      }
    });
    byId('skip').addEventListener('click', function (e) {
      e.preventDefault();
      shell.focus(true);
    });
    byId('reset-ask').addEventListener('click', function () {
      const n = S.progress(list).solved;
      byId('reset-question').textContent = 'Forget the ' + n + ' challenge' + (n === 1 ? '' : 's') +
        ' you have solved? This cannot be undone.';
      byId('reset-ask').hidden = true;
      byId('reset-confirm').hidden = false;
      byId('reset-no').focus();
    });
    byId('reset-no').addEventListener('click', function () {
      byId('reset-confirm').hidden = true;
      byId('reset-ask').hidden = false;
      byId('reset-ask').focus();
    });
    byId('reset-yes').addEventListener('click', function () {
      S.reset();
      byId('reset-confirm').hidden = true;
      byId('reset-ask').hidden = false;
      topic = null;
      show(current);
      showVerdict({ kind: 'note', headline: 'Progress reset.', detail: '', notes: [] });
      byId('reset-ask').focus();
    });
    window.addEventListener('hashchange', route);
  }

  async function start() {
    shell = Cmdarena.shell.create(byId('terminal'), {
      run: run,
      emptyEnter: function () {
        if (!offer) return false;
        go(offer);
        return true;
      },
      leave: function () {
        shell.blur();
        byId('title').focus();
      },
      words: function () {
        return current ? current.completions.filter((w) => typeof w === 'string') : [];
      },
    });
    wire();
    try {
      list = await fetchList(false);
    } catch (e) {
      byId('description').replaceChildren(el('p', { class: 'error' },
        'The challenge list could not be loaded (' + e.message + '). Reload the page to try again.'));
      return;
    }
    if (!list.length) {
      byId('description').replaceChildren(el('p', { class: 'error' }, 'There are no challenges yet.'));
      return;
    }
    document.body.classList.add('ready');
    route();
  }

  start();
})();
