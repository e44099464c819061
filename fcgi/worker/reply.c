/*
 * reply.c: FastCGI answers (see reply.h). Headers are fixed strings or
 * numbers we produce; user text only ever appears inside json-c strings.
 */
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "lib/strbuf.h"
#include "worker/reply.h"

const char *status_text(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 414: return "URI Too Long";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	default: return "Error";
	}
}

void reply_json(FCGX_Request *r, const char *body, size_t len, int ttl_s, const char *cache_layer)
{
	char cache_control[48];

	/* Browsers may keep it as long as nginx does, at most an hour. */
	if (ttl_s > 0)
		snprintf(cache_control, sizeof(cache_control), "public, max-age=%d", ttl_s < 3600 ? ttl_s : 3600);
	else
		snprintf(cache_control, sizeof(cache_control), "no-store");
	FCGX_FPrintF(r->out,
	    "Status: 200 OK\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "X-Accel-Expires: %d\r\n"
	    "Cache-Control: %s\r\n"
	    "X-Cmdarena-Layer: %s\r\n"
	    "\r\n", ttl_s, cache_control, cache_layer);
	FCGX_PutStr(body, (int)len, r->out);
}

void reply_error(FCGX_Request *r, int status, const char *code, const char *message,
    json_object *extra, const char *extra_header)
{
	json_object *o = json_object_new_object();
	const char *s = NULL;
	size_t n = 0;

	if (o != NULL) {
		json_object_object_add(o, "error", json_object_new_string(message));
		json_object_object_add(o, "code", json_object_new_string(code));
		if (extra != NULL) {
			json_object_object_foreach(extra, key, val)
				json_object_object_add(o, key, json_object_get(val));
		}
		s = json_object_to_json_string_length(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);
	}
	FCGX_FPrintF(r->out,
	    "Status: %d %s\r\n"
	    "Content-Type: application/json; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Accel-Expires: 0\r\n", status, status_text(status));
	if (extra_header)
		FCGX_FPrintF(r->out, "%s\r\n", extra_header);
	FCGX_PutS("\r\n", r->out);
	FCGX_PutStr(s ? s : "{}", s ? (int)n : 2, r->out);
	json_object_put(o);
	json_object_put(extra);
}

void reply_text(FCGX_Request *r, const char *content_type, const char *body, size_t len)
{
	FCGX_FPrintF(r->out,
	    "Status: 200 OK\r\n"
	    "Content-Type: %s\r\n"
	    "Cache-Control: no-store\r\n"
	    "X-Accel-Expires: 0\r\n"
	    "\r\n", content_type);
	FCGX_PutStr(body, (int)len, r->out);
}
