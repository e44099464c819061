/*
 * base64.h: standard base64 (RFC 4648, with padding), used to carry the
 * command's raw bytes inside the JSON request.
 */
#ifndef CMDARENA_BASE64_H
#define CMDARENA_BASE64_H

#include <stddef.h>

/* Encode; returns a new NUL-terminated string or NULL when out of memory. */
char *base64_encode(const unsigned char *in, size_t len);

/*
 * Decode a padded base64 string (no whitespace allowed). Returns a new buffer
 * (NUL-terminated for convenience) with its length in *outlen, or NULL when
 * the input is not valid base64 or memory ran out.
 */
unsigned char *base64_decode(const char *in, size_t len, size_t *outlen);

#endif
