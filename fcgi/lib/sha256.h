/*
 * sha256.h: SHA-256 (FIPS 180-4), for cache keys built from user commands.
 */
#ifndef CMDARENA_SHA256_H
#define CMDARENA_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_LEN 32

struct sha256 {
	uint32_t h[8];
	uint64_t total;
	unsigned char block[64];
	size_t used;
};

void sha256_init(struct sha256 *c);
void sha256_update(struct sha256 *c, const void *data, size_t len);
void sha256_final(struct sha256 *c, unsigned char out[SHA256_DIGEST_LEN]);
/* Hex digest of data[0..len) into hex (65 bytes, NUL-terminated). */
void sha256_hex(const void *data, size_t len, char hex[2 * SHA256_DIGEST_LEN + 1]);

#endif
