/* SPDX-License-Identifier: GPL-2.0 */
/* AF_XDP for the NF runtime: one UMEM and one socket on one queue, bound
 * in copy or zero-copy mode and put into the XDP program's xsks_map, and
 * the loops that run the user-space NF logic on what the socket receives.
 * Sockets are created with XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD: the NF
 * loads and attaches its own XDP program, libxdp never does.
 */
#ifndef NF_XSK_H
#define NF_XSK_H

#include <stdbool.h>
#include <linux/if_xdp.h>
#include <xdp/xsk.h>

#include "nf.h"

#define XSK_NUM_FRAMES 4096
#define XSK_FRAME_SIZE 2048 /* smallest allowed; room for 1500-byte MTU */
/* The fill ring can hold every frame, so recycling into it never waits. */
#define XSK_FILL_SIZE XSK_NUM_FRAMES
#define XSK_COMP_SIZE XSK_RING_CONS__DEFAULT_NUM_DESCS
#define XSK_RX_SIZE XSK_RING_CONS__DEFAULT_NUM_DESCS
#define XSK_TX_SIZE XSK_RING_PROD__DEFAULT_NUM_DESCS
#define XSK_BATCH 64 /* frames taken from the RX ring at a time */
#define XSK_POLL_TIMEOUT_MS 100 /* poll() wakes this often to see xp_stop */
#define XSK_BUSY_WAIT_MS 2000 /* how long a busy queue is retried at start */
#define XSK_BUSY_RETRY_MS 10

/* How the loop waits for frames. */
enum xsk_wait {
	XSK_WAIT_BUSY,    /* spin on the RX ring */
	XSK_WAIT_POLL,    /* block in poll() */
	XSK_WAIT_SYSCALL, /* busy poll: recvfrom() runs the driver's NAPI */
};

struct xsk_opts {
	const char *ifname;
	__u32 queue;
	__u16 bind_flags; /* XDP_COPY or XDP_ZEROCOPY, and XDP_USE_NEED_WAKEUP */
	enum xsk_wait wait;
	int busy_poll_prefer; /* XSK_WAIT_SYSCALL only */
	int busy_poll_usecs;  /* XSK_WAIT_SYSCALL only */
	int busy_poll_budget; /* XSK_WAIT_SYSCALL only */
};

/* The socket's busy-poll options as the kernel reports them back
 * (getsockopt), -1 where it cannot say. Linux (6.18 at least) has no
 * getsockopt for SO_BUSY_POLL_BUDGET: then budget is the value setsockopt
 * accepted (it stores it as given), or -1 if none was set. */
struct xsk_busy_poll {
	int prefer; /* SO_PREFER_BUSY_POLL */
	int usecs;  /* SO_BUSY_POLL */
	int budget; /* SO_BUSY_POLL_BUDGET */
	bool budget_read_back;
};

struct xsk_port {
	struct xsk_umem *umem;
	struct xsk_socket *xsk;
	struct xsk_ring_prod fq;
	struct xsk_ring_cons cq;
	struct xsk_ring_cons rx;
	struct xsk_ring_prod tx;
	void *area;
	size_t area_size;
	__u32 tx_outstanding; /* frames on the TX ring not yet completed */
	int pass_fd; /* AF_PACKET socket on the re-injection interface, or -1 */
	bool need_wakeup;
	int fd;
	/* Read back right after open: what is in force, not what was asked. */
	struct xsk_busy_poll busy_poll;
};

/* Create UMEM and socket and insert the socket into xsks_map; dies with a
 * clear message on failure. */
void xsk_port_open(struct xsk_port *port, const struct xsk_opts *opts, int xsks_map_fd);
void xsk_port_close(struct xsk_port *port);
/* The NAPI instance the socket busy-polls (SO_INCOMING_NAPI_ID): 0 until
 * the socket has received a frame, or if the driver's RX queue has no NAPI
 * id; -1 if it cannot be read. Busy polling (the *-sysc modes) needs it. */
long long xsk_port_napi_id(struct xsk_port *port);
/* "key":{...} of the socket's XDP_STATISTICS, or "key":null if they
 * cannot be read. */
void xsk_port_stats_json(struct xsk_port *port, struct json *j, const char *key);
/* "key":{"prefer":..,"usecs":..,"budget":..,"budget_read_back":..}: the
 * busy-poll options in force (struct xsk_busy_poll). */
void xsk_port_busy_poll_json(const struct xsk_port *port, struct json *j, const char *key);

/* Send XDP_PASS frames into the stack through interface ifname: one end of
 * a veth pair whose peer, in the same namespace, is where the stack
 * receives them (the reference study's "re-injection through a veth").
 * Dies with the fix if the interface is missing. */
void xsk_port_reinject_to(struct xsk_port *port, const char *ifname);

/* Run batch() on every received frame until xp_stop, then return. Its
 * action decides: XDP_TX goes back out on the TX ring; XDP_PASS is copied
 * into the re-injection interface (if there is one; else only counted);
 * every frame but XDP_TX's is recycled to the fill ring. */
void xsk_port_run(struct xsk_port *port, enum xsk_wait wait, nf_batch_fn batch,
		  const void *cfg, struct nf_counters *counters);

#endif
