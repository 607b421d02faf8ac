/* SPDX-License-Identifier: GPL-2.0 */
/* firewall: a 5-tuple ACL in a hash table. A frame whose IPv4 5-tuple
 * matches a rule is dropped; every other frame gets cfg->action (with the
 * MACs swapped when that is XDP_TX, so it goes back to the sender).
 * The rules live in a BPF hash map in XDP (firewall_kern.c) and in a uhash
 * table built the same way in user space (firewall_user.c); the per-packet
 * logic below is shared by both.
 *
 * The rule set, so tests and the traffic generator can target it:
 * with P = 65536 - base_sport ports per block, rule i (0 <= i < rules) is
 *
 *	UDP 198.18.0.1:sport -> 198.18.0.2:dport
 *	sport = base_sport + i % P
 *	dport = 9 + i / P
 *
 * With the default base_sport=1024 (P = 64512), rules 0..64511 are source
 * ports 1024..65535 to port 9 (discard), the next 64512 the same ports to
 * port 10, and so on; 16M rules end at port 269. The generator's default
 * flow (1024 -> 9) is rule 0: any rules >= 1 drops it, and base_sport=1025
 * (or rules=0) lets it through.
 */
#ifndef FIREWALL_H
#define FIREWALL_H

#include <stdbool.h>

#include "pkt.h"

#define FW_RULE_SADDR 0xc6120001 /* 198.18.0.1, the tester (host order) */
#define FW_RULE_DADDR 0xc6120002 /* 198.18.0.2, the DUT */
#define FW_RULE_DPORT 9          /* discard; +1 for each block of P rules */
/* (dport and proto are fields of the config so that an NF in front of
 * another can target that one's flows, see nfs/chain/chain.h; the firewall
 * NF itself always uses FW_RULE_DPORT and UDP.) */
#define FW_DEFAULT_BASE_SPORT 1024
#define FW_MAX_RULES (1u << 24)  /* 16M */

/* Rules are keyed by the packed 5-tuple, struct pkt_tuple (pkt.h). */
struct firewall_cfg {
	__u32 action;     /* for frames that match no rule: XDP_DROP, XDP_TX or XDP_PASS */
	__u32 rules;      /* number of rules */
	__u32 base_sport; /* source port of rule 0 */
	__u32 dport;      /* destination port of the first block (FW_RULE_DPORT) */
	__u32 proto;      /* protocol of the rules (IPPROTO_UDP) */
};

/* Rule i of the set described above, in host byte order except the key. */
static __always_inline void fw_rule(const struct firewall_cfg *cfg, __u32 i, struct pkt_tuple *key)
{
	__u32 per_block = 65536 - cfg->base_sport;

	__builtin_memset(key, 0, sizeof(*key));
	key->saddr = bpf_htonl(FW_RULE_SADDR);
	key->daddr = bpf_htonl(FW_RULE_DADDR);
	key->sport = bpf_htons(cfg->base_sport + i % per_block);
	key->dport = bpf_htons(cfg->dport + i / per_block);
	key->proto = cfg->proto;
}

/* Defined by the includer before use: true if key is a rule of its table
 * (a BPF map lookup in XDP, a uhash lookup in user space). */
static __always_inline bool firewall_match(const struct pkt_tuple *key);

static __always_inline int firewall_process(void *data, void *data_end,
					    const struct firewall_cfg *cfg)
{
	struct ethhdr *eth = pkt_eth(data, data_end);
	struct pkt_tuple key;
	struct pkt_l4 l4;
	struct iphdr *ip;

	/* A runt frame is an error of the test setup: make it visible. */
	if (!eth)
		return XDP_ABORTED;
	ip = pkt_ipv4(eth, data_end);
	if (ip && pkt_l4(ip, data_end, &l4)) {
		pkt_tuple_of(ip, &l4, &key);
		if (firewall_match(&key))
			return XDP_DROP;
	}
	if (cfg->action == XDP_TX)
		pkt_swap_macs(eth);
	return cfg->action;
}

#endif
