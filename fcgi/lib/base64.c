/*
 * base64.c: standard base64 (RFC 4648, section 4) with padding. The decoder
 * is strict: no whitespace, no missing or stray padding, no non-zero bits
 * after the last byte, so every byte string has exactly one encoding.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "lib/base64.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

char *base64_encode(const unsigned char *in, size_t len)
{
	size_t groups = len / 3 + (len % 3 != 0);
	size_t o = 0;
	char *out;

	if (groups > (((size_t)-1) - 1) / 4)
		return NULL;
	out = malloc(groups * 4 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3) {
		size_t left = len - i;
		uint32_t v = (uint32_t)in[i] << 16;

		if (left > 1)
			v |= (uint32_t)in[i + 1] << 8;
		if (left > 2)
			v |= in[i + 2];
		out[o++] = alphabet[(v >> 18) & 63];
		out[o++] = alphabet[(v >> 12) & 63];
		out[o++] = left > 1 ? alphabet[(v >> 6) & 63] : '=';
		out[o++] = left > 2 ? alphabet[v & 63] : '=';
	}
	out[o] = '\0';
	return out;
}

/* The 6-bit value of one base64 character, or -1. */
static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

unsigned char *base64_decode(const char *in, size_t len, size_t *outlen)
{
	unsigned char *out;
	size_t o = 0;

	if (len % 4 != 0)
		return NULL;
	out = malloc(len / 4 * 3 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 4) {
		bool last = i + 4 == len;
		int pad = 0;
		uint32_t v = 0;

		/* Padding: only in the last group, "xx==" or "xxx=". */
		if (last && in[i + 3] == '=')
			pad = in[i + 2] == '=' ? 2 : 1;
		for (int k = 0; k < 4; k++) {
			int s = k < 4 - pad ? sextet(in[i + k]) : 0;

			if (s < 0)
				goto bad;
			v = v << 6 | (uint32_t)s;
		}
		/* The bits past the last byte must be zero (canonical form). */
		if ((pad == 1 && (v & 0xFF) != 0) || (pad == 2 && (v & 0xFFFF) != 0))
			goto bad;
		out[o++] = (unsigned char)(v >> 16);
		if (pad < 2)
			out[o++] = (unsigned char)(v >> 8);
		if (pad < 1)
			out[o++] = (unsigned char)v;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
bad:
	free(out);
	return NULL;
}
