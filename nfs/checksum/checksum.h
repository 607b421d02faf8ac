/* SPDX-License-Identifier: GPL-2.0 */
/* checksum: swap source and destination MAC, recompute the UDP or TCP
 * checksum of an IPv4 frame `rounds` times, then drop, bounce (tx) or pass
 * the frame. The CPU demand of the NF grows linearly with rounds.
 *
 * Each round zeroes the checksum field, sums the pseudo-header and the
 * whole L4 header and payload as read from the frame, and stores the
 * result: the next round reads what this one wrote, so no round can be
 * hoisted out of the loop, and the frame leaves with a valid checksum.
 *
 * Frames that are not checksummable (not IPv4, not UDP or TCP, a fragment,
 * truncated, or with an L4 length over CHECKSUM_MAX_L4) only have their
 * MACs swapped and get the configured action, like macswap.
 *
 * The per-packet logic is shared by checksum_kern.c (XDP) and
 * checksum_user.c (AF_XDP). Only how the rounds are looped differs: the XDP
 * program uses bpf_loop(), so the verifier checks one round and any count
 * up to 1 << 23 is accepted; user space calls the same round function in a
 * plain loop.
 */
#ifndef CHECKSUM_H
#define CHECKSUM_H

#include <stddef.h>
#include <linux/tcp.h>

#include "pkt.h"

#define CHECKSUM_MAX_ROUNDS 1000000
/* Longest L4 header + payload summed: a page, the most an XDP frame
 * without fragments can hold. Also the bound of the word loop. */
#define CHECKSUM_MAX_L4 4096
/* More-fragments flag and fragment offset of iphdr.frag_off (host order). */
#define CHECKSUM_IP_FRAG 0x3fff

struct checksum_cfg {
	__u32 action; /* XDP_DROP, XDP_TX or XDP_PASS */
	__u32 rounds; /* checksum recomputations per frame, 0..CHECKSUM_MAX_ROUNDS */
};

/* One frame's L4 segment, as every round needs it. */
struct checksum_round {
	void *l4;        /* L4 header */
	void *data_end;
	__u32 len;       /* L4 header + payload, bytes */
	__u32 pseudo;    /* partial sum of the pseudo-header */
	__u32 check_off; /* offset of the checksum field in the L4 header */
	__u32 udp;       /* UDP sends a computed 0 as 0xffff */
};

#ifdef __bpf__
#define checksum_loop(n, fn, ctx) bpf_loop(n, fn, ctx, 0)
#else
/* bpf_loop() for user space: fn(i, ctx) for i < n until fn returns 1. */
static __always_inline long checksum_loop(__u32 n, long (*fn)(__u32, void *), void *ctx)
{
	__u32 i;

	for (i = 0; i < n; i++)
		if (fn(i, ctx))
			return i + 1;
	return n;
}
#endif

/* Add len bytes at p to sum as 16-bit words in memory order (an odd last
 * byte is padded with zero), the one's complement way of RFC 1071. */
static __always_inline __u32 checksum_add(void *p, void *data_end, __u32 len, __u32 sum)
{
	__u32 i;

	/* At most 2048 words of at most 0xffff: the sum cannot overflow. */
	for (i = 0; i < CHECKSUM_MAX_L4 / 2; i++) {
		if (len < 2 || p + 2 > data_end)
			break;
		sum += *(__u16 *)p;
		p += 2;
		len -= 2;
	}
	if (len == 1 && p + 1 <= data_end)
		sum += bpf_htons((__u16)(*(__u8 *)p << 8));
	return sum;
}

static __always_inline __u16 checksum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return ~sum;
}

/* One round: recompute the checksum from the frame and store it. */
static long checksum_round(__u32 index, void *ctx)
{
	struct checksum_round *r = ctx;
	__u16 *check = r->l4 + r->check_off;
	__u16 csum;

	if ((void *)(check + 1) > r->data_end)
		return 1;
	*check = 0;
	csum = checksum_fold(checksum_add(r->l4, r->data_end, r->len, r->pseudo));
	*check = csum == 0 && r->udp ? 0xffff : csum;
	return 0;
}

static __always_inline int checksum_process(void *data, void *data_end,
					    const struct checksum_cfg *cfg)
{
	struct ethhdr *eth = pkt_eth(data, data_end);
	struct checksum_round r;
	struct iphdr *ip;
	__u32 ip_len, hdr_len;

	/* A runt frame is an error of the test setup: make it visible. */
	if (!eth)
		return XDP_ABORTED;
	pkt_swap_macs(eth);
	ip = pkt_ipv4(eth, data_end);
	if (!ip || cfg->rounds == 0)
		return cfg->action;
	/* A fragment holds only part of the datagram the checksum covers. */
	if (ip->frag_off & bpf_htons(CHECKSUM_IP_FRAG))
		return cfg->action;
	if (ip->protocol == IPPROTO_UDP) {
		r.check_off = offsetof(struct udphdr, check);
		r.udp = 1;
		hdr_len = sizeof(struct udphdr);
	} else if (ip->protocol == IPPROTO_TCP) {
		r.check_off = offsetof(struct tcphdr, check);
		r.udp = 0;
		hdr_len = sizeof(struct tcphdr);
	} else {
		return cfg->action;
	}
	ip_len = bpf_ntohs(ip->tot_len);
	if (ip_len < ip->ihl * 4 + hdr_len)
		return cfg->action;
	r.l4 = (void *)ip + ip->ihl * 4;
	r.len = ip_len - ip->ihl * 4;
	r.data_end = data_end;
	if (r.len > CHECKSUM_MAX_L4 || r.l4 + r.len > data_end)
		return cfg->action;

	/* The pseudo-header, as 16-bit words in memory order. */
	r.pseudo = (ip->saddr & 0xffff) + (ip->saddr >> 16) +
		   (ip->daddr & 0xffff) + (ip->daddr >> 16) +
		   bpf_htons(ip->protocol) + bpf_htons(r.len);
	checksum_loop(cfg->rounds, checksum_round, &r);
	return cfg->action;
}

#endif
