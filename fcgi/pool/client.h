/*
 * pool/client.h: a worker's side of the pool protocol (see pool/keeper.h).
 */
#ifndef CMDARENA_POOL_CLIENT_H
#define CMDARENA_POOL_CLIENT_H

#include <stdbool.h>

#include "engine/docker.h"

struct pool_client {
	char *path;
	int fd;
	unsigned long seq;
};

struct pool_grant {
	int engine;
	char id[DOCKER_ID_MAX + 1];
};

void pool_client_init(struct pool_client *pc, const char *path);
void pool_client_close(struct pool_client *pc);

/*
 * Take a started container of this variant, waiting at most wait_ms.
 * Returns 0 with g filled, or -1 with code ("engine_unavailable",
 * "sandbox_busy", "sandbox_failing", "pool_unreachable") and a sentence.
 */
int pool_client_take(struct pool_client *pc, int variant, int wait_ms, struct pool_grant *g,
    char *code, size_t codelen, char *msg, size_t msglen);

/* Hand a used container back for removal; failed: it could not be attached. */
void pool_client_release(struct pool_client *pc, const struct pool_grant *g, bool failed);

#endif
