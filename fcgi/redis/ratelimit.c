/*
 * ratelimit.c: a client's token bucket in Redis (see ratelimit.h; the script is in scripts.c).
 */
#include <stdio.h>

#include "redis/keys.h"
#include "redis/ratelimit.h"
#include "redis/scripts.h"

int redis_bucket_take(struct redis_conn *c, const char *client, int *retry_after_s)
{
	const struct config *cfg = c->cfg;
	char key[REDIS_KEY_MAX], rate[32], burst[16];
	const char *argv[] = { key, rate, burst };
	redisReply *r;
	int result = -1;

	if (cfg->rate_limit_count <= 0)
		return 1;
	if (redis_key_bucket(key, client) < 0)
		return -1;
	snprintf(rate, sizeof(rate), "%.6f", (double)cfg->rate_limit_count / cfg->rate_limit_window_s);
	snprintf(burst, sizeof(burst), "%d", cfg->rate_limit_burst);
	r = redis_script_run(c, REDIS_SCRIPT_BUCKET, 1, 3, argv);
	if (r == NULL)
		return -1;
	if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 && r->element[0]->type == REDIS_REPLY_INTEGER) {
		result = r->element[0]->integer == 1;
		*retry_after_s = r->element[1]->type == REDIS_REPLY_INTEGER ? (int)r->element[1]->integer : 1;
		if (*retry_after_s < 1)
			*retry_after_s = 1;
	}
	freeReplyObject(r);
	return result;
}
