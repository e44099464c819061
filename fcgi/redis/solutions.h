/*
 * solutions.h: the correct commands of each challenge version, kept in two
 * Redis sorted sets (by length, shortest first; by how often each earned a
 * correct verdict, most used first), and the JSON answer of GET /s?slug=.
 */
#ifndef CMDARENA_REDIS_SOLUTIONS_H
#define CMDARENA_REDIS_SOLUTIONS_H

#include <stddef.h>

#include "config/catalogue.h"
#include "redis/conn.h"

/* Record a correct command (as sent) in both sets. Returns 0, -1 when Redis is unusable. */
int solutions_record(struct redis_conn *c, const struct challenge *ch, const char *cmd, size_t len);

/* Count one more correct verdict for a command (a verdict answered from Redis). */
int solutions_count(struct redis_conn *c, const struct challenge *ch, const char *cmd, size_t len);

/*
 * {"slug":..,"ver":..,"solutions":[shortest first, at most 20],
 *  "shortest":[{"cmd","length","uses"}..], "most_used":[{"cmd","length","uses"}..]} into *body.
 * Returns 0, -1 when Redis is unusable.
 */
int solutions_json(struct redis_conn *c, const struct challenge *ch, char **body, size_t *len);

#endif
