/*
 * base64.c: encoding (RFC 4648 test vectors) and strict decoding.
 */
#include <stdlib.h>
#include <string.h>

#include "lib/base64.h"
#include "tap.h"

static void roundtrip(const char *plain, const char *encoded)
{
	size_t len = strlen(plain), outlen = 99;
	char *enc = base64_encode((const unsigned char *)plain, len);
	unsigned char *dec = base64_decode(encoded, strlen(encoded), &outlen);

	is_str(enc, encoded, "encode \"%s\"", plain);
	ok(dec != NULL && outlen == len && memcmp(dec, plain, len) == 0 && dec[len] == '\0',
	    "decode \"%s\"", encoded);
	free(enc);
	free(dec);
}

static void rejects(const char *in, size_t len, const char *what)
{
	size_t outlen = 0;
	unsigned char *dec = base64_decode(in, len, &outlen);

	ok(dec == NULL, "rejects %s", what);
	free(dec);
}

int main(void)
{
	static const unsigned char bin[] = { 0x00, 0xff, 0xfe, 0x80, 0x00 };
	unsigned char *dec;
	char *enc;
	size_t outlen;

	/* RFC 4648, section 10. */
	roundtrip("", "");
	roundtrip("f", "Zg==");
	roundtrip("fo", "Zm8=");
	roundtrip("foo", "Zm9v");
	roundtrip("foob", "Zm9vYg==");
	roundtrip("fooba", "Zm9vYmE=");
	roundtrip("foobar", "Zm9vYmFy");
	roundtrip("echo hello world", "ZWNobyBoZWxsbyB3b3JsZA==");

	enc = base64_encode(bin, sizeof(bin));
	is_str(enc, "AP/+gAA=", "binary with NUL and high bytes encodes");
	dec = base64_decode(enc, strlen(enc), &outlen);
	ok(dec != NULL && outlen == sizeof(bin) && memcmp(dec, bin, sizeof(bin)) == 0,
	    "binary with NUL bytes round-trips");
	free(dec);
	free(enc);

	rejects("Zg=", 3, "a length that is not a multiple of 4");
	rejects("Zg", 2, "missing padding");
	rejects("Z===", 4, "three padding characters");
	rejects("Zm9v Yg==", 9, "whitespace");
	rejects("Zm9vYg==\n", 9, "a trailing newline");
	rejects("Zm-v", 4, "a URL-safe character");
	rejects("Zm9*", 4, "a character outside the alphabet");
	rejects("Zg==Zm8=", 8, "padding before the end");
	rejects("Z=g=", 4, "padding inside a group");
	rejects("Zh==", 4, "non-zero bits after the last byte (1 byte)");
	rejects("Zm9=", 4, "non-zero bits after the last byte (2 bytes)");
	rejects("Zm\0v", 4, "a NUL byte inside");
	rejects("\xc3\xa9Zg", 4, "non-ASCII bytes");
	return tap_done();
}
