/*
 * solutions.c: record and list correct commands (see solutions.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "solutions.h"
#include "utf8.h"

#define SOLUTIONS_SHOWN 20

static void solutions_key(const struct config *c, const struct challenge *ch, char *key, size_t len)
{
	snprintf(key, len, "cmdarena:sol:%s:%s:%d", c->cache_salt, ch->slug, ch->version);
}

int solutions_record(struct verdict_cache *vc, const struct challenge *ch, const char *cmd, size_t len)
{
	char key[256], score[24], keep[24];
	redisReply *r;

	solutions_key(vc->cfg, ch, key, sizeof(key));
	snprintf(score, sizeof(score), "%zu", len);
	{
		/* NX: a command already there keeps its place. Equal lengths sort bytewise. */
		const char *argv[] = { "ZADD", key, "NX", score, cmd };
		size_t argvlen[] = { 4, strlen(key), 2, strlen(score), len };

		r = vcache_command(vc, 5, argv, argvlen);
		if (r == NULL)
			return -1;
		freeReplyObject(r);
	}
	{
		/* Keep the set bounded: drop the longest beyond solutions_max. */
		const char *argv[] = { "ZREMRANGEBYRANK", key, keep, "-1" };

		snprintf(keep, sizeof(keep), "%d", vc->cfg->solutions_max);
		r = vcache_command(vc, 4, argv, NULL);
		if (r)
			freeReplyObject(r);
	}
	return 0;
}

int solutions_json(struct verdict_cache *vc, const struct challenge *ch, char **body, size_t *len)
{
	char key[256], last[16];
	const char *argv[] = { "ZRANGE", key, "0", last };
	json_object *o, *list;
	redisReply *r;
	const char *s;

	solutions_key(vc->cfg, ch, key, sizeof(key));
	snprintf(last, sizeof(last), "%d", SOLUTIONS_SHOWN - 1);
	r = vcache_command(vc, 4, argv, NULL);
	if (r == NULL)
		return -1;
	o = json_object_new_object();
	list = json_object_new_array();
	json_object_object_add(o, "slug", json_object_new_string(ch->slug));
	json_object_object_add(o, "ver", json_object_new_int(ch->version));
	if (r->type == REDIS_REPLY_ARRAY)
		for (size_t i = 0; i < r->elements; i++) {
			size_t n;
			char *clean;

			if (r->element[i]->type != REDIS_REPLY_STRING)
				continue;
			/* Stored as sent; JSON needs UTF-8, so invalid bytes show as U+FFFD. */
			clean = utf8_sanitize(r->element[i]->str, r->element[i]->len, &n);
			if (clean)
				json_object_array_add(list, json_object_new_string_len(clean, (int)n));
			free(clean);
		}
	json_object_object_add(o, "solutions", list);
	freeReplyObject(r);
	s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, len);
	*body = s ? strndup(s, *len) : NULL;
	json_object_put(o);
	return *body ? 0 : -1;
}
