/*
 * yaml_reader.c: the catalogue loader's typed reader of libyaml's node tree (see yaml_reader.h).
 */
#include <ctype.h>
#include <errno.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/yaml_reader.h"
#include "lib/strbuf.h"

void ld_report(struct loader *ld, const yaml_node_t *at, bool error, const char *fmt, ...)
{
	va_list ap;

	if (at)
		sb_addf(&ld->rep->text, "%s:%lu:%lu: %s: ", ld->file, (unsigned long)at->start_mark.line + 1,
		    (unsigned long)at->start_mark.column + 1, error ? "error" : "warning");
	else
		sb_addf(&ld->rep->text, "%s: %s: ", ld->file, error ? "error" : "warning");
	{
		char msg[1024];

		va_start(ap, fmt);
		vsnprintf(msg, sizeof(msg), fmt, ap);
		va_end(ap);
		sb_adds(&ld->rep->text, msg);
	}
	sb_adds(&ld->rep->text, "\n");
	if (error)
		ld->rep->errors++;
	else
		ld->rep->warnings++;
}

yaml_node_t *ld_node(struct loader *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

const char *node_text(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

bool node_is_typed(const yaml_node_t *n)
{
	static const char *const words[] = {
		"", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE",
		"yes", "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF",
		".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF", ".nan", ".NaN", ".NAN",
	};
	static regex_t number;
	static int compiled;
	const char *s = node_text(n);

	if (n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	if (!compiled) {
		if (regcomp(&number, "^[-+]?(0x[0-9a-fA-F_]+|0o?[0-7_]+|[0-9][0-9_]*(\\.[0-9_]*)?([eE][-+]?[0-9]+)?|\\.[0-9_]+([eE][-+]?[0-9]+)?)$",
		    REG_EXTENDED | REG_NOSUB) != 0)
			return false;
		compiled = 1;
	}
	return regexec(&number, s, 0, NULL, 0) == 0;
}

const char *node_kind(const yaml_node_t *n)
{
	switch (n->type) {
	case YAML_SCALAR_NODE: return node_is_typed(n) ? "a number, boolean or null" : "a string";
	case YAML_SEQUENCE_NODE: return "a list";
	case YAML_MAPPING_NODE: return "a mapping";
	default: return "nothing";
	}
}

/* A string field: a scalar that YAML would not read as a number, boolean or null. */
int ld_string(struct loader *ld, const yaml_node_t *n, const char *what, char **out)
{
	if (n->type != YAML_SCALAR_NODE || node_is_typed(n)) {
		ERR(ld, n, "%s must be a string, not %s%s", what, node_kind(n),
		    n->type == YAML_SCALAR_NODE ? " (quote it)" : "");
		return -1;
	}
	free(*out);
	*out = strndup(node_text(n), n->data.scalar.length);
	return *out ? 0 : -1;
}

int ld_bool(struct loader *ld, const yaml_node_t *n, const char *what, bool *out)
{
	static const char *const yes[] = { "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON" };
	static const char *const no[] = { "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF" };

	if (n->type == YAML_SCALAR_NODE && n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
			if (strcmp(node_text(n), yes[i]) == 0) {
				*out = true;
				return 0;
			}
			if (strcmp(node_text(n), no[i]) == 0) {
				*out = false;
				return 0;
			}
		}
	}
	ERR(ld, n, "%s must be true or false", what);
	return -1;
}

int ld_int(struct loader *ld, const yaml_node_t *n, const char *what, int min, int *out)
{
	const char *s;
	char *end;
	long v;

	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		goto bad;
	s = node_text(n);
	if (!isdigit((unsigned char)s[0]) && !(s[0] == '-' && isdigit((unsigned char)s[1])))
		goto bad;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > 999999999)
		goto bad;
	*out = (int)v;
	return 0;
bad:
	ERR(ld, n, "%s must be an integer from %d to 999999999, not %s", what, min,
	    n->type == YAML_SCALAR_NODE ? "that" : node_kind(n));
	return -1;
}

/* A null in YAML: nothing written, ~ or null. */
static bool node_is_null(const yaml_node_t *n)
{
	const char *s = node_text(n);

	return n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
	    (!strcmp(s, "") || !strcmp(s, "~") || !strcmp(s, "null") || !strcmp(s, "Null") || !strcmp(s, "NULL"));
}

/*
 * An item of a list of strings. cmdchallenge's catalogue writes some unquoted
 * (completions: [01, 08], lines: [1, 2]): a plain number or boolean is taken as
 * the text written, never converted (01 stays "01"). A null is an error, and so
 * is a bare number in place of the whole list (a list of one is a string).
 */
static int ld_list_item(struct loader *ld, const yaml_node_t *n, const char *what, char **out)
{
	if (n->type != YAML_SCALAR_NODE || node_is_null(n))
		return ld_string(ld, n, what, out);
	free(*out);
	*out = strndup(node_text(n), n->data.scalar.length);
	return *out ? 0 : -1;
}

/* A list of strings; a single string is accepted as a list of one. */
int ld_string_list(struct loader *ld, const yaml_node_t *n, const char *what, char ***out, size_t *count)
{
	yaml_node_item_t *it;
	size_t i = 0, cap;
	char **v;
	int rc = 0;

	if (n->type == YAML_SCALAR_NODE && !node_is_typed(n)) {
		v = calloc(2, sizeof(*v));
		if (v == NULL || ld_string(ld, n, what, &v[0]) < 0) {
			free(v);
			return -1;
		}
		*out = v;
		*count = 1;
		return 0;
	}
	if (n->type != YAML_SEQUENCE_NODE) {
		ERR(ld, n, "%s must be a list of strings, not %s", what, node_kind(n));
		return -1;
	}
	cap = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
	v = calloc(cap + 1, sizeof(*v));
	if (v == NULL)
		return -1;
	for (it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++) {
		yaml_node_t *item = ld_node(ld, *it);
		char label[96];

		snprintf(label, sizeof(label), "%s item %zu", what, i + 1);
		if (ld_list_item(ld, item, label, &v[i]) < 0) {
			rc = -1;
			continue;
		}
		i++;
	}
	*out = v;
	*count = i;
	return rc;
}

bool ld_repeated_key(struct loader *ld, const yaml_node_t *map, const yaml_node_pair_t *p, const char *prefix)
{
	yaml_node_t *k = ld_node(ld, p->key);

	for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
		yaml_node_t *k2 = ld_node(ld, q->key);

		if (k2->type == YAML_SCALAR_NODE && !strcmp(node_text(k2), node_text(k))) {
			ERR(ld, k, "field %s%s is given twice (first at line %lu)", prefix, node_text(k),
			    (unsigned long)k2->start_mark.line + 1);
			return true;
		}
	}
	return false;
}

static const struct field *find_field(const struct field *fields, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(fields[i].key, key) == 0)
			return &fields[i];
	return NULL;
}

/* Read v, the value of field f (k its key), into target; what names the field in messages. */
static int ld_field(struct loader *ld, const struct field *f, const yaml_node_t *k, const yaml_node_t *v,
    const char *what, void *target)
{
	void *at = (char *)target + f->offset, *count = (char *)target + f->count;

	switch (f->type) {
	case FT_STRING: return ld_string(ld, v, what, at);
	case FT_INT: return ld_int(ld, v, what, f->min, at);
	case FT_BOOL: return ld_bool(ld, v, what, at);
	case FT_LIST: return ld_string_list(ld, v, what, at, count);
	case FT_LOAD: return f->load(ld, v, target);
	case FT_LATER: return 0;
	case FT_IGNORED:
		WARN(ld, k, "cmdchallenge's field '%s' means nothing here: ignored", f->key);
		return 0;
	}
	return -1;
}

int ld_fields(struct loader *ld, const yaml_node_t *map, const struct field *fields, size_t n,
    const char *prefix, void *target, const yaml_node_t **found)
{
	int rc = 0;

	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = ld_node(ld, p->key), *v = ld_node(ld, p->value);
		const struct field *f;
		char what[96];

		if (k->type != YAML_SCALAR_NODE) {
			ERR(ld, k, "field names must be plain words");
			rc = -1;
			continue;
		}
		if (ld_repeated_key(ld, map, p, prefix)) {
			rc = -1;
			continue;
		}
		if ((f = find_field(fields, n, node_text(k))) == NULL) {
			if (*prefix)
				WARN(ld, k, "unknown field %s%.64s is ignored", prefix, node_text(k));
			else
				WARN(ld, k, "unknown field '%.64s' is ignored", node_text(k));
			continue;
		}
		if (found)
			found[f - fields] = v;
		snprintf(what, sizeof(what), "%s%s", prefix, f->key);
		if (ld_field(ld, f, k, v, what, target) < 0)
			rc = -1;
	}
	return rc;
}

const yaml_node_t *fields_given(const struct field *fields, size_t n, const yaml_node_t *const *found, const char *key)
{
	const struct field *f = find_field(fields, n, key);

	return f ? found[f - fields] : NULL;
}
