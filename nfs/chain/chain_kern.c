// SPDX-License-Identifier: GPL-2.0
/* chain in XDP; see chain.h and nf_kern.h. Both tables are sized by
 * chain_user.c before load and filled before the program attaches; a table
 * the XDP program never reads (its stage runs in user space) has one slot. */
#include "nf_kern.h"
#include "chain.h"

NF_CFG(struct chain_cfg);

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* resized before load */
	__type(key, struct pkt_tuple);
	__type(value, __u32);   /* the rule number */
} fw_rules SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* resized before load */
	__type(key, struct pkt_tuple);
	__type(value, struct lb_backend);
} lb_sessions SEC(".maps");

static __always_inline bool firewall_match(const struct pkt_tuple *key)
{
	return bpf_map_lookup_elem(&fw_rules, key) != NULL;
}

static __always_inline const struct lb_backend *lb_lookup(const struct pkt_tuple *key)
{
	return bpf_map_lookup_elem(&lb_sessions, key);
}

SEC("xdp")
int xdp_nf(struct xdp_md *ctx)
{
	struct chain_cfg cfg = nf_cfg;
	void *data = nf_data(ctx);
	void *data_end = nf_data_end(ctx);
	int action;

	if (cfg.dispatch && chain_local(data, data_end, &cfg))
		return nf_verdict(XDP_PASS);
	/* xdp-sk: the first frame past the dispatcher primes the socket. */
	if (nf_xsk_first_frame(ctx))
		return nf_to_xsk(ctx);
	if (!nf_xsk_redirect)
		return nf_verdict(chain_process(data, data_end, &cfg));
	/* AF_XDP modes: in the hybrid the firewall's drops happen here and
	 * only its survivors reach the socket. */
	if (cfg.placement == CHAIN_HYBRID) {
		action = firewall_process(data, data_end, &cfg.fw);
		if (action != XDP_PASS)
			return nf_verdict(action);
	}
	return nf_to_xsk(ctx);
}
