/*
 * t/fuzz/verdict.c: libFuzzer target for the runner's verdict parser
 * (sandbox_parse_verdict in fcgi/engine/sandbox.c), which reads the line a runner
 * wrote, inside a sandbox that a user's command controlled.
 *
 * Input layout: one byte, the output cap (0 to 255 bytes), then the line. The
 * nonce expected is "0123456789abcdef". Checked besides memory safety: a
 * refusal says why; a verdict has valid UTF-8 output no longer than the cap
 * allows (plus the bytes of replacement characters), and a message exactly
 * when it is not correct.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/sandbox.h"
#include "lib/utf8.h"

#define NONCE "0123456789abcdef"
#define PROMISE(cond) do { if (!(cond)) abort(); } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct verdict v;
	char err[256] = "";
	size_t cap;

	if (size < 1)
		return 0;
	cap = data[0];
	if (sandbox_parse_verdict((const char *)data + 1, size - 1, NONCE, cap, &v, err, sizeof(err)) < 0) {
		PROMISE(v.output == NULL && v.message == NULL);
		return 0;
	}
	PROMISE(v.output != NULL && v.output[v.output_len] == '\0');
	PROMISE(utf8_valid(v.output, v.output_len));
	/* Clipped to the cap, then each invalid byte (at most cap + 4 kept) may become 3 bytes. */
	PROMISE(v.output_len <= 3 * (cap + 4));
	PROMISE(v.correct ? v.message == NULL : v.message != NULL);
	if (v.message)
		PROMISE(utf8_valid(v.message, strlen(v.message)));
	verdict_free(&v);
	return 0;
}
