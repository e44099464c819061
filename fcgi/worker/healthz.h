/*
 * healthz.h: GET /healthz, for load balancers: can this node run commands right now?
 */
#ifndef CMDARENA_HEALTHZ_H
#define CMDARENA_HEALTHZ_H

#include <fcgiapp.h>

#include "config/config.h"
#include "worker/metrics.h"

/*
 * Answer /healthz: 200 {"status":"ok",...} when an engine answers its pings,
 * the pool keeper accepts connections and a container is warm or being made;
 * else 503 {"status":"unavailable","code":...,"error":...}. Redis is reported,
 * not required (without it the node still answers, executing every miss).
 * Never cacheable. Returns the HTTP status sent; *code is the error code or
 * NULL, *outcome what the request log and metrics count.
 */
int healthz_answer(FCGX_Request *r, const struct config *cfg, const char *method, const char **code,
    enum outcome *outcome);

#endif
