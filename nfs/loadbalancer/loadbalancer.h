/* SPDX-License-Identifier: GPL-2.0 */
/* loadbalancer: a layer-4 load balancer with a session table filled up
 * front, in a hash table (a BPF hash map in XDP, loadbalancer_kern.c; a
 * uhash table built the same way in user space, loadbalancer_user.c). The
 * per-packet logic below is shared by both.
 *
 * Inbound: a frame to the service, VIP 198.18.0.2 port 80, whose 5-tuple
 * is a session gets its destination rewritten to the session's backend -
 * MAC, IPv4 address and port - its source MAC set to the DUT's, and goes
 * back out of the receiving interface (XDP_TX).
 * Outbound: a frame from a backend (198.18.1.1 .. 198.18.1.<backends>,
 * source port 8080) gets its source restored to the VIP and port 80, its
 * MACs swapped, and goes back out (stateless, as the reply already carries
 * its client as destination).
 * Both rewrites update the IPv4 header checksum and the UDP/TCP checksum
 * incrementally (RFC 1624, eqn. 3); a UDP checksum of 0 (none) stays 0.
 * Anything else - other addresses or ports, flows that are no session,
 * other protocols, non-IPv4 - is a miss and gets cfg->miss (default drop;
 * tx swaps the MACs and sends it back unchanged).
 *
 * The sessions, so tests and the traffic generator can target them: with
 * P = 65536 - base_sport ports per block, session i (0 <= i < sessions) is
 *
 *	<proto> client:sport -> 198.18.0.2:80   => backend i % backends
 *	sport  = base_sport + i % P
 *	client = 198.18.0.1 (the tester) for i < P, else 198.19.0.0 + i / P
 *
 * and backend b (0 <= b < backends) is 198.18.1.(b + 1) port 8080, MAC
 * 02:58:50:01:00:(b + 1). With the default base_sport=1024 the generator's
 * default flow (198.18.0.1:1024 -> 198.18.0.2:9) is no session; sent to
 * port 80 it is session 0. Backends are made-up addresses of the RFC 2544
 * range: they only appear in frames that go straight back to the tester.
 */
#ifndef LOADBALANCER_H
#define LOADBALANCER_H

#include <stdbool.h>

#include "pkt.h"

#define LB_VIP 0xc6120002           /* 198.18.0.2, the DUT (host order) */
#define LB_VIP_PORT 80
#define LB_CLIENT 0xc6120001        /* 198.18.0.1, the tester: clients of block 0 */
#define LB_CLIENT_NET 0xc6130000    /* 198.19.0.0/16: clients of blocks 1.. */
#define LB_BACKEND_NET 0xc6120100   /* 198.18.1.0/24 */
#define LB_BACKEND_PORT 8080
#define LB_MAX_BACKENDS 254
#define LB_MAX_SESSIONS (1u << 24)  /* 16M */
#define LB_DEFAULT_BASE_SPORT 1024
#define LB_DEFAULT_BACKENDS 4

/* A session is keyed by its client 5-tuple as it arrives (struct pkt_tuple). */

/* Where a session goes. */
struct lb_backend {
	__be32 addr;
	__be16 port;
	__u8 mac[ETH_ALEN];
};

struct loadbalancer_cfg {
	__u32 miss;       /* for frames of no session: XDP_DROP, XDP_TX or XDP_PASS */
	__u32 sessions;   /* sessions in the table */
	__u32 backends;   /* 1..LB_MAX_BACKENDS */
	__u32 proto;      /* IPPROTO_UDP or IPPROTO_TCP: the sessions' protocol */
	__u32 base_sport; /* client port of session 0 */
};

/* Session i and its backend, as described above. */
static __always_inline void lb_session_of(const struct loadbalancer_cfg *cfg, __u32 i,
					  struct pkt_tuple *key, struct lb_backend *be)
{
	__u32 per_block = 65536 - cfg->base_sport;
	__u32 block = i / per_block;
	__u32 b = i % cfg->backends;

	__builtin_memset(key, 0, sizeof(*key));
	key->saddr = bpf_htonl(block ? LB_CLIENT_NET + block : LB_CLIENT);
	key->daddr = bpf_htonl(LB_VIP);
	key->sport = bpf_htons(cfg->base_sport + i % per_block);
	key->dport = bpf_htons(LB_VIP_PORT);
	key->proto = cfg->proto;
	be->addr = bpf_htonl(LB_BACKEND_NET + b + 1);
	be->port = bpf_htons(LB_BACKEND_PORT);
	be->mac[0] = 0x02;
	be->mac[1] = 0x58;
	be->mac[2] = 0x50;
	be->mac[3] = 0x01;
	be->mac[4] = 0x00;
	be->mac[5] = b + 1;
}

/* Defined by the includer before use: the backend of a session, or NULL
 * (a BPF map lookup in XDP, a uhash lookup in user space). */
static __always_inline const struct lb_backend *lb_lookup(const struct pkt_tuple *key);

/* RFC 1624 eqn. 3, HC' = ~(~HC + ~m + m'): the sum collects ~m + m' of
 * each changed 16-bit word. Words are taken as they lie in memory, which
 * one's complement arithmetic allows in either byte order. */
static __always_inline __u32 lb_csum_add16(__u32 sum, __u16 from, __u16 to)
{
	return sum + (__u16)~from + to;
}

static __always_inline __u32 lb_csum_add32(__u32 sum, __u32 from, __u32 to)
{
	sum = lb_csum_add16(sum, from >> 16, to >> 16);
	return lb_csum_add16(sum, from & 0xffff, to & 0xffff);
}

static __always_inline __u16 lb_csum_apply(__u16 check, __u32 sum)
{
	sum += (__u16)~check;
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* Set an address and a port of the packet (both source or both destination)
 * and fix the IPv4 header checksum and the UDP/TCP one, whose pseudo-header
 * covers the address. */
static __always_inline void lb_rewrite(struct iphdr *ip, struct pkt_l4 *l4, __be32 *addr,
				       __be16 *port, __be32 new_addr, __be16 new_port)
{
	__u32 sum = lb_csum_add32(0, *addr, new_addr);
	__u16 check;

	ip->check = lb_csum_apply(ip->check, sum);
	if (l4->check) {
		check = lb_csum_apply(*l4->check, lb_csum_add16(sum, *port, new_port));
		/* In UDP 0 means "no checksum": send a computed 0 as 0xffff. */
		*l4->check = (check || !l4->udp) ? check : 0xffff;
	}
	*addr = new_addr;
	*port = new_port;
}

static __always_inline int lb_miss(struct ethhdr *eth, const struct loadbalancer_cfg *cfg)
{
	if (cfg->miss == XDP_TX)
		pkt_swap_macs(eth);
	return cfg->miss;
}

static __always_inline int loadbalancer_process(void *data, void *data_end,
						const struct loadbalancer_cfg *cfg)
{
	struct ethhdr *eth = pkt_eth(data, data_end);
	const struct lb_backend *be;
	struct pkt_tuple key;
	struct pkt_l4 l4;
	struct iphdr *ip;
	__u32 host;

	/* A runt frame is an error of the test setup: make it visible. */
	if (!eth)
		return XDP_ABORTED;
	ip = pkt_ipv4(eth, data_end);
	/* Rewrites need the whole UDP/TCP header (its checksum). */
	if (!ip || !pkt_l4(ip, data_end, &l4) || !l4.whole)
		return lb_miss(eth, cfg);

	if (ip->daddr == bpf_htonl(LB_VIP) && l4.ports[1] == bpf_htons(LB_VIP_PORT)) {
		pkt_tuple_of(ip, &l4, &key);
		be = lb_lookup(&key);
		if (!be)
			return lb_miss(eth, cfg);
		lb_rewrite(ip, &l4, &ip->daddr, &l4.ports[1], be->addr, be->port);
		__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
		__builtin_memcpy(eth->h_dest, be->mac, ETH_ALEN);
		return XDP_TX;
	}

	host = bpf_ntohl(ip->saddr) - LB_BACKEND_NET;
	if (host >= 1 && host <= cfg->backends && l4.ports[0] == bpf_htons(LB_BACKEND_PORT)) {
		lb_rewrite(ip, &l4, &ip->saddr, &l4.ports[0], bpf_htonl(LB_VIP),
			   bpf_htons(LB_VIP_PORT));
		pkt_swap_macs(eth);
		return XDP_TX;
	}
	return lb_miss(eth, cfg);
}

#endif
