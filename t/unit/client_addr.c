/* client_addr.c: the client address behind trusted proxies, and the proxy list parser. */
#include "client_addr.h"
#include "tap.h"

int main(void)
{
	struct proxy_list pl, none = { NULL, 0 };
	char out[CLIENT_ADDR_MAX], err[128];

	is_int(proxy_list_parse("127.0.0.1 10.0.0.0/8,  ::1 fd00::/8", &pl, err, sizeof(err)), 0, "a list parses");
	is_int(pl.n, 4, "four entries");
	ok(proxy_list_contains(&pl, "10.200.3.4"), "inside a /8");
	ok(!proxy_list_contains(&pl, "11.0.0.1"), "outside it");
	ok(proxy_list_contains(&pl, "fd12::1"), "inside an IPv6 /8");
	ok(!proxy_list_contains(&pl, "fe80::1"), "outside it");

	client_address("203.0.113.9", "1.2.3.4", &pl, out);
	is_str(out, "203.0.113.9", "an untrusted peer's X-Forwarded-For is ignored");
	client_address("127.0.0.1", "198.51.100.7", &pl, out);
	is_str(out, "198.51.100.7", "a trusted proxy's X-Forwarded-For names the client");
	client_address("127.0.0.1", "6.6.6.6, 198.51.100.7, 10.1.1.1", &pl, out);
	is_str(out, "198.51.100.7", "the rightmost untrusted hop wins (a forged left part is ignored)");
	client_address("127.0.0.1", "10.1.1.1, 10.2.2.2", &pl, out);
	is_str(out, "10.1.1.1", "all trusted: the leftmost");
	client_address("127.0.0.1", "not-an-ip", &pl, out);
	is_str(out, "127.0.0.1", "garbage in the header: the peer");
	client_address("127.0.0.1", NULL, &pl, out);
	is_str(out, "127.0.0.1", "no header: the peer");
	client_address("127.0.0.1", "198.51.100.7", &none, out);
	is_str(out, "127.0.0.1", "no trusted proxies: always the peer");
	client_address("::ffff:1.2.3.4", NULL, &none, out);
	is_str(out, "::ffff:1.2.3.4", "IPv6 text is normalised");
	client_address(NULL, NULL, &none, out);
	is_str(out, "unknown", "no address at all");

	is_int(proxy_list_parse("10.0.0.0/33", &none, err, sizeof(err)), -1, "a prefix too long");
	is_int(proxy_list_parse("example.com", &none, err, sizeof(err)), -1, "a name");
	is_str(err, "'example.com' is not an address or CIDR", "says which entry");
	proxy_list_free(&pl);
	return tap_done();
}
