// shell.js: the terminal (jquery.terminal) as the page uses it: a prompt that shows the last exit
// status, history kept in localStorage, Ctrl-R, Tab completion, Ctrl-L and `clear`, a spinner.
//
// Everything echoed is markup built here from constants and escaped text (raw: true): output never
// passes through jquery.terminal's formatting, so a `[[ ... ]]` in it is shown, not executed.
'use strict';
window.Cmdarena = window.Cmdarena || {};

Cmdarena.shell = (function () {
  const esc = Cmdarena.verdict.escapeHtml;

  // The commands Tab offers where a command goes: what the sandbox image has that a challenge
  // may use, and bash's builtins (alone on a cmd-no-bin challenge, where nothing else runs).
  const BUILTINS = [
    'cd', 'declare', 'echo', 'exec', 'export', 'for', 'if', 'let', 'local', 'mapfile', 'printf',
    'read', 'readarray', 'set', 'shopt', 'source', 'test', 'type', 'unset', 'until', 'while',
  ];
  const PROGRAMS = [
    'awk', 'base64', 'basename', 'bc', 'cat', 'chmod', 'column', 'comm', 'cp', 'cut', 'date',
    'diff', 'dirname', 'du', 'env', 'expr', 'file', 'find', 'fold', 'grep', 'gunzip', 'gzip', 'head',
    'jq', 'join', 'kill', 'less', 'ln', 'ls', 'md5sum', 'mkdir', 'mv', 'nl', 'numfmt', 'od',
    'paste', 'pgrep', 'pkill', 'ps', 'pwd', 'realpath', 'rename', 'rev', 'rm', 'rmdir', 'sed',
    'seq', 'sha256sum', 'shuf', 'sleep', 'sort', 'split', 'stat', 'tac', 'tail', 'tar', 'tee',
    'touch', 'tr', 'tree', 'uniq', 'wc', 'xargs', 'xxd', 'zcat',
  ];
  // What may stand before a command: the start, a pipe, a list operator, a subshell.
  const COMMAND_POSITION = /(^|[|;&(`{]|\$\(|\b(then|do|else|xargs|time|sudo|exec))\s*$/;
  const SPINNER = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
  const still = window.matchMedia && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  // Touch screens type into a contenteditable field (what jquery.terminal's touch handling
  // expects); it must be said explicitly, or the terminal and its command line disagree.
  const touch = navigator.maxTouchPoints > 0 || 'ontouchstart' in window;

  // hooks: run(cmd) -> Promise (the terminal waits for it), emptyEnter() -> true when it used
  // an Enter on an empty line, leave() when Esc is pressed, tabOut(±1) for Tab on an empty line, words() -> {files, commands} for Tab.
  function create(el, hooks) {
    let where = '';
    let status = null;  // exit code of the last command; null before the first

    function prompt() {
      const mark = status === null ? 'p-idle' : status === 0 ? 'p-ok' : 'p-fail';
      const code = status ? '[[;;;p-code]' + status + '] ' : '';
      return code + '[[;;;p-where]' + where + '] [[;;;' + mark + ']$] ';
    }

    const term = $(el).terminal(function (command) {
      if (!command.trim()) return undefined;
      return hooks.run(command);
    }, {
      name: 'cmdarena',
      greetings: false,
      prompt: function (set) { set(prompt()); },
      history: true,
      historySize: 500,
      exit: false,              // `exit 3` is a bash command like any other
      clear: true,              // `clear` empties the screen here
      checkArity: false,
      convertLinks: false,
      tabindex: 0,
      enabled: !touch,          // on a touch screen the first tap opens the keyboard
      inputStyle: touch ? 'contenteditable' : 'textarea',
      outputLimit: 3000,
      // No bottom marker: it is drawn with an inline style, which the page's CSP refuses; the
      // terminal scrolls to the end on every echo anyway (scrollOnEcho).
      scrollBottomOffset: -1,
      // Like bash: a word where a command goes completes command names (and paths, once it has
      // a /); any other word completes the names of the files the challenge starts with.
      completion: function (word, done) {
        const before = this.before_cursor(false);
        const head = before.slice(0, before.length - word.length);
        const own = hooks.words();
        const words = !COMMAND_POSITION.test(head) ? own.files :
          own.commands.concat(word.indexOf('/') >= 0 ? own.files : []);
        done(Array.from(new Set(words)).sort());
      },
      keymap: {
        ENTER: function (e, original) {
          if (!this.get_command().trim() && hooks.emptyEnter()) return false;
          return original(e);
        },
        ESCAPE: function () {
          hooks.leave();
          return false;
        },
        // Tab on an empty line has nothing to complete: it moves on, as anywhere else on the page
        // (without it, a keyboard could never get past the terminal); Shift-Tab moves back.
        TAB: function (e, original) {
          if (this.get_command().trim()) return original(e);
          hooks.tabOut(1);
          return false;
        },
        'SHIFT+TAB': function () {
          hooks.tabOut(-1);
          return false;
        },
      },
    });

    // The hidden field that takes the keys is what assistive technology meets: name it.
    term.find('textarea, .cmd-editable').attr('aria-label', 'Command: type a shell command, Enter runs it');
    term.find('label.visually-hidden').text('Command');

    // jquery.terminal enables itself on click; make keyboard focus (Tab) do the same, and let
    // focus leaving it stop it from taking keys meant for the rest of the page.
    el.addEventListener('focusin', function () {
      if (!term.enabled()) term.focus();
    });
    el.addEventListener('focusout', function (e) {
      if (e.relatedTarget && !el.contains(e.relatedTarget)) term.focus(false);
    });

    function echoHtml(html, cls) {
      term.echo('<span class="' + (cls || 'out') + '">' + html + '</span>', { raw: true });
    }

    function spinner() {
      echoHtml('<span class="spin-glyph" aria-hidden="true">' + SPINNER[0] +
        '</span> running in a fresh sandbox…', 'spin');
      const line = term.last_index();
      let i = 0;
      const timer = still ? null : setInterval(function () {
        i = (i + 1) % SPINNER.length;
        const g = term.find('.spin-glyph').last();
        if (g.length) g.text(SPINNER[i]);
      }, 80);
      return function stop() {
        if (timer) clearInterval(timer);
        if (term.last_index() >= line) term.remove_line(line);
      };
    }

    return {
      term: term,
      setPlace: function (slug) {
        where = slug;
        status = null;
        term.set_prompt(prompt);
      },
      setStatus: function (code) {
        status = typeof code === 'number' ? code : status;
        term.set_prompt(prompt);
      },
      clear: function () { term.clear(); },
      echoText: function (text, cls) { echoHtml(esc(text), cls); },
      echoHtml: echoHtml,
      spinner: spinner,
      // Focus without a user's gesture: not on touch screens, where the tap that follows would
      // toggle the keyboard shut.
      focus: function (gesture) {
        if (!touch || gesture) term.focus();
      },
      blur: function () { term.focus(false); },
      typed: function () { return term.get_command(); },
      history: function () { return term.history().data(); },
    };
  }

  return { create: create, BUILTINS: BUILTINS, PROGRAMS: PROGRAMS };
})();
