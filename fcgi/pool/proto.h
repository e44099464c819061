/*
 * pool/proto.h: the messages between the workers and the pool keeper, encoded
 * and decoded in one place (pool/proto.c) for both sides.
 *
 * One message per SOCK_SEQPACKET packet, printable ASCII, fields separated by
 * one space, no terminator, at most POOL_MSG_MAX bytes. Numbers are decimal
 * without sign; <id> is a container id of 1 to DOCKER_ID_MAX characters
 * [0-9A-Za-z_.-]; <seq> is the worker's request number, echoed in the answer.
 *
 *   worker -> keeper
 *     T <seq> <variant>          take a started container (variant 0 cmd, 1 cmd-no-bin)
 *     D <engine> <id>            done with it: remove it
 *     F <engine> <id>            it could not be attached: remove it and re-check its engine
 *   keeper -> worker
 *     C <seq> <engine> <id>      here is one (engine: its index in the configuration)
 *     E <seq> <code> <sentence>  none: code is engine_unavailable, sandbox_busy or sandbox_failing,
 *                                the sentence (any printable text, may be empty) is for the user
 *     R <seq>                    this keeper is stopping (a reload): reconnect and ask again
 *
 * A worker that gave up on <seq> may still receive its C: it hands the container
 * straight back with D. A keeper that sees a worker's connection close removes
 * the containers that worker holds.
 */
#ifndef CMDARENA_POOL_PROTO_H
#define CMDARENA_POOL_PROTO_H

#include <stddef.h>

#include "engine/docker.h"

#define POOL_MSG_MAX 512
#define POOL_CODE_MAX 31
#define POOL_TEXT_MAX 400
#define POOL_VARIANTS 2

enum pool_msg_type {
	POOL_MSG_TAKE = 'T',
	POOL_MSG_DONE = 'D',
	POOL_MSG_FAILED = 'F',
	POOL_MSG_CONTAINER = 'C',
	POOL_MSG_ERROR = 'E',
	POOL_MSG_RECONNECT = 'R',
};

struct pool_msg {
	enum pool_msg_type type;
	unsigned long seq;		/* T C E R */
	int variant;			/* T: 0 .. POOL_VARIANTS - 1 */
	int engine;			/* D F C */
	char id[DOCKER_ID_MAX + 1];	/* D F C */
	char code[POOL_CODE_MAX + 1];	/* E: [a-z_]+ */
	char text[POOL_TEXT_MAX + 1];	/* E */
};

/*
 * Write m into buf (NUL-terminated). Returns the message's length (without
 * the NUL), or -1 when a field is out of range or buf is too small.
 */
int pool_msg_encode(const struct pool_msg *m, char *buf, size_t size);

/*
 * Read one packet of len bytes (not NUL-terminated; any bytes). Returns 0
 * with m filled, or -1 when it is not exactly one of the messages above.
 */
int pool_msg_decode(const char *buf, size_t len, struct pool_msg *m);

#endif
