/*
 * solutions.c: record and list correct commands (see solutions.h).
 *
 * Two sorted sets per challenge version (keys.h), both bounded by solutions_max:
 *   redis_key_solutions      command -> its length in bytes (shortest first, distinct)
 *   redis_key_solution_uses  command -> how many correct verdicts it earned (most used)
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/utf8.h"
#include "redis/keys.h"
#include "redis/solutions.h"

#define SOLUTIONS_SHOWN 20

/* The set by length (uses false) or by uses of ch's current version. Returns 0, -1 when too long. */
static int set_key(const struct redis_conn *c, const struct challenge *ch, bool uses, char key[REDIS_KEY_MAX])
{
	return uses ? redis_key_solution_uses(key, c->cfg->cache_salt, ch->slug, ch->version) :
	    redis_key_solutions(key, c->cfg->cache_salt, ch->slug, ch->version);
}

int solutions_count(struct redis_conn *c, const struct challenge *ch, const char *cmd, size_t len)
{
	char key[REDIS_KEY_MAX], last[24];

	if (set_key(c, ch, true, key) < 0)
		return -1;
	{
		const char *argv[] = { "ZINCRBY", key, "1", cmd };
		size_t argvlen[] = { 7, strlen(key), 1, len };

		if (redis_conn_do(c, 4, argv, argvlen) < 0)
			return -1;
	}
	{
		/* Bounded: beyond solutions_max, the least used go (ties: the last in byte order stays). */
		const char *argv[] = { "ZREMRANGEBYRANK", key, "0", last };

		snprintf(last, sizeof(last), "%d", -c->cfg->solutions_max - 1);
		redis_conn_do(c, 4, argv, NULL);
	}
	return 0;
}

int solutions_record(struct redis_conn *c, const struct challenge *ch, const char *cmd, size_t len)
{
	char key[REDIS_KEY_MAX], score[24], keep[24];

	if (set_key(c, ch, false, key) < 0)
		return -1;
	snprintf(score, sizeof(score), "%zu", len);
	{
		/* NX: a command already there keeps its place. Equal lengths sort bytewise. */
		const char *argv[] = { "ZADD", key, "NX", score, cmd };
		size_t argvlen[] = { 4, strlen(key), 2, strlen(score), len };

		if (redis_conn_do(c, 5, argv, argvlen) < 0)
			return -1;
	}
	{
		/* Keep the set bounded: drop the longest beyond solutions_max. */
		const char *argv[] = { "ZREMRANGEBYRANK", key, keep, "-1" };

		snprintf(keep, sizeof(keep), "%d", c->cfg->solutions_max);
		redis_conn_do(c, 4, argv, NULL);
	}
	return solutions_count(c, ch, cmd, len);
}

/* A stored command as a JSON string: stored as sent, so invalid UTF-8 shows as U+FFFD. */
static json_object *command_string(const redisReply *e)
{
	json_object *s;
	size_t n;
	char *clean;

	if (e->type != REDIS_REPLY_STRING)
		return NULL;
	clean = utf8_sanitize(e->str, e->len, &n);
	if (clean == NULL)
		return NULL;
	s = json_object_new_string_len(clean, (int)n);
	free(clean);
	return s;
}

/* A WITHSCORES reply's score (a bulk string in RESP2) as a count. */
static long long reply_count(const redisReply *e)
{
	if (e->type == REDIS_REPLY_STRING)
		return strtoll(e->str, NULL, 10);
	if (e->type == REDIS_REPLY_INTEGER)
		return e->integer;
	return 0;
}

/* How many uses each of the shortest commands has: ZMSCORE on the counts. NULL on any failure. */
static redisReply *uses_of(struct redis_conn *c, const char *ckey, const redisReply *shortest)
{
	size_t n = shortest->elements, argc = 0;
	const char **argv = calloc(n + 2, sizeof(*argv));
	size_t *argvlen = calloc(n + 2, sizeof(*argvlen));
	redisReply *r = NULL;

	if (argv == NULL || argvlen == NULL)
		goto out;
	argv[argc] = "ZMSCORE", argvlen[argc++] = 7;
	argv[argc] = ckey, argvlen[argc++] = strlen(ckey);
	for (size_t i = 0; i < n; i++) {
		if (shortest->element[i]->type != REDIS_REPLY_STRING)
			goto out;
		argv[argc] = shortest->element[i]->str, argvlen[argc++] = shortest->element[i]->len;
	}
	r = redis_conn_command(c, (int)argc, argv, argvlen);
	if (r && (r->type != REDIS_REPLY_ARRAY || r->elements != n)) {
		freeReplyObject(r);
		r = NULL;
	}
out:
	free(argv);
	free(argvlen);
	return r;
}

/* "solutions" (strings, as before) and "shortest" ([{cmd, length, uses}]) from the length set. */
static void add_shortest(struct redis_conn *c, json_object *o, const redisReply *r, const char *ckey)
{
	json_object *list = json_object_new_array(), *rich = json_object_new_array();
	redisReply *uses = r->type == REDIS_REPLY_ARRAY && r->elements ? uses_of(c, ckey, r) : NULL;

	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i < r->elements; i++) {
		json_object *s = command_string(r->element[i]), *e;

		if (s == NULL)
			continue;
		json_object_array_add(list, s);
		e = json_object_new_object();
		json_object_object_add(e, "cmd", json_object_get(s));
		json_object_object_add(e, "length", json_object_new_int64((int64_t)r->element[i]->len));
		json_object_object_add(e, "uses", json_object_new_int64(uses ? reply_count(uses->element[i]) : 0));
		json_object_array_add(rich, e);
	}
	if (uses)
		freeReplyObject(uses);
	json_object_object_add(o, "solutions", list);
	json_object_object_add(o, "shortest", rich);
}

/* "most_used" ([{cmd, length, uses}], most first) from the counts set. */
static void add_most_used(json_object *o, const redisReply *r)
{
	json_object *list = json_object_new_array();

	for (size_t i = 0; r->type == REDIS_REPLY_ARRAY && i + 1 < r->elements; i += 2) {
		json_object *s = command_string(r->element[i]), *e;

		if (s == NULL)
			continue;
		e = json_object_new_object();
		json_object_object_add(e, "cmd", s);
		json_object_object_add(e, "length", json_object_new_int64((int64_t)r->element[i]->len));
		json_object_object_add(e, "uses", json_object_new_int64(reply_count(r->element[i + 1])));
		json_object_array_add(list, e);
	}
	json_object_object_add(o, "most_used", list);
}

int solutions_json(struct redis_conn *c, const struct challenge *ch, char **body, size_t *len)
{
	char key[REDIS_KEY_MAX], ckey[REDIS_KEY_MAX], last[16];
	const char *by_len[] = { "ZRANGE", key, "0", last };
	const char *by_use[] = { "ZREVRANGE", ckey, "0", last, "WITHSCORES" };
	redisReply *shortest, *used;
	json_object *o;
	const char *s;

	if (set_key(c, ch, false, key) < 0 || set_key(c, ch, true, ckey) < 0)
		return -1;
	snprintf(last, sizeof(last), "%d", SOLUTIONS_SHOWN - 1);
	shortest = redis_conn_command(c, 4, by_len, NULL);
	if (shortest == NULL)
		return -1;
	used = redis_conn_command(c, 5, by_use, NULL);
	if (used == NULL) {
		freeReplyObject(shortest);
		return -1;
	}
	o = json_object_new_object();
	json_object_object_add(o, "slug", json_object_new_string(ch->slug));
	json_object_object_add(o, "ver", json_object_new_int(ch->version));
	add_shortest(c, o, shortest, ckey);
	add_most_used(o, used);
	freeReplyObject(shortest);
	freeReplyObject(used);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	*body = s ? strndup(s, *len) : NULL;
	json_object_put(o);
	return *body ? 0 : -1;
}
