/*
 * cmd_hash.h: the X-Cmdarena-Cmd header, a short hash of a request's command,
 * so nginx's access log can tell commands apart without keeping their text.
 */
#ifndef CMDARENA_CMD_HASH_H
#define CMDARENA_CMD_HASH_H

#include <stddef.h>

#include <fcgiapp.h>

/* Hex digits of SHA-256 kept: 64 bits, enough to tell commands apart in a log. */
#define CMD_HASH_HEX 16

/* The hash of cmd[0..len): CMD_HASH_HEX hex digits and a NUL into out. */
void cmd_hash(const char *cmd, size_t len, char out[CMD_HASH_HEX + 1]);

/*
 * Write the header line "X-Cmdarena-Cmd: <hash>" (before the reply's own
 * headers) when the query string holds a well-formed cmd; nothing otherwise.
 * It travels with the answer into nginx's cache, so hits log it too.
 */
void cmd_hash_header(FCGX_Request *r, const char *qs, size_t query_max);

#endif
