/*
 * scripts.h: cmdarena's Lua scripts, and the one loader that runs any of them.
 *
 * A script runs by EVALSHA; the first time on a connection, and after NOSCRIPT (Redis
 * restarted and forgot it), it is loaded with SCRIPT LOAD and its SHA-1 kept in the
 * connection (struct redis_conn's script_sha).
 */
#ifndef CMDARENA_REDIS_SCRIPTS_H
#define CMDARENA_REDIS_SCRIPTS_H

#include <hiredis/hiredis.h>

enum redis_script {
	/* KEYS[1] a lock, ARGV[1] a token: delete the lock only if it holds that token. Returns 1 or 0. */
	REDIS_SCRIPT_UNLOCK,
	/* KEYS[1] a token bucket, ARGV[1] tokens per second, ARGV[2] burst: take a token. {1, 0} or {0, s}. */
	REDIS_SCRIPT_BUCKET,
	REDIS_SCRIPTS
};

struct redis_conn;

/*
 * EVALSHA script with nkeys keys then the other arguments (argv[0..argc-1], C strings).
 * The reply, never an error reply; NULL when Redis is unusable or the script failed.
 */
redisReply *redis_script_run(struct redis_conn *c, enum redis_script script, int nkeys, int argc,
    const char **argv);

#endif
