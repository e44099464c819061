/*
 * yaml_reader.h: the catalogue loader's typed reader of libyaml's node tree. Every value is read
 * by a getter that checks its YAML kind and, when it is wrong, reports "file:line:col: error: ..."
 * into the loader's report; a mapping is read through a table of fields (struct field), the way
 * config.c reads cmdarena.conf. Used by catalogue.c only.
 */
#ifndef CMDARENA_YAML_READER_H
#define CMDARENA_YAML_READER_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "config/catalogue.h"

/* One load of challenges.yaml: where messages go and what they name. */
struct loader {
	const char *file;	/* for messages */
	const char *dir;
	yaml_document_t *doc;
	struct load_report *rep;
};

/* A message at node at (NULL: the file), counted as an error or a warning in ld->rep. */
__attribute__((format(printf, 4, 5)))
void ld_report(struct loader *ld, const yaml_node_t *at, bool error, const char *fmt, ...);
#define ERR(ld, at, ...) ld_report((ld), (at), true, __VA_ARGS__)
#define WARN(ld, at, ...) ld_report((ld), (at), false, __VA_ARGS__)

yaml_node_t *ld_node(struct loader *ld, int index);
/* A scalar node's text. */
const char *node_text(const yaml_node_t *n);
/* Does a plain (unquoted) scalar read as something other than a string in YAML 1.1? */
bool node_is_typed(const yaml_node_t *n);
/* "a string", "a list", "a mapping", "a number, boolean or null": for messages. */
const char *node_kind(const yaml_node_t *n);

/*
 * The getters: read n into *out, or report why not (what names the value) and return -1.
 * A string must not read as a number, boolean or null; a string list may be one string (a
 * list of one), and its items keep unquoted numbers as written ("01" stays "01").
 */
int ld_string(struct loader *ld, const yaml_node_t *n, const char *what, char **out);
int ld_bool(struct loader *ld, const yaml_node_t *n, const char *what, bool *out);
int ld_int(struct loader *ld, const yaml_node_t *n, const char *what, int min, int *out);
int ld_string_list(struct loader *ld, const yaml_node_t *n, const char *what, char ***out, size_t *count);

/* Is pair p's key given before it in map? Then the error is reported (prefix names the mapping). */
bool ld_repeated_key(struct loader *ld, const yaml_node_t *map, const yaml_node_pair_t *p, const char *prefix);

/* How a field's value is read. */
enum field_type {
	FT_STRING,	/* a string: char * at offset */
	FT_INT,		/* an integer from min: int at offset */
	FT_BOOL,	/* true or false: bool at offset */
	FT_LIST,	/* a list of strings: char ** at offset, its count (size_t) at count */
	FT_LOAD,	/* read by its own load(), given the whole target */
	FT_LATER,	/* only its node is kept: the caller reads it once the other fields are known */
	FT_IGNORED,	/* cmdchallenge's, meaning nothing here: a warning */
};

/* One key of a mapping: its type and where its value goes in the target (a challenge, a helper). */
struct field {
	const char *key;
	enum field_type type;
	size_t offset;
	size_t count;		/* FT_LIST */
	int min;		/* FT_INT */
	int (*load)(struct loader *ld, const yaml_node_t *v, void *target);	/* FT_LOAD */
};

#define N_OF(table) (sizeof(table) / sizeof((table)[0]))

/*
 * Read mapping map through the table fields[0..n) into target. found (when not NULL) gets, for each
 * fields[i] given, its value node. A key given twice is an error, a key not in the table a warning;
 * prefix ("" or "expected_output.") names the mapping in both. Returns -1 when a field was refused.
 */
int ld_fields(struct loader *ld, const yaml_node_t *map, const struct field *fields, size_t n,
    const char *prefix, void *target, const yaml_node_t **found);

/* The value node given for key in an ld_fields of that table, or NULL. */
const yaml_node_t *fields_given(const struct field *fields, size_t n, const yaml_node_t *const *found, const char *key);

#endif
