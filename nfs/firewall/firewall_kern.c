// SPDX-License-Identifier: GPL-2.0
/* firewall in XDP; see firewall.h and nf_kern.h. The rule map is sized to
 * --param rules and filled by firewall_user.c before the program attaches. */
#include "nf_kern.h"
#include "firewall.h"

const volatile struct firewall_cfg nf_cfg = {
	.action = XDP_TX,
	.rules = 1,
	.base_sport = FW_DEFAULT_BASE_SPORT,
	.dport = FW_RULE_DPORT,
	.proto = IPPROTO_UDP,
};

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

SEC("xdp")
int xdp_nf(struct xdp_md *ctx)
{
	struct firewall_cfg cfg = nf_cfg;

	if (nf_xsk_redirect || nf_xsk_first_frame(ctx))
		return nf_to_xsk(ctx);
	return nf_verdict(firewall_process(nf_data(ctx), nf_data_end(ctx), &cfg));
}
