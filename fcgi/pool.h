/*
 * pool.h: the pool keeper, a child of the master that keeps, per engine and
 * image variant, a number of sandbox containers created and started ahead of
 * time (the runner inside blocked on stdin). Workers ask it for one over a
 * unix SOCK_SEQPACKET socket, use it once and hand it back for removal.
 *
 * It also checks each engine's health (/_ping), removes used containers off
 * the request path, recycles idle ones past their age, and reaps orphans
 * (containers labelled cmdarena that nobody tracks).
 *
 * Messages (one per packet, ASCII):
 *   worker -> pool   T <seq> <variant>          take a container (variant 0 cmd, 1 cmd-no-bin)
 *                    D <engine> <id>            done: remove it
 *                    F <engine> <id>            it failed to attach: remove it, re-check the engine
 *   pool -> worker   C <seq> <engine> <id>      here is one
 *                    E <seq> <code> <sentence>  none: engine_unavailable | sandbox_busy | sandbox_failing
 */
#ifndef CMDARENA_POOL_H
#define CMDARENA_POOL_H

#include "config.h"

/* Bind and listen on the pool socket (made by the master before forking). Returns the fd or -1. */
int pool_listen(const char *path);

/* The pool keeper's life, in the child. Returns the exit status. */
int pool_keeper_main(const struct config *c, int listen_fd);

#endif
