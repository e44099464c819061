/*
 * cmd_hash.c: the X-Cmdarena-Cmd header (see cmd_hash.h). The hash is of the
 * decoded command, so `%20` and `+` spellings of one command share it, and
 * `printf %s 'CMD' | sha256sum | cut -c1-16` finds a command's log lines.
 */
#include <string.h>

#include "lib/sha256.h"
#include "worker/cmd_hash.h"
#include "worker/query.h"

void cmd_hash(const char *cmd, size_t len, char out[CMD_HASH_HEX + 1])
{
	char hex[2 * SHA256_DIGEST_LEN + 1];

	sha256_hex(cmd, len, hex);
	memcpy(out, hex, CMD_HASH_HEX);
	out[CMD_HASH_HEX] = '\0';
}

void cmd_hash_header(FCGX_Request *r, const char *qs, size_t query_max)
{
	static const char *const names[] = { "slug", "ver", "cmd", NULL };
	struct query q;
	struct query_error e;
	const char *cmd;
	size_t len;
	char h[CMD_HASH_HEX + 1];

	if (query_parse(qs, strlen(qs), query_max, names, &q, &e) == 0 &&
	    (cmd = query_get(&q, "cmd", &len)) != NULL && len > 0) {
		cmd_hash(cmd, len, h);
		/* The header holds hex digits only. */
		FCGX_FPrintF(r->out, "X-Cmdarena-Cmd: %s\r\n", h);
	}
	query_free(&q);
}
