// store.js: the visitor's progress (solved challenges, in localStorage) and what follows from it
// over the catalogue: counts per track and topic, the next unsolved challenge.
'use strict';
window.Cmdarena = window.Cmdarena || {};

Cmdarena.store = (function () {
  const KEY = 'cmdarena.progress.v1';
  const TRACKS = ['beginner', 'intermediate', 'advanced'];

  // localStorage can be missing or refuse writes (private windows, full quota): progress then
  // lives as long as the page.
  let memory = { solved: {} };

  function storage() {
    try {
      return window.localStorage;
    } catch (e) {
      return null;
    }
  }

  function load() {
    const ls = storage();
    if (!ls) return memory;
    try {
      const o = JSON.parse(ls.getItem(KEY) || 'null');
      if (o && typeof o === 'object' && o.solved && typeof o.solved === 'object') return o;
    } catch (e) {
      /* unreadable: start afresh */
    }
    return { solved: {} };
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
    return Object.prototype.hasOwnProperty.call(load().solved, slug);
  }

  function markSolved(slug, ver, cmd) {
    const o = load();
    if (!o.solved[slug]) o.solved[slug] = { ver: ver, cmd: cmd, at: Date.now() };
    save(o);
  }

  function solution(slug) {
    const s = load().solved[slug];
    return s ? s.cmd : null;
  }

  function reset() {
    save({ solved: {} });
  }

  function trackOf(ch) {
    return TRACKS.find((t) => ch.tags.indexOf(t) >= 0) || 'other';
  }

  function topicsOf(ch) {
    return ch.tags.filter((t) => TRACKS.indexOf(t) < 0);
  }

  // {solved, total, tracks: [{name, solved, total}], topics: [...]} in catalogue order.
  function progress(list) {
    const tracks = new Map(TRACKS.map((t) => [t, { name: t, solved: 0, total: 0 }]));
    const topics = new Map();
    let solved = 0;
    for (const ch of list) {
      const done = isSolved(ch.slug) ? 1 : 0;
      solved += done;
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
    markSolved: markSolved,
    solution: solution,
    reset: reset,
    trackOf: trackOf,
    topicsOf: topicsOf,
    progress: progress,
    nextUnsolved: nextUnsolved,
  };
})();
