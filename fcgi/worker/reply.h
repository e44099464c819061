/*
 * reply.h: every answer a worker writes: verdicts (cacheable) and errors
 * ({"error": sentence, "code": token}, never cacheable by nginx or anyone).
 */
#ifndef CMDARENA_REPLY_H
#define CMDARENA_REPLY_H

#include <stddef.h>

#include <fcgiapp.h>
#include <json-c/json.h>

/* A cacheable JSON answer: X-Accel-Expires ttl_s for nginx (0: do not cache). */
void reply_json(FCGX_Request *r, const char *body, size_t len, int ttl_s, const char *cache_layer);

/*
 * An error {"error": message, "code": code, ...}. extra is NULL or an object
 * whose members are added (e.g. {"ver": 2}); reply_error takes it (puts it).
 * extra_header is NULL or one header line without CRLF.
 */
void reply_error(FCGX_Request *r, int status, const char *code, const char *message,
    json_object *extra, const char *extra_header);

/* Plain text (for /metrics). */
void reply_text(FCGX_Request *r, const char *content_type, const char *body, size_t len);

const char *status_text(int status);

#endif
