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
 * rewrite data[0..len) in place and sets action (an XDP action, or
 * NF_HANDED_BACK). */
struct nf_pkt {
	void *data;
	__u32 len;
	int action;
};

/* Runs the NF logic on a batch; one indirect call per batch, so the
 * per-packet logic is inlined as it is in the XDP program. */
/* Not an XDP action: the frame was finished elsewhere (xdp-sk modes: by
 * the XDP program, run again on it; see nf_shared.h); only recycle it. */
#define NF_HANDED_BACK (-1)

typedef void (*nf_batch_fn)(struct nf_pkt *pkt, unsigned int n, const void *cfg);

/* Decisions of the user-space logic. Written only by the loop thread,
 * read by the control thread: relaxed atomics, no locks on the hot path. */
struct nf_counters {
	_Atomic __u64 cnt[NF_COUNTERS];
	/* XDP_PASS in user space: frames written into the stack through the
	 * re-injection interface (--pass-ifname), and those it refused. */
	_Atomic __u64 reinjected;
	_Atomic __u64 reinject_failed;
	/* xdp-sk modes: frames the socket received and handed back to XDP. */
	_Atomic __u64 handed_back;
};

/* The DUT modes, as bits of nf_ops.modes (names as in pytest_xdpperf/modes.py). */
#define NF_MODE_XDP         (1u << 0) /* "xdp" */
#define NF_MODE_AF_XDP      (1u << 1) /* "af_xdp" */
#define NF_MODE_AF_XDP_SYSC (1u << 2) /* "af_xdp-sysc" */
#define NF_MODE_AF_XDP_POLL (1u << 3) /* "af_xdp-poll" */
#define NF_MODE_XDP_SK      (1u << 4) /* "xdp-sk" */
#define NF_MODE_XDP_SK_SYSC (1u << 5) /* "xdp-sk-sysc" */
#define NF_MODES_KERNEL (NF_MODE_XDP | NF_MODE_XDP_SK | NF_MODE_XDP_SK_SYSC)
#define NF_MODES_USER   (NF_MODE_AF_XDP | NF_MODE_AF_XDP_SYSC | NF_MODE_AF_XDP_POLL)
#define NF_MODES_ALL    (NF_MODES_KERNEL | NF_MODES_USER)

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
	/* Optional: the modes the NF supports, NF_MODE_* bits; 0 = all six
	 * (less the user-space ones when batch is NULL). --describe lists them
	 * and the test framework skips the others; --mode refuses them. */
	unsigned int modes;
	/* Optional: why the NF lacks the modes it lacks (shown in skips). */
	const char *modes_note;
	/* Optional: a JSON object for the ready line's "nf_info" (what the NF
	 * built, where; for tests and records), written into buf. */
	void (*ready_info)(char *buf, size_t size, const void *cfg);
};

/* Runs the NF. "<nf> --describe" prints one JSON line instead and exits 0,
 * before anything is loaded or any privilege is needed:
 *   {"nf":"<name>","params":"<params_help>","modes":["xdp",...],"modes_note":...}
 */
/* Define the nf_batch_fn `name` that runs `process` (an NF's
 * static __always_inline per-packet logic, as its XDP program does) on
 * every frame of a batch with the NF's config of type `cfg_type`. */
#define NF_BATCH(name, process, cfg_type)                                        \
	static void name(struct nf_pkt *pkt, unsigned int n, const void *data)    \
	{                                                                         \
		const cfg_type *c = data;                                         \
		unsigned int i;                                                   \
                                                                                  \
		for (i = 0; i < n; i++)                                           \
			pkt[i].action = process(pkt[i].data, pkt[i].data + pkt[i].len, c); \
	}

int nf_main(int argc, char **argv, const struct nf_ops *ops);

/* True when this run's mode executes the NF logic in user space (af_xdp*),
 * false when the XDP program does. Valid from before_load on, so an NF
 * builds its tables only in the world that uses them. */
bool nf_user_logic(void);

/* "drop", "tx", "pass" or "aborted" as an XDP action; dies otherwise. */
int nf_parse_action(const char *what, const char *text);

/* Set a rodata variable (const volatile global) of obj before load. */
void nf_set_rodata(struct bpf_object *obj, const char *var, const void *value, size_t size);

/* Single writer: load + store, no locked instruction. */
static inline void nf_add(_Atomic __u64 *counter, __u64 n)
{
	atomic_store_explicit(counter, atomic_load_explicit(counter, memory_order_relaxed) + n,
			      memory_order_relaxed);
}

static inline void nf_count(struct nf_counters *c, enum nf_counter i, __u64 n)
{
	nf_add(&c->cnt[i], n);
}

#endif
