/*
 * reply.h: every answer a worker writes: verdicts (cacheable) and errors
 * ({"error": sentence, "code": token}, never cacheable by nginx or anyone).
 */
#ifndef CMDARENA_REPLY_H
#define CMDARENA_REPLY_H

#include <stddef.h>

#include <fcgiapp.h>

/* A cacheable JSON answer: X-Accel-Expires ttl_s for nginx (0: do not cache). */
void reply_json(FCGX_Request *r, const char *body, size_t len, int ttl_s, const char *cache_layer);

/*
 * An error. extra_member is NULL or a JSON object member to add (e.g.
 * "\"ver\":2"), extra_header NULL or one header line without CRLF.
 */
void reply_error(FCGX_Request *r, int status, const char *code, const char *message,
    const char *extra_member, const char *extra_header);

/* Plain text (for /metrics). */
void reply_text(FCGX_Request *r, const char *content_type, const char *body, size_t len);

const char *status_text(int status);

#endif
