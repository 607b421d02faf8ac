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

#include <linux/types.h>
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/udp.h>
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

#endif
