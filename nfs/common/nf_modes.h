/* SPDX-License-Identifier: GPL-2.0 */
/* The DUT modes, the XDP attach modes and the AF_XDP bind modes of the NF
 * runtime: the one table of them. "<nf> --describe-modes" (or the helper
 * build/common/nf-modes) prints it as JSON, and the test framework builds
 * its own Mode objects from that answer (pytest_xdpperf/modes.py), so a
 * mode is added or changed here and nowhere else.
 *
 * What is here is what the NF process itself does differently per mode:
 * where the logic runs, whether it binds sockets, how its loop waits, the
 * flags it attaches and binds with, the busy-poll options it sets on its
 * sockets. The interface's sysfs settings of the busy-polling modes
 * (napi_defer_hard_irqs, gro_flush_timeout) are not: the NF never touches
 * them; the test framework writes them around the NF's life and puts them
 * back, so they live in Python (modes.py SYSC_SYSFS) as a rule on "loop".
 */
#ifndef NF_MODES_H
#define NF_MODES_H

#include <stdbool.h>
#include <linux/types.h>

#include "json.h"
#include "xsk.h"

/* SO_PREFER_BUSY_POLL, SO_BUSY_POLL (us), SO_BUSY_POLL_BUDGET of the sockets
 * of the busy-polling (*-sysc) modes; --busy-poll-usecs/-budget change the
 * last two. */
#define NF_BUSY_POLL_PREFER 1
#define NF_DEFAULT_BUSY_POLL_USECS 20
#define NF_DEFAULT_BUSY_POLL_BUDGET 64
#define NF_MAX_BUSY_POLL_BUDGET 65535 /* the kernel keeps it in a u16 */

struct nf_mode {
	const char *name;
	unsigned int bit;     /* NF_MODE_* of nf.h, for nf_ops.modes */
	bool xdp_logic;       /* the XDP program runs the NF; else it redirects */
	bool sockets;         /* AF_XDP sockets are bound (and a loop runs) */
	enum xsk_wait wait;   /* how the loop waits, if sockets */
	/* XDP hands each queue's first frame to its socket (nf_shared.h). */
	bool first_to_socket;
};

/* How the XDP program is attached (--attach). */
struct nf_attach {
	const char *name;
	__u32 xdp_flags;   /* XDP_FLAGS_* of bpf_link_create */
	bool with_sockets; /* usable in a mode with sockets */
};

/* The AF_XDP bind modes (--bind). */
struct nf_bind {
	const char *name;
	__u16 bind_flags;  /* XDP_COPY or XDP_ZEROCOPY */
};

extern const struct nf_mode nf_modes[];
extern const unsigned int nf_num_modes;
extern const struct nf_attach nf_attaches[];
extern const unsigned int nf_num_attaches;
extern const struct nf_bind nf_binds[];
extern const unsigned int nf_num_binds;

#define NF_ATTACH_NATIVE 0  /* index in nf_attaches: in the driver */
#define NF_ATTACH_GENERIC 1 /* after the skb is built */
#define NF_ATTACH_OFFLOAD 2 /* on the NIC itself */
#define NF_BIND_COPY 0      /* index in nf_binds */
#define NF_BIND_ZEROCOPY 1

/* The mode, attach and bind modes named text; die naming the valid ones. */
const struct nf_mode *nf_find_mode(const char *text);
unsigned int nf_find_attach(const char *text);
unsigned int nf_find_bind(const char *text);

/* The bind flags of the sockets: the bind mode's, and XDP_USE_NEED_WAKEUP. */
__u16 nf_bind_flags(unsigned int bind, bool need_wakeup);

/* Every mode's bit (NF_MODE_*), and those whose logic runs in user space. */
unsigned int nf_all_mode_bits(void);
unsigned int nf_user_mode_bits(void);

/* The table as JSON (what --describe-modes prints). */
void nf_modes_json(struct json *j);

#endif
