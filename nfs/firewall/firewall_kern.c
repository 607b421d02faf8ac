// SPDX-License-Identifier: GPL-2.0
/* firewall in XDP; see firewall.h and nf_kern.h. The rule map is sized to
 * --param rules and filled by firewall_user.c before the program attaches. */
#include "nf_kern.h"
#include "firewall.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* resized before load */
	__type(key, struct pkt_tuple);
	__type(value, __u32);   /* the rule number */
} fw_rules SEC(".maps");

static __always_inline bool firewall_match(const struct pkt_tuple *key)
{
	return bpf_map_lookup_elem(&fw_rules, key) != NULL;
}

NF_XDP(struct firewall_cfg, firewall_process)
