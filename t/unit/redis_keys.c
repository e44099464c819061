/* redis_keys.c: the Redis key builder: each key's shape, distinct inputs give distinct keys, the command hashed. */
#include <stdbool.h>
#include <string.h>

#include "redis/keys.h"
#include "tap.h"

static char keys[16][REDIS_KEY_MAX];

static bool all_distinct(int n)
{
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(keys[i], keys[j]) == 0) {
				diag("keys %d and %d are both %s", i, j, keys[i]);
				return false;
			}
	return true;
}

/* The longest parts the config (cache_salt) and the query (slug, ver) accept. */
static void longest(void)
{
	char salt[65], slug[65], key[REDIS_KEY_MAX], lock[REDIS_KEY_MAX];

	memset(salt, 's', 64), salt[64] = '\0';
	memset(slug, 'x', 64), slug[64] = '\0';
	is_int(redis_key_verdict(key, salt, slug, 999999999, "ls", 2), 0, "the longest verdict key fits");
	is_int(redis_key_lock(lock, key), 0, "and its lock key");
	is_int((long)strlen(lock), 11 + 64 + 1 + 64 + 1 + 9 + 1 + 64 + 5, "whole: %zu bytes", strlen(lock));
	is_int(redis_key_solution_uses(key, salt, slug, 999999999), 0, "the longest solutions key fits");
}

static void too_long(void)
{
	char slug[300], key[REDIS_KEY_MAX];

	memset(slug, 'x', sizeof(slug) - 1), slug[sizeof(slug) - 1] = '\0';
	key[0] = 'K';
	is_int(redis_key_verdict(key, "", slug, 1, "ls", 2), -1, "a key that cannot fit is refused...");
	is_str(key, "", "...and left empty, never truncated");
	is_int(redis_key_solutions(key, "", slug, 1), -1, "a solutions key too");
}

int main(void)
{
	char lock[REDIS_KEY_MAX];
	const char *nasty = "echo hi:lock\n cmdarena:v:* %s";

	/* The shapes the tests, nginx's operators and existing caches know (t0700, t0600, t0716). */
	redis_key_verdict(keys[0], "", "hello_world", 1, "abc", 3);
	is_str(keys[0], "cmdarena:v::hello_world:1:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
	    "a verdict: salt, slug, version, the command's SHA-256");
	redis_key_lock(lock, keys[0]);
	is_str(lock, "cmdarena:v::hello_world:1:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad:lock",
	    "its lock: the verdict key and :lock");
	redis_key_bucket(keys[1], "192.0.2.1");
	is_str(keys[1], "cmdarena:rl:192.0.2.1", "a client's bucket");
	redis_key_bucket(keys[2], "2001:db8:1:2::/64");
	is_str(keys[2], "cmdarena:rl:2001:db8:1:2::/64", "an IPv6 client's bucket (its /64)");
	redis_key_solutions(keys[3], "", "hello_world", 1);
	is_str(keys[3], "cmdarena:sol::hello_world:1", "solutions by length");
	redis_key_solution_uses(keys[4], "", "hello_world", 1);
	is_str(keys[4], "cmdarena:solc::hello_world:1", "solutions by uses");
	redis_key_solutions(keys[5], "two", "hello_world", 2);
	is_str(keys[5], "cmdarena:sol:two:hello_world:2", "a salt goes before the slug");

	/* The command is hashed: none of its text reaches the key, whatever it holds. */
	redis_key_verdict(keys[1], "", "hello_world", 1, nasty, strlen(nasty));
	ok(strstr(keys[1], "echo") == NULL && strchr(keys[1], '\n') == NULL && strchr(keys[1], ' ') == NULL &&
	    strchr(keys[1], '*') == NULL && strstr(keys[1], ":lock") == NULL, "no byte of the command in its key: %s", keys[1]);
	is_int((long)strlen(keys[1]), (long)strlen(keys[0]), "a verdict key's length does not depend on the command");
	ok(strcmp(keys[1] + strlen(keys[1]) - 5, ":lock") != 0, "no verdict key ends like a lock key");

	/* Distinct inputs, distinct keys: each part, bytes after a NUL, and parts swapped. */
	redis_key_verdict(keys[2], "", "hello_world", 1, "abc ", 4);
	redis_key_verdict(keys[3], "", "hello_world", 2, "abc", 3);
	redis_key_verdict(keys[4], "", "hello_worl", 1, "abc", 3);
	redis_key_verdict(keys[5], "x", "hello_world", 1, "abc", 3);
	redis_key_verdict(keys[6], "", "hello_world", 1, "a\0b", 3);
	redis_key_verdict(keys[7], "", "hello_world", 1, "a", 1);
	redis_key_verdict(keys[8], "", "hello_world", 11, "abc", 3);
	redis_key_verdict(keys[9], "", "hello_world1", 1, "abc", 3);
	redis_key_verdict(keys[10], "a", "b", 1, "abc", 3);
	redis_key_verdict(keys[11], "b", "a", 1, "abc", 3);
	redis_key_lock(keys[12], keys[0]);
	redis_key_solutions(keys[13], "", "hello_world", 1);
	redis_key_solution_uses(keys[14], "", "hello_world", 1);
	redis_key_bucket(keys[15], "hello_world");
	ok(all_distinct(16), "16 different inputs, 16 different keys");
	redis_key_verdict(keys[1], "", "hello_world", 1, "abc", 3);
	is_str(keys[1], keys[0], "the same input, the same key");

	longest();
	too_long();
	return tap_done();
}
