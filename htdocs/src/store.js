// store.js: the visitor's progress (solved and revealed challenges, golf bests, hints taken; in
// localStorage) and what follows from it over the catalogue: counts per track and topic, the next
// unsolved challenge, and the progress as a short code to carry to another browser.
'use strict';
window.Cmdarena = window.Cmdarena || {};

Cmdarena.store = (function () {
  const KEY = 'cmdarena.progress.v1';
  const TRACKS = ['beginner', 'intermediate', 'advanced'];
  const CODE_PREFIX = 'CA1-';       // version 1 of the export code
  const SLUG = /^\w{1,64}$/;
  const has = (o, k) => Object.prototype.hasOwnProperty.call(o, k);

  // localStorage can be missing or refuse writes (private windows, full quota): progress then
  // lives as long as the page.
  let memory = blank();

  function blank() {
    return { solved: {}, revealed: {}, best: {}, hints: {} };
  }

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  // Older progress has only `solved`: the other maps start empty.
  function complete(o) {
    for (const k of ['revealed', 'best', 'hints'])
      if (!o[k] || typeof o[k] !== 'object') o[k] = {};
    return o;
  }

  function load() {
    const ls = storage();
    if (!ls) return memory;
    try {
      const o = JSON.parse(ls.getItem(KEY) || 'null');
      if (o && typeof o === 'object' && o.solved && typeof o.solved === 'object') return complete(o);
    } catch (e) {
      /* unreadable: start afresh */
    }
    return blank();
  }

  function save(o) {
    memory = o;
    const ls = storage();
    if (!ls) return;
    try {
      ls.setItem(KEY, JSON.stringify(o));
    } catch (e) {
      /* quota or denied: keep it in memory */
    }
  }

  function isSolved(slug) {
    return has(load().solved, slug);
  }

  function isRevealed(slug) {
    return has(load().revealed, slug);
  }

  function markSolved(slug, ver, cmd) {
    const o = load();
    if (!o.solved[slug] || typeof o.solved[slug].cmd !== 'string') o.solved[slug] = { ver: ver, cmd: cmd, at: Date.now() };
    save(o);
  }

  function markRevealed(slug) {
    const o = load();
    o.revealed[slug] = 1;
    save(o);
  }

  // The command a challenge was solved with here; '' when solved in another browser (imported).
  function solution(slug) {
    const s = load().solved[slug];
    return s ? (typeof s.cmd === 'string' ? s.cmd : '') : null;
  }

  function best(slug) {
    const b = load().best[slug];
    return Number.isInteger(b) && b > 0 ? b : null;
  }

  // Keep the shorter; returns true when n is a new personal best.
  function offerBest(slug, n) {
    const o = load();
    const old = best(slug);
    if (old !== null && old <= n) return false;
    o.best[slug] = n;
    save(o);
    return true;
  }

  function hintsTaken(slug) {
    const n = load().hints[slug];
    return Number.isInteger(n) && n > 0 ? n : 0;
  }

  function takeHint(slug) {
    const o = load();
    o.hints[slug] = hintsTaken(slug) + 1;
    save(o);
    return o.hints[slug];
  }

  function reset() {
    save(blank());
  }

  // ---- the export code: CA1-<base64url of {s,r,b}>-<check> ------------------------------------

  function check(text) {
    let h = 2166136261;
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 16777619) >>> 0;
    return h.toString(36).slice(-4).padStart(4, '0');
  }

  function b64url(text) {
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }

  function unb64url(s) {
    return atob(s.replace(/-/g, '+').replace(/_/g, '/'));
  }

  // Slugs are ASCII words, bests small numbers: the JSON is ASCII, so btoa takes it as is.
  function exportCode() {
    const o = load();
    const body = JSON.stringify({ s: Object.keys(o.solved).filter((k) => SLUG.test(k)),
      r: Object.keys(o.revealed).filter((k) => SLUG.test(k)), b: o.best });
    const data = b64url(body);
    return CODE_PREFIX + data + '-' + check(data);
  }

  function invalid(why) {
    return { ok: false, error: 'That is not a progress code from this site (' + why + '). ' +
      'Copy the whole code, starting with ' + CODE_PREFIX + ', and try again.' };
  }

  // {ok, solved, revealed} or {ok: false, error}. The code adds to the progress here (a challenge
  // solved in either browser stays solved; the shorter best wins); nothing is taken away.
  function importCode(code) {
    const c = String(code || '').trim();
    const m = /^CA(\d+)-([A-Za-z0-9_-]+)-([0-9a-z]{4})$/.exec(c);
    if (!m) return invalid(c ? 'it does not have the shape CA1-…-xxxx' : 'it is empty');
    if (m[1] !== '1') return { ok: false, error: 'This code was made by a newer version of the page (CA' + m[1] + '); reload the page and try again.' };
    if (check(m[2]) !== m[3]) return invalid('its last four characters do not match the rest: a character was lost or changed');
    let d;
    try {
      d = JSON.parse(unb64url(m[2]));
    } catch (e) {
      return invalid('it cannot be decoded');
    }
    const okList = (l) => Array.isArray(l) && l.every((s) => typeof s === 'string' && SLUG.test(s));
    if (!d || typeof d !== 'object' || !okList(d.s) || !okList(d.r) || !d.b || typeof d.b !== 'object' ||
      !Object.keys(d.b).every((k) => SLUG.test(k) && Number.isInteger(d.b[k]) && d.b[k] > 0))
      return invalid('its contents are not progress');
    const o = load();
    for (const s of d.s) if (!has(o.solved, s)) o.solved[s] = { ver: null, cmd: null, at: Date.now() };
    for (const s of d.r) o.revealed[s] = 1;
    for (const k of Object.keys(d.b)) {
      const mine = best(k);
      if (mine === null || d.b[k] < mine) o.best[k] = d.b[k];
    }
    save(o);
    return { ok: true, solved: d.s.length, revealed: d.r.length };
  }

  function trackOf(ch) {
    return TRACKS.find((t) => ch.tags.indexOf(t) >= 0) || 'other';
  }

  function topicsOf(ch) {
    return ch.tags.filter((t) => TRACKS.indexOf(t) < 0);
  }

  // {solved, revealed, total, tracks: [{name, solved, total}], topics: [...]} in catalogue order.
  // A challenge given up on counts as revealed, not solved, until it is solved too.
  function progress(list) {
    const tracks = new Map(TRACKS.map((t) => [t, { name: t, solved: 0, total: 0 }]));
    const topics = new Map();
    let solved = 0;
    let revealed = 0;
    for (const ch of list) {
      const done = isSolved(ch.slug) ? 1 : 0;
      solved += done;
      revealed += !done && isRevealed(ch.slug) ? 1 : 0;
      const t = trackOf(ch);
      if (!tracks.has(t)) tracks.set(t, { name: t, solved: 0, total: 0 });
      tracks.get(t).solved += done;
      tracks.get(t).total += 1;
      for (const tag of topicsOf(ch)) {
        if (!topics.has(tag)) topics.set(tag, { name: tag, solved: 0, total: 0 });
        topics.get(tag).solved += done;
        topics.get(tag).total += 1;
      }
    }
    return {
      solved: solved,
      revealed: revealed,
      total: list.length,
      tracks: Array.from(tracks.values()).filter((t) => t.total > 0),
      topics: Array.from(topics.values()),
    };
  }

  // The first unsolved challenge after `slug` in catalogue order, wrapping round; null when all
  // are solved. Without a slug: the first unsolved of all.
  function nextUnsolved(list, slug) {
    const at = list.findIndex((c) => c.slug === slug);
    for (let i = 1; i <= list.length; i++) {
      const c = list[(at + i + list.length) % list.length];
      if (c.slug !== slug && !isSolved(c.slug)) return c;
    }
    return null;
  }

  return {
    TRACKS: TRACKS,
    isSolved: isSolved,
    isRevealed: isRevealed,
    markSolved: markSolved,
    markRevealed: markRevealed,
    solution: solution,
    best: best,
    offerBest: offerBest,
    hintsTaken: hintsTaken,
    takeHint: takeHint,
    exportCode: exportCode,
    importCode: importCode,
    reset: reset,
    trackOf: trackOf,
    topicsOf: topicsOf,
    progress: progress,
    nextUnsolved: nextUnsolved,
  };
})();
