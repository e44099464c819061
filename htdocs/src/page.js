// page.js: the page around the terminal: the challenge (title, Markdown description, learn box,
// hints one at a time), the verdict and the golf line, the next challenge, other solutions (after a
// solve, or on giving up), the challenge list with progress, deep links (#/<slug>), moving the
// progress to another browser (#import=<code>), the progress reset and the light/dark theme.
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
  let told = false;       // the one line on how commands run was said in this visit
  const FRESH = 'Each command runs on a fresh copy of the files: a cd, a variable or a file made by ' +
    'one command is gone at the next. Join steps in one line with ; or &&.';

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

  function strings(v) {
    return Array.isArray(v) ? v.filter((w) => typeof w === 'string') : [];
  }

  // Characters as a visitor counts them (code points, not UTF-16 units or bytes).
  function chars(s) {
    return Array.from(s).length;
  }

  async function fetchList(reload) {
    const res = await fetch('challenges.json', { cache: reload ? 'reload' : 'no-cache' });
    if (!res.ok) throw new Error('challenges.json: HTTP ' + res.status);
    const data = await res.json();
    if (!Array.isArray(data)) throw new Error('challenges.json is not a list');
    return data.filter(valid).map((c) => Object.assign({}, c, {
      files: strings(c.files), hints: strings(c.hints) }));
  }

  // ---- progress and the list --------------------------------------------------------------

  function setMeter(fill, solved, total) {
    fill.style.width = (total ? (100 * solved) / total : 0).toFixed(1) + '%';
  }

  function renderProgress() {
    const p = S.progress(list);
    byId('overall-long').textContent = p.solved + ' of ' + p.total + ' solved' +
      (p.revealed ? ' · ' + p.revealed + ' revealed' : '');
    byId('overall-short').textContent = p.solved + '/' + p.total;
    setMeter(byId('overall-fill'), p.solved, p.total);
    byId('reset-ask').disabled = p.solved === 0 && p.revealed === 0;
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
        const revealed = !solved && S.isRevealed(c.slug);
        const a = el('a', { href: '#/' + c.slug, class: 'item' + (solved ? ' solved' : revealed ? ' revealed' : '') });
        if (current && current.slug === c.slug) a.setAttribute('aria-current', 'page');
        a.append(el('span', { class: 'mark', 'aria-hidden': 'true' }, solved ? '✔' : revealed ? '◌' : '○'),
          el('span', { class: 'item-title' }, titleOf(c)),
          el('span', { class: 'visually-hidden' }, solved ? ' (solved)' : revealed ? ' (solutions revealed)' : ''),
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
    else if (S.isRevealed(c.slug)) crumbs.append(el('span', { class: 'crumb-revealed' }, '◌ solutions revealed'));
    byId('title').textContent = titleOf(c);
    byId('description').innerHTML = md.render(c.description);
    const learn = byId('learn');
    learn.hidden = !c.learn;
    learn.open = !!c.disp_learn;
    byId('learn-body').innerHTML = c.learn ? md.render(c.learn) : '';
    hideVerdict();
    byId('solutions').hidden = true;
    byId('solutions').open = false;
    renderHints(c);
    renderProgress();

    shell.clear();
    shell.setPlace(c.slug);
    const mine = S.solution(c.slug);
    if (mine) {
      shell.echoHtml('<span class="v v-correct">✔ Solved</span> with <span class="said">' +
        V.textHtml(mine) + '</span>', 'note');
    } else if (mine === '') {
      shell.echoHtml('<span class="v v-correct">✔ Solved</span> <span class="dim">(in another browser)</span>', 'note');
    }
    byId('giveup-box').hidden = mine !== null || S.isRevealed(c.slug);
    if (mine !== null || S.isRevealed(c.slug)) loadSolutions(c);
    closeList();
  }

  // The status line under the terminal: the key hints, or the last verdict in words (the
  // verdict element is a live region: screen readers announce each new text).
  function hideVerdict() {
    byId('status').className = 'status';
    byId('verdict').textContent = '';
    byId('next').hidden = true;
    byId('golf').hidden = true;
  }

  // ---- hints, one at a time -----------------------------------------------------------------

  function renderHints(c) {
    const box = byId('hints');
    box.hidden = !c.hints.length;
    const taken = Math.min(S.hintsTaken(c.slug), c.hints.length);
    byId('hints-list').replaceChildren(...c.hints.slice(0, taken).map((h) => {
      const li = el('li', { class: 'hint' });
      li.innerHTML = md.renderInline(h);
      return li;
    }));
    const left = c.hints.length - taken;
    const next = byId('hint-next');
    next.hidden = left === 0;
    next.textContent = taken ? 'Another hint' : 'Show a hint';
    byId('hints-left').textContent = left ? left + ' of ' + c.hints.length + ' hint' +
      (c.hints.length === 1 ? '' : 's') + ' left' : 'No hints left.';
  }

  // The `hint` command and the button: the next hint, in the list and in the terminal.
  function takeHint() {
    const c = current;
    if (!c) return;
    if (!c.hints.length) {
      shell.echoText('This challenge has no hints' + (c.learn ? ': open the Learn box above.' : '.'), 'note');
      return;
    }
    const taken = S.hintsTaken(c.slug);
    if (taken >= c.hints.length) {
      shell.echoText('No hints left (all ' + c.hints.length + ' are above the terminal).', 'note');
      return;
    }
    const n = S.takeHint(c.slug);
    renderHints(c);
    shell.echoHtml('<span class="hint-mark">Hint ' + n + ' of ' + c.hints.length + ':</span> ' +
      md.renderInline(c.hints[n - 1]), 'note');
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
    if (cmd.trim() === 'hint') {
      takeHint();
      return;
    }
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
    if (!told && v.output !== null) {
      told = true;
      shell.echoText(FRESH, 'note fresh');
    }
    if (v.kind === 'correct') {
      S.markSolved(c.slug, c.version, cmd);
      byId('giveup-box').hidden = true;
      renderProgress();
      golf(c, cmd, null);
      offerNext(c);
      loadSolutions(c, cmd);
    }
  }

  // After a correct verdict: the command's length, the shortest known (filled in once /s answers)
  // and the personal best, kept in this browser.
  let golfNote = '';

  function golf(c, cmd, shortest) {
    const n = chars(cmd);
    if (shortest === null) {
      const before = S.best(c.slug);
      S.offerBest(c.slug, n);
      golfNote = before === null ? '' : n < before ? ' A new personal best (was ' + before + ')!' :
        ' Your best: ' + before + '.';
    }
    const g = byId('golf');
    g.textContent = 'Your command: ' + n + ' character' + (n === 1 ? '' : 's') + '; shortest known: ' +
      (shortest === null ? '…' : Math.min(shortest, n)) + '.' + golfNote;
    g.hidden = false;
  }

  function solutionItem(e, mine, what) {
    const li = el('li');
    li.append(el('code', {}, e.cmd), ' ', el('span', { class: 'sol-meta' }, what));
    if (e.cmd === mine) li.append(' ', el('span', { class: 'yours' }, 'yours'));
    return li;
  }

  // /s: {solutions: [shortest first], shortest: [{cmd, length, uses}], most_used: [...]}; an
  // older server has only `solutions`.
  async function loadSolutions(c, justSolved) {
    const box = byId('solutions');
    const res = await V.solutions(c.slug);
    if (c !== current || !(S.isSolved(c.slug) || S.isRevealed(c.slug))) return;
    const b = res.status === 200 && res.body ? res.body : {};
    const entries = (l) => (Array.isArray(l) ? l : []).filter((e) => e && typeof e.cmd === 'string');
    let shortest = entries(b.shortest);
    if (!shortest.length && Array.isArray(b.solutions))
      shortest = b.solutions.filter((x) => typeof x === 'string').map((x) => ({ cmd: x }));
    const used = entries(b.most_used);
    const known = shortest.length ? Math.min(...shortest.map((e) => chars(e.cmd))) : null;
    if (justSolved && c === current) golf(c, justSolved, known === null ? chars(justSolved) : known);
    if (!shortest.length) {
      box.hidden = !S.isRevealed(c.slug) || S.isSolved(c.slug);
      byId('solutions-summary').textContent = 'Nobody has solved it yet: no solutions to show.';
      byId('solutions-list').replaceChildren();
      byId('solutions-used').replaceChildren();
      return;
    }
    const mine = S.solution(c.slug);
    const times = (n) => (Number.isInteger(n) && n > 0 ? n + (n === 1 ? ' solve' : ' solves') : '');
    byId('solutions-list').replaceChildren(...shortest.map((e) =>
      solutionItem(e, mine, chars(e.cmd) + ' chars')));
    byId('solutions-used').replaceChildren(...(used.length ? used : shortest).map((e) =>
      solutionItem(e, mine, times(e.uses))));
    byId('solutions-summary').textContent = 'Other solutions: most used and shortest (' + shortest.length + ')';
    box.hidden = false;
  }

  // Giving up: the challenge is marked revealed (not solved) and the solutions open.
  function giveUp() {
    const c = current;
    if (!c || S.isSolved(c.slug)) return;
    S.markRevealed(c.slug);
    byId('giveup-box').hidden = true;
    show(c);
    byId('solutions').open = true;
    showVerdict({ kind: 'note', headline: 'Solutions revealed.', detail: 'This challenge counts as revealed, not solved; ' +
      'solve it yourself to count it.', notes: [] });
    const sum = byId('solutions-summary');
    sum.focus();
  }

  // ---- navigation ---------------------------------------------------------------------------

  function slugFromHash() {
    const m = /^#\/(\w*)$/.exec(location.hash);
    return m ? m[1] : null;
  }

  function route() {
    const code = /^#import=(.*)$/.exec(location.hash);
    let imported = null;
    if (code) {
      history.replaceState(null, '', current ? '#/' + current.slug : '#/');
      let text = code[1];
      try {
        text = decodeURIComponent(text);
      } catch (e) {
        /* judged as it is */
      }
      imported = importProgress(text);
      if (current) return;
    }
    const slug = slugFromHash();
    if (slug === null && current) return;   // not a challenge link (e.g. #terminal)
    let c = list.find((x) => x.slug === slug);
    const unknown = slug && !c;
    if (!c) c = S.nextUnsolved(list, null) || list[0];
    if (!c) return;
    if (location.hash !== '#/' + c.slug) history.replaceState(null, '', '#/' + c.slug);
    show(c);
    if (imported) sayImport(imported);
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

  // ---- progress to another browser ------------------------------------------------------------

  function exportProgress() {
    const code = S.exportCode();
    byId('export-code').value = code;
    byId('export-link').href = location.origin + location.pathname + '#import=' + code;
    byId('export-link').textContent = 'A link that carries it';
    byId('export-box').hidden = false;
    byId('export-code').focus();
    byId('export-code').select();
  }

  function importProgress(code) {
    const r = S.importCode(code);
    const msg = byId('import-msg');
    msg.className = 'import-msg ' + (r.ok ? 'ok' : 'error');
    r.said = r.ok ? r.solved + ' solved and ' + r.revealed + ' revealed.' : r.error;
    msg.textContent = r.ok ? 'Imported: ' + r.said : r.said;
    if (r.ok) byId('import-code').value = '';
    if (r.ok && current) show(current);
    if (current) sayImport(r);
    return r;
  }

  function sayImport(r) {
    showVerdict(r.ok ? { kind: 'note', headline: 'Progress imported:', detail: r.said, notes: [] } :
      { kind: 'refused', headline: 'Not imported.', detail: r.said, notes: [] });
  }

  // ---- the theme: the system's, unless the visitor chose ------------------------------------------

  const THEME_KEY = 'cmdarena.theme';
  const systemLight = window.matchMedia ? window.matchMedia('(prefers-color-scheme: light)') : null;

  function theme() {
    let t = null;
    try {
      t = localStorage.getItem(THEME_KEY);
    } catch (e) {
      /* no storage: the system's */
    }
    return t === 'light' || t === 'dark' ? t : systemLight && systemLight.matches ? 'light' : 'dark';
  }

  function applyTheme(t) {
    document.documentElement.dataset.theme = t;
    const b = byId('theme');
    b.setAttribute('aria-pressed', String(t === 'light'));
    b.title = t === 'light' ? 'Light theme (press for dark)' : 'Dark theme (press for light)';
  }

  function wire() {
    applyTheme(theme());
    if (systemLight && systemLight.addEventListener) systemLight.addEventListener('change', () => applyTheme(theme()));
    byId('theme').addEventListener('click', function () {
      const t = theme() === 'light' ? 'dark' : 'light';
      try {
        localStorage.setItem(THEME_KEY, t);
      } catch (e) {
        /* kept for this page only */
      }
      applyTheme(t);
    });
    byId('hint-next').addEventListener('click', takeHint);
    byId('giveup').addEventListener('click', giveUp);
    byId('export').addEventListener('click', exportProgress);
    byId('import').addEventListener('click', function () {
      importProgress(byId('import-code').value);
    });
    byId('import-code').addEventListener('keydown', function (e) {
      if (e.key === 'Enter') importProgress(byId('import-code').value);
    });
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
        ' you have solved, what you revealed and your bests? This cannot be undone.';
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
      tabOut: function (dir) {
        const term = byId('terminal');
        const all = Array.from(document.querySelectorAll('a[href], button, input, summary, [tabindex]'))
          .filter((e) => !term.contains(e) && e.tabIndex >= 0 && !e.disabled && e.getClientRects().length > 0);
        const after = all.filter((e) => term.compareDocumentPosition(e) & Node.DOCUMENT_POSITION_FOLLOWING);
        const to = dir > 0 ? after[0] : all[all.length - after.length - 1];
        if (!to) return;
        shell.blur();
        to.focus();
      },
      words: function () {
        const sh = Cmdarena.shell;
        if (!current) return { files: [], commands: [] };
        const cmds = current.img === 'cmd-no-bin' ? sh.BUILTINS : sh.BUILTINS.concat(sh.PROGRAMS);
        return { files: current.files, commands: cmds.concat(['hint']) };
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
