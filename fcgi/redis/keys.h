/*
 * keys.h: every Redis key cmdarena reads or writes, built here and nowhere else.
 *
 *   cmdarena:v:<salt>:<slug>:<ver>:<sha256 of the command>   a verdict (the cache)
 *   <verdict key>:lock                                      the in-flight lock of that command
 *   cmdarena:rl:<client>                                    a client's token bucket
 *   cmdarena:sol:<salt>:<slug>:<ver>                         correct commands by length (solutions)
 *   cmdarena:solc:<salt>:<slug>:<ver>                        correct commands by uses (solutions)
 *
 * The command, the only text a visitor chooses, is hashed; salt (cache_salt), slug and client
 * are validated before they get here (A-Z a-z 0-9 _ . - for the first two, an address or /64
 * for the last), so no part can forge another's separator. Pure: no Redis, no config.
 */
#ifndef CMDARENA_REDIS_KEYS_H
#define CMDARENA_REDIS_KEYS_H

#include <stddef.h>

/* Room for the longest key (a lock: 11 + 64 + 1 + 64 + 1 + 9 + 1 + 64 + 5 bytes) and its NUL. */
#define REDIS_KEY_MAX 256

/* Each returns 0, or -1 (key empty) when the key would not fit: never a truncated key. */
int redis_key_verdict(char key[REDIS_KEY_MAX], const char *salt, const char *slug, int ver, const char *cmd,
    size_t len);
int redis_key_lock(char key[REDIS_KEY_MAX], const char *verdict_key);
int redis_key_bucket(char key[REDIS_KEY_MAX], const char *client);
int redis_key_solutions(char key[REDIS_KEY_MAX], const char *salt, const char *slug, int ver);
int redis_key_solution_uses(char key[REDIS_KEY_MAX], const char *salt, const char *slug, int ver);

#endif
