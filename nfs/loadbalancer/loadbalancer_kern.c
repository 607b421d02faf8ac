// SPDX-License-Identifier: GPL-2.0
/* loadbalancer in XDP; see loadbalancer.h and nf_kern.h. The session map
 * is sized to --param sessions and filled by loadbalancer_user.c before the
 * program attaches. */
#include "nf_kern.h"
#include "loadbalancer.h"

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

NF_XDP(struct loadbalancer_cfg, loadbalancer_process)
