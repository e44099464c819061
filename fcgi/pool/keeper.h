/*
 * pool/keeper.h: the pool keeper, a child of the master that keeps, per engine and
 * image variant, a number of sandbox containers created and started ahead of
 * time (the runner inside blocked on stdin). Workers ask it for one over a
 * unix SOCK_SEQPACKET socket, use it once and hand it back for removal.
 *
 * It also checks each engine's health (/_ping), removes used containers off
 * the request path, recycles idle ones past their age, and reaps orphans
 * (containers labelled cmdarena that nobody tracks).
 *
 * The messages are in pool/proto.h; the keeper's decisions in pool/state.h,
 * its I/O (socket, poll, engine threads) in pool/keeper.c.
 */
#ifndef CMDARENA_POOL_H
#define CMDARENA_POOL_H

#include "config/config.h"

/* Bind and listen on the pool socket (made by the master before forking). Returns the fd or -1. */
int pool_listen(const char *path);

/* The pool keeper's life, in the child. Returns the exit status. */
int pool_keeper_main(const struct config *c, int listen_fd);

#endif
