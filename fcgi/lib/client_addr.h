/*
 * client_addr.h: who a request comes from, for the limits.
 *
 * nginx decides the address: its realip module (set_real_ip_from, rendered
 * from trusted_proxies, with real_ip_recursive on) turns a trusted proxy's
 * X-Forwarded-For into $remote_addr, which reaches us as REMOTE_ADDR. We
 * trust that and read no header. The key of a client is its IPv4 address, or
 * the /64 of its IPv6 address (one subscriber gets a whole /64: keying on the
 * full address would give it endless buckets). An IPv4-mapped IPv6 address
 * counts as the IPv4 one.
 *
 * The proxy list parser stays: it checks the trusted_proxies setting.
 */
#ifndef CMDARENA_CLIENT_ADDR_H
#define CMDARENA_CLIENT_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define CLIENT_ADDR_MAX 64

struct cidr {
	int family;		/* AF_INET or AF_INET6 */
	unsigned char addr[16];
	int prefix;
};

struct proxy_list {
	struct cidr *v;
	size_t n;
};

/* Parse "10.0.0.1 192.168.0.0/16 ::1". Returns 0, or -1 naming the bad entry in err. */
int proxy_list_parse(const char *text, struct proxy_list *out, char *err, size_t errlen);
void proxy_list_free(struct proxy_list *l);
bool proxy_list_contains(const struct proxy_list *l, const char *addr);

/* The client's key into out: "192.0.2.7", "2001:db8:1:2::/64", or "unknown". */
void client_key(const char *remote_addr, char out[CLIENT_ADDR_MAX]);

#endif
