/* SPDX-License-Identifier: GPL-2.0 */
/* User-space NF runtime. An NF's <nf>_user.c fills a struct nf_ops and
 * calls nf_main(); nf_main does everything else: command line, namespace,
 * CPU pinning, loading <nf>_kern.o with the NF's config, attaching it with a
 * BPF link, AF_XDP sockets and loop for the chosen --mode, counters, the
 * stdin/stdout protocol of xdpperf.h and cleanup.
 *
 * The NF's config struct is copied into the rodata variable nf_cfg of the
 * BPF object before load and handed to the user-space logic, so XDP and
 * AF_XDP modes run the same logic with the same config.
 */
#ifndef NF_H
#define NF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>

#include "nf_shared.h"
#include "xdpperf.h"

/* One received frame as the user-space NF logic sees it. The logic may
 * rewrite data[0..len) in place and sets action (an XDP action). */
struct nf_pkt {
	void *data;
	__u32 len;
	int action;
};

/* Runs the NF logic on a batch; one indirect call per batch, so the
 * per-packet logic is inlined as it is in the XDP program. */
typedef void (*nf_batch_fn)(struct nf_pkt *pkt, unsigned int n, const void *cfg);

/* Decisions of the user-space logic. Written only by the loop thread,
 * read by the control thread: relaxed atomics, no locks on the hot path. */
struct nf_counters {
	_Atomic __u64 cnt[NF_COUNTERS];
};

struct nf_ops {
	const char *name;        /* program name; the object is <name>_kern.o */
	const char *params_help; /* shown when a --param is unknown */
	void *cfg;               /* the NF's config, defaults filled in */
	size_t cfg_size;         /* must equal sizeof(nf_cfg) in the object */
	/* One --param key=value: false if key is unknown; die on a bad value. */
	bool (*param)(void *cfg, const char *key, const char *value);
	/* Optional: adjust the object before load (map sizes, more rodata). */
	void (*before_load)(struct bpf_object *obj, void *cfg);
	/* Optional: fill the NF's maps after load, before attaching. */
	void (*after_load)(struct bpf_object *obj, const void *cfg);
	nf_batch_fn batch;       /* the user-space logic for AF_XDP modes */
};

int nf_main(int argc, char **argv, const struct nf_ops *ops);

/* "drop", "tx", "pass" or "aborted" as an XDP action; dies otherwise. */
int nf_parse_action(const char *what, const char *text);

/* Set a rodata variable (const volatile global) of obj before load. */
void nf_set_rodata(struct bpf_object *obj, const char *var, const void *value, size_t size);

static inline void nf_count(struct nf_counters *c, enum nf_counter i, __u64 n)
{
	/* Single writer: load + store, no locked instruction. */
	atomic_store_explicit(&c->cnt[i],
			      atomic_load_explicit(&c->cnt[i], memory_order_relaxed) + n,
			      memory_order_relaxed);
}

#endif
