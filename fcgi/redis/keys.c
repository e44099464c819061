/*
 * keys.c: the Redis key builder (see keys.h for every key's shape).
 */
#include <stdarg.h>
#include <stdio.h>

#include "lib/sha256.h"
#include "redis/keys.h"

__attribute__((format(printf, 2, 3)))
static int build(char key[REDIS_KEY_MAX], const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(key, REDIS_KEY_MAX, fmt, ap);
	va_end(ap);
	if (n < 0 || n >= REDIS_KEY_MAX) {
		key[0] = '\0';
		return -1;
	}
	return 0;
}

int redis_key_verdict(char key[REDIS_KEY_MAX], const char *salt, const char *slug, int ver, const char *cmd,
    size_t len)
{
	char hex[65];

	sha256_hex(cmd, len, hex);
	return build(key, "cmdarena:v:%s:%s:%d:%s", salt, slug, ver, hex);
}

int redis_key_lock(char key[REDIS_KEY_MAX], const char *verdict_key)
{
	return build(key, "%s:lock", verdict_key);
}

int redis_key_bucket(char key[REDIS_KEY_MAX], const char *client)
{
	return build(key, "cmdarena:rl:%s", client);
}

int redis_key_solutions(char key[REDIS_KEY_MAX], const char *salt, const char *slug, int ver)
{
	return build(key, "cmdarena:sol:%s:%s:%d", salt, slug, ver);
}

int redis_key_solution_uses(char key[REDIS_KEY_MAX], const char *salt, const char *slug, int ver)
{
	return build(key, "cmdarena:solc:%s:%s:%d", salt, slug, ver);
}
