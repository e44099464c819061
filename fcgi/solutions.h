/*
 * solutions.h: the correct commands of each challenge version, kept in a
 * Redis sorted set scored by length (shortest first, distinct), and the
 * JSON answer of GET /s?slug=.
 */
#ifndef CMDARENA_SOLUTIONS_H
#define CMDARENA_SOLUTIONS_H

#include <stddef.h>

#include "catalogue.h"
#include "verdict_cache.h"

/* Record a correct command (as sent). Returns 0, -1 when Redis is unusable. */
int solutions_record(struct verdict_cache *vc, const struct challenge *ch, const char *cmd, size_t len);

/*
 * {"slug":..,"ver":..,"solutions":[shortest first, at most 20]} into *body.
 * Returns 0, -1 when Redis is unusable.
 */
int solutions_json(struct verdict_cache *vc, const struct challenge *ch, char **body, size_t *len);

#endif
