/* SHA-256 against the FIPS 180-2 example vectors and a block-boundary case. */
#include <string.h>

#include "lib/sha256.h"
#include "tap.h"

int main(void)
{
	char hex[65];
	char million[1000];
	struct sha256 c;
	unsigned char d[32];

	sha256_hex("", 0, hex);
	is_str(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", "empty input");
	sha256_hex("abc", 3, hex);
	is_str(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", "abc");
	sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq", 56, hex);
	is_str(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1",
	    "448-bit message (padding spills into a second block)");

	/* One million 'a', fed in uneven pieces. */
	memset(million, 'a', sizeof(million));
	sha256_init(&c);
	for (int i = 0; i < 1000; i++)
		sha256_update(&c, million, 1000);
	sha256_final(&c, d);
	{
		static const char digits[] = "0123456789abcdef";
		for (int i = 0; i < 32; i++) {
			hex[2 * i] = digits[d[i] >> 4];
			hex[2 * i + 1] = digits[d[i] & 15];
		}
		hex[64] = '\0';
	}
	is_str(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0", "one million 'a'");
	return tap_done();
}
