// SPDX-License-Identifier: GPL-2.0
/* loadbalancer in XDP; see loadbalancer.h and nf_kern.h. The session map
 * is sized to --param sessions and filled by loadbalancer_user.c before the
 * program attaches. */
#include "nf_kern.h"
#include "loadbalancer.h"

const volatile struct loadbalancer_cfg nf_cfg = {
	.miss = XDP_DROP,
	.sessions = 1,
	.backends = LB_DEFAULT_BACKENDS,
	.proto = IPPROTO_UDP,
	.base_sport = LB_DEFAULT_BASE_SPORT,
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1); /* resized before load */
	__type(key, struct pkt_tuple);
	__type(value, struct lb_backend);
} lb_sessions SEC(".maps");

static __always_inline const struct lb_backend *lb_lookup(const struct pkt_tuple *key)
{
	return bpf_map_lookup_elem(&lb_sessions, key);
}

SEC("xdp")
int xdp_nf(struct xdp_md *ctx)
{
	struct loadbalancer_cfg cfg = nf_cfg;

	if (nf_xsk_redirect || nf_xsk_first_frame(ctx))
		return nf_to_xsk(ctx);
	return nf_verdict(loadbalancer_process(nf_data(ctx), nf_data_end(ctx), &cfg));
}
