/* SPDX-License-Identifier: GPL-2.0 */
/* Packet helpers for NF logic that is compiled twice: into the XDP program
 * (clang -target bpf) and into the AF_XDP user-space program (gcc).
 * Every access is bounds-checked against data_end the way the verifier
 * wants it, so the same code passes the verifier and is safe in user space.
 * NF logic returns an XDP action (XDP_DROP, XDP_TX, XDP_PASS, XDP_ABORTED)
 * in both worlds; the user-space runtime maps it to the AF_XDP equivalent.
 */
#ifndef PKT_H
#define PKT_H

#include <stdbool.h>
#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
#include <linux/tcp.h>
#include <bpf/bpf_endian.h>
#ifdef __bpf__
#include <bpf/bpf_helpers.h>
#include <linux/in.h>
#else
/* glibc first: linux/libc-compat.h then skips what glibc already has. */
#include <netinet/in.h>
#endif

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

#define PKT_IP_OFFSET 0x1fff /* fragment offset bits of iphdr.frag_off (host order) */

/* A packed IPv4 5-tuple, network byte order, pad always zero: the key of
 * the NFs' hash tables, the same bytes in the BPF map and in uhash. */
struct pkt_tuple {
	__be32 saddr;
	__be32 daddr;
	__be16 sport;
	__be16 dport;
	__u8 proto;
	__u8 pad[3];
};

static __always_inline struct ethhdr *pkt_eth(void *data, void *data_end)
{
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return NULL;
	return eth;
}

static __always_inline void pkt_swap_macs(struct ethhdr *eth)
{
	__u8 tmp[ETH_ALEN];

	__builtin_memcpy(tmp, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, tmp, ETH_ALEN);
}

/* The IPv4 header after eth, options included, or NULL. */
static __always_inline struct iphdr *pkt_ipv4(struct ethhdr *eth, void *data_end)
{
	struct iphdr *ip = (void *)(eth + 1);

	if (eth->h_proto != bpf_htons(ETH_P_IP))
		return NULL;
	if ((void *)(ip + 1) > data_end || ip->ihl < sizeof(*ip) / 4)
		return NULL;
	if ((void *)ip + ip->ihl * 4 > data_end)
		return NULL;
	return ip;
}

/* The UDP header after ip (from pkt_ipv4), or NULL. */
static __always_inline struct udphdr *pkt_udp(struct iphdr *ip, void *data_end)
{
	struct udphdr *udp = (void *)ip + ip->ihl * 4;

	if (ip->protocol != IPPROTO_UDP)
		return NULL;
	if ((void *)(udp + 1) > data_end)
		return NULL;
	return udp;
}

/* The ports and checksum of a UDP or TCP segment, from pkt_l4(). */
struct pkt_l4 {
	__be16 *ports;  /* source, destination: always in the frame */
	__sum16 *check; /* NULL: a UDP datagram without checksum, or !whole */
	bool udp;
	bool whole;     /* the whole UDP (8 bytes) or TCP (20 bytes) header is in the frame */
};

/* The L4 ports of ip (from pkt_ipv4) if it is UDP or TCP: false for other
 * protocols, for fragments after the first (they carry no ports) and when
 * the ports are not in the frame. Only ports is valid when !l4->whole. */
static __always_inline bool pkt_l4(struct iphdr *ip, void *data_end, struct pkt_l4 *l4)
{
	void *hdr = (void *)ip + ip->ihl * 4;
	__be16 *ports = hdr;

	if (ip->protocol != IPPROTO_UDP && ip->protocol != IPPROTO_TCP)
		return false;
	if (ip->frag_off & bpf_htons(PKT_IP_OFFSET))
		return false;
	if ((void *)(ports + 2) > data_end)
		return false;
	l4->ports = ports;
	l4->check = NULL;
	l4->udp = ip->protocol == IPPROTO_UDP;
	if (l4->udp) {
		struct udphdr *udp = hdr;

		l4->whole = (void *)(udp + 1) <= data_end;
		if (l4->whole && udp->check)
			l4->check = &udp->check;
	} else {
		struct tcphdr *tcp = hdr;

		l4->whole = (void *)(tcp + 1) <= data_end;
		if (l4->whole)
			l4->check = &tcp->check;
	}
	return true;
}

/* The packed 5-tuple of ip and its ports (from pkt_l4). */
static __always_inline void pkt_tuple_of(const struct iphdr *ip, const struct pkt_l4 *l4,
					 struct pkt_tuple *key)
{
	key->saddr = ip->saddr;
	key->daddr = ip->daddr;
	key->sport = l4->ports[0];
	key->dport = l4->ports[1];
	key->proto = ip->protocol;
	key->pad[0] = key->pad[1] = key->pad[2] = 0;
}

#endif
