/*
 * audit_strategy.c: the audit's forgery strategies (audit.h, cmdarena-check(1)).
 *
 * Each strategy is a bash command made from the challenge: its example (spliced in as code, in a
 * subshell, as the catalogue's author wrote it), what the example printed in run 1 and its
 * expected lines (both spliced in as single-quoted words, never as code or a format). A strategy
 * that cannot mean anything on a challenge (programs on cmd-no-bin, files on a challenge no check
 * looks at) is skipped with the reason.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check/audit.h"

int audit_quote(struct strbuf *sb, const char *s, size_t len)
{
	int rc = sb_adds(sb, "'");

	for (size_t i = 0; rc == 0 && i < len; i++) {
		if (s[i] == '\'')
			rc = sb_adds(sb, "'\\''");
		else if (s[i] != '\0')
			rc = sb_add(sb, s + i, 1);
	}
	return rc < 0 ? -1 : sb_adds(sb, "'");
}

/* The example in a subshell: its exit, cd or exec end there; the newline ends a trailing comment. */
static int add_example(struct strbuf *sb, const struct challenge *ch)
{
	return sb_adds(sb, "(\n") | sb_adds(sb, ch->example) | sb_adds(sb, "\n)\n");
}

/*
 * A mark in time, then the example: what it touched (made, changed, moved, chmodded) has a newer
 * ctime than the mark (find -cnewer). The pause outlasts the file system's clock granularity.
 */
#define MARK "/tmp/.cmdarena-audit-mark"
static int add_marked_example(struct strbuf *sb, const struct challenge *ch)
{
	return sb_adds(sb, ": >" MARK "; sleep 0.02\n") | add_example(sb, ch);
}

/* Print exactly what the example printed in run 1. */
static int add_replay(struct strbuf *sb, const struct audit_input *in)
{
	return sb_adds(sb, "printf %s ") | audit_quote(sb, in->run1, in->run1_len) | sb_adds(sb, "\n");
}

static int empty_files(const struct audit_input *in, struct strbuf *sb)
{
	(void)in;
	/* Builtins only (cmd-no-bin too); chmod when there is one, for read-only files. */
	return sb_adds(sb, "command -v chmod >/dev/null && chmod -R u+rwX . 2>/dev/null\n"
	    "shopt -s globstar dotglob nullglob\n"
	    "for f in ./**; do [[ -f $f && ! -L $f ]] && : 2>/dev/null >\"$f\"; done\n"
	    "true\n");
}

static int delete_everything(const struct audit_input *in, struct strbuf *sb)
{
	(void)in;
	return sb_adds(sb, "chmod -R u+rwx . 2>/dev/null\nfind . -mindepth 1 -delete 2>/dev/null\ntrue\n");
}

static int replace_empty(const struct audit_input *in, struct strbuf *sb)
{
	(void)in;
	return sb_adds(sb, "chmod -R u+rwX . 2>/dev/null\n"
	    "find . -type f -print0 | while IFS= read -r -d '' f; do rm -f -- \"$f\" && : >\"$f\"; done\n"
	    "true\n");
}

static int empty_layout(const struct audit_input *in, struct strbuf *sb)
{
	return add_example(sb, in->ch) |
	    sb_adds(sb, "find . -type f ! -perm -u+w -exec chmod u+w -- {} + 2>/dev/null\n"
	    "find . -type f -exec truncate -s 0 -- {} + 2>/dev/null\ntrue\n");
}

static int empty_touched(const struct audit_input *in, struct strbuf *sb)
{
	return add_marked_example(sb, in->ch) |
	    sb_adds(sb, "find . -type f -cnewer " MARK " ! -perm -u+w -exec chmod u+w -- {} + 2>/dev/null\n"
	    "find . -type f -cnewer " MARK " -exec truncate -s 0 -- {} + 2>/dev/null\ntrue\n");
}

static int kill_replay(const struct audit_input *in, struct strbuf *sb)
{
	return sb_adds(sb, "kill -9 -1 2>/dev/null\n") | add_replay(sb, in);
}

static int expected_lines(const struct audit_input *in, struct strbuf *sb)
{
	int rc = sb_adds(sb, "printf '%s\\n'");

	for (size_t i = 0; i < in->ch->expect.n_lines; i++) {
		const char *l = in->ch->expect.lines[i];

		rc |= sb_adds(sb, " ") | audit_quote(sb, l, strlen(l));
	}
	return rc | sb_adds(sb, "\n");
}

/*
 * Run 1 (nothing marked): mark /tmp, $HOME and /dev/shm, kill every process, replay run 1 (a
 * hard-coded answer). A run that finds a mark (state crossed from run 1): print nothing.
 */
static int second_run(const struct audit_input *in, struct strbuf *sb)
{
	return sb_adds(sb, "m=.cmdarena-audit-seen\n"
	    "if [[ -e /tmp/$m || -e $HOME/$m || -e /dev/shm/$m ]]; then\n"
	    ":\n"
	    "else\n"
	    "for d in /tmp \"$HOME\" /dev/shm; do : 2>/dev/null >\"$d/$m\"; done\n"
	    "kill -9 -1 2>/dev/null\n") | add_replay(sb, in) | sb_adds(sb, "fi\n");
}

/*
 * Take every pid the cgroup has left but one (so bash never waits in its fork retry loop), with
 * sleepers in sessions of their own, then replay run 1: a check that runs while they live cannot fork.
 */
static int exhaust_pids(const struct audit_input *in, struct strbuf *sb)
{
	char fallback[32];

	snprintf(fallback, sizeof(fallback), "%d", in->pids_limit > 16 ? in->pids_limit - 12 : 4);
	return sb_adds(sb, "max=; cur=\n"
	    "read -r max </sys/fs/cgroup/pids.max 2>/dev/null; read -r cur </sys/fs/cgroup/pids.current 2>/dev/null\n"
	    "if [[ $max =~ ^[0-9]+$ && $cur =~ ^[0-9]+$ ]]; then n=$((max - cur - 1)); else n=") |
	    sb_adds(sb, fallback) |
	    sb_adds(sb, "; fi\n"
	    "for ((i = 0; i < n; i++)); do setsid sleep 60 </dev/null >/dev/null 2>&1 & done\n") |
	    add_replay(sb, in);
}

/* Do the task, close stdout and stderr, then undo it: a judge that stops looking at EOF is fooled. */
static int close_stdout(const struct audit_input *in, struct strbuf *sb)
{
	return add_example(sb, in->ch) |
	    sb_adds(sb, "exec >&- 2>&- </dev/null\n"
	    "sleep 0.1\n"
	    "chmod -R u+rwx . 2>/dev/null\n"
	    "find . -mindepth 1 -delete 2>/dev/null\n"
	    "printf 'cmdarena-audit\\n' >cmdarena-audit-junk\n");
}

/* Replay run 1, then take every right from everything: a check that cannot read sees nothing wrong. */
static int chmod_blind(const struct audit_input *in, struct strbuf *sb)
{
	return add_replay(sb, in) |
	    sb_adds(sb, "find . -mindepth 1 -depth -exec chmod a-rwx -- {} + 2>/dev/null\nchmod a-rwx . 2>/dev/null\ntrue\n");
}

/* Fill the tmpfs beside the working copy, /tmp and /dev/shm (builtins only), then replay run 1. */
static int fill_tmpfs(const struct audit_input *in, struct strbuf *sb)
{
	return sb_adds(sb, "trap '' XFSZ\n"
	    "s=x; for i in {1..16}; do s=$s$s; done\n"
	    "for d in \"$HOME\" /tmp /dev/shm; do\n"
	    "{ while printf %s \"$s\"; do :; done; } 2>/dev/null >\"$d/.cmdarena-audit-fill\"\n"
	    "done\n") |
	    add_replay(sb, in);
}

/* Do the task, then move each top-level entry holding what it touched to /tmp: a symlink in its place. */
static int symlink_dirs(const struct audit_input *in, struct strbuf *sb)
{
	return add_marked_example(sb, in->ch) |
	    sb_adds(sb, "c=/tmp/.cmdarena-audit-copies; mkdir -p \"$c\"\n"
	    "shopt -s dotglob nullglob\n"
	    "for e in *; do\n"
	    "[ -n \"$(find \"$e\" -cnewer " MARK " -print -quit 2>/dev/null)\" ] || continue\n"
	    "cp -a -- \"$e\" \"$c/\" && chmod -R u+rwx -- \"$e\" 2>/dev/null\n"
	    "rm -rf -- \"$e\" && ln -s -- \"$c/$e\" \"$e\"\n"
	    "done\n"
	    "true\n");
}

/* Do the task, then replace every regular file it touched with a symlink to a copy in /tmp. */
static int symlink_files(const struct audit_input *in, struct strbuf *sb)
{
	return add_marked_example(sb, in->ch) |
	    sb_adds(sb, "c=/tmp/.cmdarena-audit-files\n"
	    "find . -type f -cnewer " MARK " -print0 | while IFS= read -r -d '' f; do\n"
	    "mkdir -p \"$c/${f%/*}\" && cp -a -- \"$f\" \"$c/$f\" && rm -f -- \"$f\" && ln -s -- \"$c/$f\" \"$f\"\n"
	    "done\ntrue\n");
}

static int print_nothing(const struct audit_input *in, struct strbuf *sb)
{
	(void)in;
	return sb_adds(sb, ":\n");
}

static int replay(const struct audit_input *in, struct strbuf *sb)
{
	return add_replay(sb, in) | sb_adds(sb, "exit 0\n");
}

/* Do the task on a copy in /tmp: the right output, the working copy untouched. */
static int example_in_copy(const struct audit_input *in, struct strbuf *sb)
{
	return sb_adds(sb, "w=/tmp/.cmdarena-audit-work/${PWD##*/}\n"
	    "mkdir -p \"$w\" && cp -a . \"$w/\" && cd \"$w\" || exit 1\n") | add_example(sb, in->ch);
}

#define T AUDIT_NEED_TOOLS
#define C AUDIT_NEED_CHECK
#define CH AUDIT_NEED_CHANGE
#define R AUDIT_NEED_RUN1
const struct audit_strategy audit_strategies[] = {
	{ "empty_files", "empty every file of the working copy, hidden ones included", 0, empty_files, NULL },
	{ "delete_everything", "delete everything in the working copy, hidden entries included", T, delete_everything, NULL },
	{ "replace_empty", "replace each file with a new empty file of the same name", T, replace_empty, NULL },
	{ "empty_layout", "run the example, then empty every file it leaves (the expected layout, no content)",
	    T | C | CH | AUDIT_NEED_LEFT_NONEMPTY, empty_layout, NULL },
	{ "empty_touched", "run the example, then empty every file it touched (made, changed, moved, chmodded)",
	    T | C | CH | AUDIT_NEED_NONEMPTY, empty_touched, NULL },
	{ "kill_replay", "kill every process, then print what the example printed in run 1", R, kill_replay, "replay" },
	{ "expected_lines", "print the challenge's expected_output lines verbatim", AUDIT_NEED_LINES, expected_lines, "replay" },
	{ "second_run", "mark /tmp, $HOME and /dev/shm, kill every process and replay run 1; print nothing when a "
	    "mark is found (state crossed from run 1 to run 2)", R, second_run, "replay" },
	{ "exhaust_pids", "leave sleepers holding every pid but one, then replay run 1", T | R, exhaust_pids, "replay" },
	{ "close_stdout", "run the example, close stdout and stderr, then delete everything and leave a junk file",
	    T | C | CH, close_stdout, NULL },
	{ "chmod_blind", "replay run 1, then chmod a-rwx everything (permission blinding)", T | R, chmod_blind, "replay" },
	{ "fill_tmpfs", "fill the tmpfs beside the working copy, /tmp and /dev/shm, then replay run 1", R, fill_tmpfs, "replay" },
	{ "symlink_dirs", "run the example, then move each top-level entry holding what it touched to /tmp, a symlink in its place",
	    T | C | CH | AUDIT_NEED_ENTRIES, symlink_dirs, NULL },
	{ "symlink_files", "run the example, then replace each file it touched with a symlink to a copy in /tmp",
	    T | C | CH | AUDIT_NEED_FILES, symlink_files, NULL },
	{ "print_nothing", "do nothing, print nothing", 0, print_nothing, NULL },
	{ "replay", "print what the example printed in run 1 and exit 0", R, replay, NULL },
	{ "example_in_copy", "run the example on a copy in /tmp, leaving the working copy untouched",
	    T | C | CH, example_in_copy, NULL },
};
#undef T
#undef C
#undef CH
#undef R
const size_t audit_n_strategies = sizeof(audit_strategies) / sizeof(audit_strategies[0]);

/* Why strategy needs cannot be met on this challenge, or NULL. */
static const char *unmet(unsigned needs, const struct audit_input *in)
{
	const struct audit_probe *p = &in->probe;

	if ((needs & AUDIT_NEED_RUN1) && !in->have_run1)
		return "the example's run-1 output is not known";
	if ((needs & AUDIT_NEED_TOOLS) && in->ch->no_bin)
		return "cmd-no-bin: the command has no programs";
	if ((needs & AUDIT_NEED_CHECK) && in->ch->check == NULL)
		return "no check: the files do not decide";
	if ((needs & AUDIT_NEED_LINES) && (!in->ch->has_lines || in->ch->expect.n_lines == 0))
		return "no expected lines";
	if (!p->known)
		return NULL;	/* the probe did not answer: try it rather than trust a guess */
	if ((needs & AUDIT_NEED_CHANGE) && !p->changed)
		return "the example changes no file";
	if ((needs & AUDIT_NEED_ENTRIES) && p->entries == 0)
		return "the example touches nothing it leaves";
	if ((needs & AUDIT_NEED_FILES) && p->files == 0)
		return "the example touches no regular file it leaves";
	if ((needs & AUDIT_NEED_NONEMPTY) && p->nonempty == 0)
		return "the example touches no non-empty file";
	if ((needs & AUDIT_NEED_LEFT_NONEMPTY) && p->left_nonempty == 0)
		return "the example leaves only empty files";
	return NULL;
}

int audit_build(const struct audit_strategy *s, const struct audit_input *in, struct strbuf *cmd, const char **why)
{
	*why = unmet(s->needs, in);
	if (*why)
		return 0;
	sb_reset(cmd);
	if (s->build(in, cmd) != 0)
		return -1;
	if (cmd->len > AUDIT_CMD_MAX) {
		*why = "the command would be longer than the runner takes";
		return 0;
	}
	return 1;
}

int audit_probe_command(const struct challenge *ch, struct strbuf *cmd)
{
	sb_reset(cmd);
	return sb_adds(cmd, "cmdarena_audit_state() {\n"
	    "find . -printf '%P %y %s %m %T@ %l\\n' 2>/dev/null | LC_ALL=C sort | cksum\n"
	    "find . -type f -exec cat -- {} + 2>/dev/null | cksum\n"
	    "}\n"
	    "cmdarena_audit_before=$(cmdarena_audit_state)\n"
	    ": >" MARK "; sleep 0.02\n(\n") | sb_adds(cmd, ch->example) |
	    sb_adds(cmd, "\n) >/dev/null 2>&1 </dev/null\n") |
	    sb_adds(cmd, "cmdarena_audit_after=$(cmdarena_audit_state)\n"
	    "printf 'cmdarena-audit-probe %s %s %s %s %s\\n' "
	    "\"$(find . -mindepth 1 -cnewer " MARK " 2>/dev/null | wc -l)\" "
	    "\"$(find . -type f -cnewer " MARK " 2>/dev/null | wc -l)\" "
	    "\"$(find . -type f -cnewer " MARK " -size +0c 2>/dev/null | wc -l)\" "
	    "\"$(find . -type f -size +0c 2>/dev/null | wc -l)\" "
	    "\"$([[ $cmdarena_audit_before == \"$cmdarena_audit_after\" ]] && echo same || echo changed)\"\n");
}

int audit_parse_probe(const char *out, size_t len, struct audit_probe *p)
{
	static const char tag[] = "cmdarena-audit-probe ";
	const char *s = out, *end = out + len;

	memset(p, 0, sizeof(*p));
	while (s < end) {
		const char *nl = memchr(s, '\n', (size_t)(end - s));
		size_t n = nl ? (size_t)(nl - s) : (size_t)(end - s);
		char line[128], word[16];

		if (n > strlen(tag) && n < sizeof(line) && memcmp(s, tag, strlen(tag)) == 0) {
			memcpy(line, s, n);
			line[n] = '\0';
			if (sscanf(line + strlen(tag), "%ld %ld %ld %ld %15s", &p->entries, &p->files, &p->nonempty,
			    &p->left_nonempty, word) == 5 && p->entries >= 0 && p->files >= 0 && p->nonempty >= 0 &&
			    p->left_nonempty >= 0 &&
			    (strcmp(word, "same") == 0 || strcmp(word, "changed") == 0)) {
				p->changed = strcmp(word, "changed") == 0;
				p->known = true;
				return 0;
			}
		}
		s += n + 1;
	}
	memset(p, 0, sizeof(*p));
	return -1;
}
