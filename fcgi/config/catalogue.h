/*
 * catalogue.h: the challenges, loaded from challenges.yaml (cmdarena-challenges(5)).
 *
 * Loading validates everything up front and reports each mistake as
 * "file:line:col: sentence" (libyaml marks), so a worker never meets a
 * half-valid challenge. The catalogue is immutable once loaded.
 */
#ifndef CMDARENA_CATALOGUE_H
#define CMDARENA_CATALOGUE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "lib/compare.h"
#include "lib/strbuf.h"

/* A named process the runner starts at a fixed pid before setup (YAML field processes). */
struct helper_proc {
	char *name;		/* its argv[0] */
	int pid;
	bool killable;		/* the command may signal it */
};

#define HELPER_MAX 4
#define HELPER_PID_MIN 2
#define HELPER_PID_MAX 1000
#define HELPER_NAME_MAX 64

struct challenge {
	char *slug;
	int version;
	char *dir;		/* always set (defaults to the slug) */
	char *title;		/* disp_title, defaults to the slug */
	char *description;
	char *learn;		/* NULL when none */
	bool disp_learn;
	char *example;
	char **expected_failures;
	size_t n_expected_failures;
	bool has_lines;		/* expected_output.lines given */
	struct expect expect;	/* lines may be empty when !has_lines (options still apply to randomize) */
	char *setup;		/* bash scripts, NULL when absent */
	char *check;
	char *randomize;
	char **tags;
	size_t n_tags;
	char **completions;
	size_t n_completions;
	char **hints;		/* revealed one at a time by the page; at most HINTS_MAX */
	size_t n_hints;
	char **files;		/* names the command starts with (dir/ for a directory), no hidden ones */
	size_t n_files;
	char *author;
	char *emoji;
	bool no_bin;		/* img: cmd-no-bin */
	struct helper_proc *helpers;	/* processes: (NULL when none) */
	size_t n_helpers;
	bool setup_killable;	/* the command may signal setup's processes (a "kill it" task) */
	bool cache_correct;
	bool cache_incorrect;
	unsigned line;		/* 1-based line where the entry starts */
	/*
	 * The challenge's members of every runner request (dir, expected, scripts,
	 * setup_killable, helpers): sandbox.c and audit.c add them to theirs.
	 */
	json_object *runner_spec;
	/* audit_allow: audit strategies (audit_names.h) this challenge rightly accepts, each with a reason */
	char **audit_allow;
	char **audit_allow_reason;
	size_t n_audit_allow;
};

#define HINTS_MAX 6
#define HINT_MAX_BYTES 400
#define FILES_MAX 200		/* names listed per challenge for the page's Tab */

struct catalogue {
	char *dir;		/* the challenges directory */
	char *yaml_path;
	struct challenge *v;	/* in file order */
	size_t n;
	size_t *by_slug;	/* indices into v, sorted by slug */
};

/* Messages from a load: errors make the load fail, warnings do not. */
struct load_report {
	struct strbuf text;	/* one message per line */
	unsigned errors;
	unsigned warnings;
};

/*
 * Load dir/challenges.yaml. Returns 0 (warnings possible) or -1 when any
 * error was found; every message is appended to rep. On failure cat is left
 * empty.
 */
int catalogue_load(struct catalogue *cat, const char *dir, struct load_report *rep);
void catalogue_free(struct catalogue *cat);
const struct challenge *catalogue_find(const struct catalogue *cat, const char *slug);

/* The reason audit_allow gives for strategy, or NULL when the audit must try it. */
const char *challenge_audit_allowed(const struct challenge *c, const char *strategy);

/* The page's view: JSON array of {slug, version, title, ...}, never an answer. */
char *catalogue_public_json(const struct catalogue *cat);

void load_report_free(struct load_report *rep);

/* Is ch one of the n slugs named (every challenge when n is 0)? For tools given slugs to run. */
bool challenge_selected(const struct challenge *ch, char *const *slugs, int n);

#endif
