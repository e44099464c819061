/* client_addr.c: client keys (IPv4, IPv6 /64) and the trusted proxy list parser. */
#include "lib/client_addr.h"
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

	client_key("203.0.113.9", out);
	is_str(out, "203.0.113.9", "IPv4: the address is the key");
	client_key("2001:db8:1:2:aaaa:bbbb:cccc:dddd", out);
	is_str(out, "2001:db8:1:2::/64", "IPv6: the /64 is the key");
	client_key("2001:db8:1:2::1", out);
	is_str(out, "2001:db8:1:2::/64", "another address of the same /64: the same key");
	client_key("2001:db8:1:3::1", out);
	is_str(out, "2001:db8:1:3::/64", "the next /64: another key");
	client_key("2001:0DB8:0001:0002:0000:0000:0000:0001", out);
	is_str(out, "2001:db8:1:2::/64", "any spelling of it: the same key");
	client_key("::1", out);
	is_str(out, "::/64", "loopback ::1 falls in ::/64");
	client_key("::ffff:1.2.3.4", out);
	is_str(out, "1.2.3.4", "an IPv4-mapped address counts as the IPv4 one");
	client_key("fe80::1%eth0", out);
	is_str(out, "unknown", "a zone index is no address nginx passes");
	client_key("1.2.3.4, 5.6.7.8", out);
	is_str(out, "unknown", "a list is no address (REMOTE_ADDR holds one)");
	client_key(NULL, out);
	is_str(out, "unknown", "no address at all");
	(void)none;

	is_int(proxy_list_parse("10.0.0.0/33", &none, err, sizeof(err)), -1, "a prefix too long");
	is_int(proxy_list_parse("example.com", &none, err, sizeof(err)), -1, "a name");
	is_str(err, "'example.com' is not an address or CIDR", "says which entry");
	proxy_list_free(&pl);
	return tap_done();
}
