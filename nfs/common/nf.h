/* SPDX-License-Identifier: GPL-2.0 */
/* User-space NF runtime. An NF's <nf>_user.c fills a struct nf_ops (its
 * config, its parameter table, its hooks) and calls nf_main(); nf_main does
 * everything else: command line, namespace, CPU pinning, loading
 * <nf>_kern.o with the NF's config, attaching it with a BPF link, AF_XDP
 * sockets and loop for the chosen --mode, counters, the stdin/stdout
 * protocol of xdpperf.h and cleanup.
 *
 * The NF's config struct is copied into the rodata variable nf_cfg of the
 * BPF object before load and handed to the user-space logic, so XDP and
 * AF_XDP modes run the same logic with the same config. Its initial value
 * in <nf>_user.c is the parameters' defaults.
 *
 * The runtime is split by job: nf_args_lib.c (command line, parameter
 * table, --describe), nf_load_lib.c (object, rodata, attach),
 * nf_modes_lib.c (the modes), json_lib.c (the JSON writer), xsk_lib.c
 * (AF_XDP sockets and rings) and nf_lib.c (nf_main, the control thread).
 */
#ifndef NF_H
#define NF_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <bpf/libbpf.h>

#include "json.h"
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

/* Not an XDP action: the frame was finished elsewhere (xdp-sk modes: by
 * the XDP program, run again on it; see nf_shared.h); only recycle it. */
#define NF_HANDED_BACK (-1)

/* Runs the NF logic on a batch; one indirect call per batch, so the
 * per-packet logic is inlined as it is in the XDP program. */
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

/* The DUT modes, as bits of nf_ops.modes. Their names and everything else
 * about them are in the one table of nf_modes_lib.c. */
#define NF_MODE_XDP         (1u << 0) /* "xdp" */
#define NF_MODE_AF_XDP      (1u << 1) /* "af_xdp" */
#define NF_MODE_AF_XDP_SYSC (1u << 2) /* "af_xdp-sysc" */
#define NF_MODE_AF_XDP_POLL (1u << 3) /* "af_xdp-poll" */
#define NF_MODE_XDP_SK      (1u << 4) /* "xdp-sk" */
#define NF_MODE_XDP_SK_SYSC (1u << 5) /* "xdp-sk-sysc" */

/* --- parameters -------------------------------------------------------- */

enum nf_param_type {
	NF_PARAM_INT,    /* an integer from min to max */
	NF_PARAM_CHOICE, /* one of choices, stored as its value */
	NF_PARAM_SIZE,   /* a byte count with an optional K, M or G suffix
			  * (powers of 1024), from min to max, a multiple of step */
	NF_PARAM_STRING, /* text of min to max bytes, in a char array field */
	NF_PARAM_PATH,   /* like NF_PARAM_STRING, the path of an existing file */
};

struct nf_choice {
	const char *name;
	int value;
};

/* One --param key=value of an NF: what it is, where in the config it goes
 * (an unsigned field of 1, 2, 4 or 8 bytes; for text, a char array that
 * holds it with its NUL) and what it accepts. The same
 * entry drives parsing, --help, --describe and, through --describe, the
 * framework's checks before it starts the NF. The default is the field's
 * value in the NF's initial config. */
struct nf_param {
	const char *name;
	enum nf_param_type type;
	size_t offset;
	size_t size;
	long long min, max;              /* NF_PARAM_INT, NF_PARAM_SIZE; for text
					  * its length (min 1: required) */
	long long step;                  /* NF_PARAM_SIZE */
	const struct nf_choice *choices; /* NF_PARAM_CHOICE: ends with { NULL } */
	const char *help;
};

#define NF_FIELD(cfg_type, field) \
	.offset = offsetof(cfg_type, field), .size = sizeof(((cfg_type *)0)->field)

/* Entries of an NF's parameter table, which ends with NF_PARAMS_END. */
#define NF_PARAM_INT(key, cfg_type, field, lo, hi, text) \
	{ .name = key, .type = NF_PARAM_INT, NF_FIELD(cfg_type, field), \
	  .min = lo, .max = hi, .help = text }
#define NF_PARAM_CHOICE(key, cfg_type, field, list, text) \
	{ .name = key, .type = NF_PARAM_CHOICE, NF_FIELD(cfg_type, field), \
	  .choices = list, .help = text }
#define NF_PARAM_SIZE(key, cfg_type, field, lo, hi, multiple, text) \
	{ .name = key, .type = NF_PARAM_SIZE, NF_FIELD(cfg_type, field), \
	  .min = lo, .max = hi, .step = multiple, .help = text }
/* Text up to the field's size less its NUL; required ones have no default
 * (an empty field) and the NF refuses to start without them. */
#define NF_PARAM_STRING(key, cfg_type, field, required, text) \
	{ .name = key, .type = NF_PARAM_STRING, NF_FIELD(cfg_type, field), \
	  .min = (required) ? 1 : 0, .max = sizeof(((cfg_type *)0)->field) - 1, .help = text }
#define NF_PARAM_PATH(key, cfg_type, field, required, text) \
	{ .name = key, .type = NF_PARAM_PATH, NF_FIELD(cfg_type, field), \
	  .min = (required) ? 1 : 0, .max = sizeof(((cfg_type *)0)->field) - 1, .help = text }
/* An XDP action: drop, tx, pass or aborted. */
#define NF_PARAM_ACTION(key, cfg_type, field, text) \
	NF_PARAM_CHOICE(key, cfg_type, field, nf_actions, text)
#define NF_PARAMS_END { .name = NULL }

extern const struct nf_choice nf_actions[];

/* A byte count as --param takes it: "4G" when it is a whole number of G, M
 * or K, else the number. */
void nf_format_size(char *out, size_t size, unsigned long long bytes);

/* --- hooks ------------------------------------------------------------- */

/* What the runtime tells an NF's hooks about this run. */
struct nf_ctx {
	struct bpf_object *obj; /* open in before_load, loaded in after_load */
	void *cfg;              /* the NF's config, parameters applied */
	const char *mode;       /* the --mode */
	/* The mode runs the NF logic in user space (af_xdp*), not in XDP: an
	 * NF builds its tables only in the world that uses them. */
	bool user_logic;
	const char *ifname;
};

struct nf_ops {
	const char *name;        /* program name; the object is <name>_kern.o */
	void *cfg;               /* the NF's config, defaults filled in */
	size_t cfg_size;         /* must equal sizeof(nf_cfg) in the object */
	const struct nf_param *params; /* its --param table, or NULL for none */
	/* Optional: check what the parameters need together and adjust the
	 * object before load (map sizes, more rodata); may change ctx->cfg,
	 * which is copied into the object after it. */
	void (*before_load)(struct nf_ctx *ctx);
	/* Optional: fill the NF's maps after load, before attaching. */
	void (*after_load)(struct nf_ctx *ctx);
	nf_batch_fn batch;       /* the user-space logic for AF_XDP modes */
	/* Optional: the modes the NF supports, NF_MODE_* bits; 0 = all six
	 * (less the user-space ones when batch is NULL). --describe lists them
	 * and the test framework skips the others; --mode refuses them. */
	unsigned int modes;
	/* Optional: why the NF lacks the modes it lacks (shown in skips). */
	const char *modes_note;
	/* Optional: the XDP program to attach instead of the object's xdp_nf,
	 * e.g. one the NF loads from elsewhere: called after after_load, it
	 * returns the program's fd, which the NF keeps open. The object then
	 * needs no xdp_nf (its maps and rodata are the runtime's as ever), and
	 * --attach offload is refused (only the object is bound to a device). */
	int (*xdp_prog)(struct nf_ctx *ctx);
	/* Optional: the members of the ready line's "nf_info" object (what
	 * the NF built, where; for tests and records), written into out. */
	void (*ready_info)(const struct nf_ctx *ctx, struct json *out);
};

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

/* Runs the NF. Without privileges and before anything is loaded,
 * "<nf> --describe" prints its name, parameter table and modes as one JSON
 * line and "<nf> --describe-modes" the runtime's table of modes. */
int nf_main(int argc, char **argv, const struct nf_ops *ops);

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
