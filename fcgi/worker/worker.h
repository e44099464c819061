/*
 * worker.h: a FastCGI worker's life (forked by the master).
 */
#ifndef CMDARENA_WORKER_H
#define CMDARENA_WORKER_H

#include "config/catalogue.h"
#include "config/config.h"

/* Accept and answer requests on listen_fd until SIGTERM. Returns the exit status. */
int worker_main(const struct config *cfg, const struct catalogue *cat, int listen_fd, int index);

#endif
