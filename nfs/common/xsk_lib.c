// SPDX-License-Identifier: GPL-2.0
/* See xsk.h. The ring handling follows the kernel's AF_XDP sample
 * (samples/bpf/xdpsock_user.c, now xdp-tools' xdpsock): frames circulate
 * fill -> RX -> (TX -> completion ->) fill and are never copied.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <unistd.h>

#include "xsk.h"

/* Older libc headers lack the preferred busy polling options (Linux 5.11). */
#ifndef SO_PREFER_BUSY_POLL
#define SO_PREFER_BUSY_POLL 69
#endif
#ifndef SO_BUSY_POLL_BUDGET
#define SO_BUSY_POLL_BUDGET 70
#endif
#ifndef SO_INCOMING_NAPI_ID
#define SO_INCOMING_NAPI_ID 56
#endif
#ifndef SOL_XDP
#define SOL_XDP 283
#endif

#define FRAME_MASK (~((__u64)XSK_FRAME_SIZE - 1))

static bool stopping(void)
{
	return atomic_load_explicit(&xp_stop, memory_order_relaxed);
}

static void socket_error(int err, const struct xsk_opts *opts)
{
	err = err < 0 ? -err : err;
	if (err == EOPNOTSUPP && (opts->bind_flags & XDP_ZEROCOPY))
		xp_die("zero-copy not supported by driver of %s (use --bind copy)", opts->ifname);
	if (err == EPERM)
		xp_die_errno(err, "cannot create an AF_XDP socket (run as root)");
	if (err == EBUSY)
		xp_die_errno(err, "queue %u of %s is still taken by another AF_XDP socket after %d ms (stop the program using it)",
			     opts->queue, opts->ifname, XSK_BUSY_WAIT_MS);
	if (err == EINVAL)
		xp_die_errno(err, "cannot bind an AF_XDP socket to queue %u of %s (does the queue exist? see ethtool -l %s)",
			     opts->queue, opts->ifname, opts->ifname);
	xp_die_errno(err, "cannot create an AF_XDP socket on %s queue %u (check --bind and --need-wakeup)",
		     opts->ifname, opts->queue);
}

static void set_busy_poll(int fd, const char *name, int option, int value)
{
	if (setsockopt(fd, SOL_SOCKET, option, &value, sizeof(value)) < 0)
		xp_die_errno(errno, "cannot set %s=%d on the AF_XDP socket (run as root on Linux 5.11 or later)",
			     name, value);
}

/* One option as the kernel reports it, or -1. */
static int get_sockopt_int(int fd, int option)
{
	int value = -1;
	socklen_t len = sizeof(value);

	if (getsockopt(fd, SOL_SOCKET, option, &value, &len) < 0 || len != sizeof(value))
		return -1;
	return value;
}

/* Hand every frame of the UMEM to the kernel. */
static void fill_all(struct xsk_port *port)
{
	__u32 idx, i;

	if (xsk_ring_prod__reserve(&port->fq, XSK_NUM_FRAMES, &idx) != XSK_NUM_FRAMES)
		xp_die("cannot put %d frames on the fill ring (XSK_FILL_SIZE too small)", XSK_NUM_FRAMES);
	for (i = 0; i < XSK_NUM_FRAMES; i++)
		*xsk_ring_prod__fill_addr(&port->fq, idx + i) = (__u64)i * XSK_FRAME_SIZE;
	xsk_ring_prod__submit(&port->fq, XSK_NUM_FRAMES);
}

/* One attempt at UMEM + socket; returns 0 or a negative errno from the
 * socket (the port is closed again on failure). */
static int try_open(struct xsk_port *port, const struct xsk_opts *opts)
{
	struct xsk_umem_config umem_cfg = {
		.fill_size = XSK_FILL_SIZE,
		.comp_size = XSK_COMP_SIZE,
		.frame_size = XSK_FRAME_SIZE,
		.frame_headroom = XSK_UMEM__DEFAULT_FRAME_HEADROOM,
		.flags = XSK_UMEM__DEFAULT_FLAGS,
	};
	struct xsk_socket_config xsk_cfg = {
		.rx_size = XSK_RX_SIZE,
		.tx_size = XSK_TX_SIZE,
		/* Our own XDP program redirects; libxdp must not load one. */
		.libxdp_flags = XSK_LIBXDP_FLAGS__INHIBIT_PROG_LOAD,
		.bind_flags = opts->bind_flags,
	};
	int err;

	memset(port, 0, sizeof(*port));
	port->fd = -1;
	port->pass_fd = -1;
	port->need_wakeup = opts->bind_flags & XDP_USE_NEED_WAKEUP;
	port->area_size = (size_t)XSK_NUM_FRAMES * XSK_FRAME_SIZE;
	/* Page-aligned and populated now, not on the first packets. */
	port->area = mmap(NULL, port->area_size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (port->area == MAP_FAILED)
		xp_die_errno(errno, "cannot allocate %zu bytes for the UMEM (free some memory)",
			     port->area_size);

	err = xsk_umem__create(&port->umem, port->area, port->area_size, &port->fq, &port->cq,
			       &umem_cfg);
	if (err)
		xp_die_errno(err, "cannot register the UMEM (run as root; check ulimit -l)");
	err = xsk_socket__create(&port->xsk, opts->ifname, opts->queue, port->umem, &port->rx,
				 &port->tx, &xsk_cfg);
	if (err) {
		port->xsk = NULL;
		xsk_port_close(port);
		return err;
	}
	port->fd = xsk_socket__fd(port->xsk);
	return 0;
}

void xsk_port_open(struct xsk_port *port, const struct xsk_opts *opts, int xsks_map_fd)
{
	__u64 deadline = xp_now_ns() + XSK_BUSY_WAIT_MS * 1000000ull;
	struct timespec pause = { .tv_nsec = XSK_BUSY_RETRY_MS * 1000000L };
	int err;

	/* The kernel frees a closed socket's hold on its queue in deferred
	 * work, so a queue stays busy for a while after the previous NF
	 * exited (~100 ms seen on veth): retry for a bounded time. */
	while ((err = try_open(port, opts)) == -EBUSY && xp_now_ns() < deadline &&
	       !stopping())
		nanosleep(&pause, NULL);
	if (err)
		socket_error(err, opts);

	err = xsk_socket__update_xskmap(port->xsk, xsks_map_fd);
	if (err)
		xp_die_errno(err, "cannot insert the AF_XDP socket into xsks_map at queue %u (--queue must be below %d)",
			     opts->queue, NF_MAX_QUEUES);
	fill_all(port);

	if (opts->wait == XSK_WAIT_SYSCALL) {
		set_busy_poll(port->fd, "SO_PREFER_BUSY_POLL", SO_PREFER_BUSY_POLL,
			      opts->busy_poll_prefer);
		set_busy_poll(port->fd, "SO_BUSY_POLL", SO_BUSY_POLL, opts->busy_poll_usecs);
		set_busy_poll(port->fd, "SO_BUSY_POLL_BUDGET", SO_BUSY_POLL_BUDGET,
			      opts->busy_poll_budget);
	}
	/* Every socket mode reports them, so a mode that should not busy-poll
	 * shows it does not. */
	port->busy_poll.prefer = get_sockopt_int(port->fd, SO_PREFER_BUSY_POLL);
	port->busy_poll.usecs = get_sockopt_int(port->fd, SO_BUSY_POLL);
	port->busy_poll.budget = get_sockopt_int(port->fd, SO_BUSY_POLL_BUDGET);
	port->busy_poll.budget_read_back = port->busy_poll.budget >= 0;
	if (!port->busy_poll.budget_read_back && opts->wait == XSK_WAIT_SYSCALL)
		port->busy_poll.budget = opts->busy_poll_budget;
}

void xsk_port_reinject_to(struct xsk_port *port, const char *ifname)
{
	struct sockaddr_ll addr = { .sll_family = AF_PACKET };
	int one = 1, fd;

	addr.sll_ifindex = if_nametoindex(ifname);
	if (!addr.sll_ifindex)
		xp_die_errno(errno, "no re-injection interface %s in the NF's namespace (fix: create the veth pair first, or drop --pass-ifname)",
			     ifname);
	/* Protocol 0: this socket sends only, it never receives. */
	fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (fd < 0)
		xp_die_errno(errno, "cannot open a packet socket for re-injection (run as root)");
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0)
		xp_die_errno(errno, "cannot bind a packet socket to %s", ifname);
	/* veth has no qdisc anyway; skip the lookup. Optional. */
	setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one));
	port->pass_fd = fd;
}

void xsk_port_close(struct xsk_port *port)
{
	if (port->pass_fd >= 0)
		close(port->pass_fd);
	if (port->xsk)
		xsk_socket__delete(port->xsk);
	if (port->umem)
		xsk_umem__delete(port->umem);
	if (port->area && port->area != MAP_FAILED)
		munmap(port->area, port->area_size);
	memset(port, 0, sizeof(*port));
	port->fd = -1;
	port->pass_fd = -1;
}

long long xsk_port_napi_id(struct xsk_port *port)
{
	unsigned int id = 0;
	socklen_t len = sizeof(id);

	if (port->fd < 0 || getsockopt(port->fd, SOL_SOCKET, SO_INCOMING_NAPI_ID, &id, &len) < 0)
		return -1;
	return id;
}

void xsk_port_stats_json(struct xsk_port *port, struct json *j, const char *key)
{
	struct xdp_statistics xs;
	socklen_t len = sizeof(xs);

	if (port->fd < 0 || getsockopt(port->fd, SOL_XDP, XDP_STATISTICS, &xs, &len) ||
	    len != sizeof(xs)) {
		json_null(j, key);
		return;
	}
	json_open(j, key);
	json_u64(j, "rx_dropped", xs.rx_dropped);
	json_u64(j, "rx_invalid_descs", xs.rx_invalid_descs);
	json_u64(j, "tx_invalid_descs", xs.tx_invalid_descs);
	json_u64(j, "rx_ring_full", xs.rx_ring_full);
	json_u64(j, "rx_fill_ring_empty_descs", xs.rx_fill_ring_empty_descs);
	json_u64(j, "tx_ring_empty_descs", xs.tx_ring_empty_descs);
	json_close(j);
}

void xsk_port_busy_poll_json(const struct xsk_port *port, struct json *j, const char *key)
{
	const struct xsk_busy_poll *bp = &port->busy_poll;

	json_open(j, key);
	json_int(j, "prefer", bp->prefer);
	json_int(j, "usecs", bp->usecs);
	json_int(j, "budget", bp->budget);
	json_bool(j, "budget_read_back", bp->budget_read_back);
	json_close(j);
}

/* An empty recvfrom: wakes the driver to refill, or with busy polling on
 * runs its NAPI in this context. Nothing to receive, so errors are moot. */
static void wake_rx(struct xsk_port *port)
{
	recvfrom(port->fd, NULL, 0, MSG_DONTWAIT, NULL, NULL);
}

/* Copy mode transmits only inside a syscall; zero-copy drivers need one
 * when they set need_wakeup. */
static void kick_tx(struct xsk_port *port)
{
	if (sendto(port->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) >= 0)
		return;
	/* Busy or out of buffers: the frames stay on the ring for the next kick. */
	if (errno == EAGAIN || errno == EBUSY || errno == ENOBUFS || errno == ENETDOWN)
		return;
	xp_die_errno(errno, "AF_XDP transmit failed on socket %d", port->fd);
}

/* Frames on the TX ring the kernel has not taken yet. */
static bool tx_queued(struct xsk_port *port)
{
	return xsk_prod_nb_free(&port->tx, XSK_TX_SIZE) < XSK_TX_SIZE;
}

/* Reserve n fill ring slots. The kernel publishes what it took from the
 * fill ring a little after the RX descriptors, so this may have to retry;
 * it cannot wait long as the fill ring has room for every frame. False if
 * the program is stopping. */
static bool reserve_fill(struct xsk_port *port, __u32 n, __u32 *idx, enum xsk_wait wait)
{
	while (xsk_ring_prod__reserve(&port->fq, n, idx) != n) {
		if (stopping())
			return false;
		if (wait == XSK_WAIT_SYSCALL || xsk_ring_prod__needs_wakeup(&port->fq))
			wake_rx(port);
	}
	return true;
}

/* Move completed TX frames back to the fill ring, kicking TX first. */
static void complete_tx(struct xsk_port *port, enum xsk_wait wait)
{
	__u32 idx_cq, idx_fq, n, i;

	if (!port->tx_outstanding)
		return;
	if (tx_queued(port) && (!port->need_wakeup || xsk_ring_prod__needs_wakeup(&port->tx)))
		kick_tx(port);
	n = xsk_ring_cons__peek(&port->cq, XSK_BATCH, &idx_cq);
	if (!n)
		return;
	if (!reserve_fill(port, n, &idx_fq, wait)) {
		xsk_ring_cons__cancel(&port->cq, n);
		return;
	}
	for (i = 0; i < n; i++)
		*xsk_ring_prod__fill_addr(&port->fq, idx_fq + i) =
			*xsk_ring_cons__comp_addr(&port->cq, idx_cq + i) & FRAME_MASK;
	xsk_ring_prod__submit(&port->fq, n);
	xsk_ring_cons__release(&port->cq, n);
	port->tx_outstanding -= n;
}

/* Reserve n TX slots, draining completions while the ring is full. False
 * if the program is stopping. */
static bool reserve_tx(struct xsk_port *port, __u32 n, __u32 *idx, enum xsk_wait wait)
{
	while (xsk_ring_prod__reserve(&port->tx, n, idx) != n) {
		if (stopping())
			return false;
		complete_tx(port, wait);
	}
	return true;
}

/* Write n passed frames into the stack; returns how many it took. */
static unsigned int reinject(struct xsk_port *port, struct mmsghdr *msgs, unsigned int n)
{
	unsigned int done = 0;
	int sent;

	while (done < n) {
		sent = sendmmsg(port->pass_fd, msgs + done, n - done, MSG_DONTWAIT);
		if (sent < 0) {
			if (errno == EINTR)
				continue;
			break; /* full or down: the rest is lost, and counted */
		}
		done += sent;
	}
	return done;
}

static void add_counts(struct nf_counters *counters, const __u64 *cnt)
{
	int i;

	for (i = 0; i < NF_COUNTERS; i++)
		if (cnt[i])
			nf_count(counters, i, cnt[i]);
}

/* Run the NF on up to XSK_BATCH received frames; returns how many. */
static __u32 rx_batch(struct xsk_port *port, enum xsk_wait wait, nf_batch_fn batch,
		      const void *cfg, struct nf_counters *counters)
{
	__u32 idx_rx, idx_tx = 0, idx_fq = 0, n, i, ntx = 0, t = 0, f = 0;
	__u64 cnt[NF_COUNTERS] = { 0 }, handed_back = 0;
	struct nf_pkt pkt[XSK_BATCH];
	struct mmsghdr msgs[XSK_BATCH];
	struct iovec iov[XSK_BATCH];
	unsigned int npass = 0, reinjected;
	struct xdp_desc *tx;
	__u64 addr;

	n = xsk_ring_cons__peek(&port->rx, XSK_BATCH, &idx_rx);
	if (!n)
		return 0;
	for (i = 0; i < n; i++) {
		const struct xdp_desc *desc = xsk_ring_cons__rx_desc(&port->rx, idx_rx + i);

		pkt[i].data = xsk_umem__get_data(port->area, desc->addr);
		pkt[i].len = desc->len;
		pkt[i].action = XDP_ABORTED;
	}
	batch(pkt, n, cfg);

	for (i = 0; i < n; i++)
		ntx += pkt[i].action == XDP_TX;
	/* On stop, abandon the batch: the UMEM is about to go away. */
	if (ntx && !reserve_tx(port, ntx, &idx_tx, wait))
		return n;
	if (ntx < n && !reserve_fill(port, n - ntx, &idx_fq, wait))
		return n;

	for (i = 0; i < n; i++) {
		addr = xsk_ring_cons__rx_desc(&port->rx, idx_rx + i)->addr;
		switch (pkt[i].action) {
		case XDP_TX:
			tx = xsk_ring_prod__tx_desc(&port->tx, idx_tx + t++);
			tx->addr = addr;
			tx->len = pkt[i].len;
			tx->options = 0;
			cnt[NF_TX]++;
			continue;
		case XDP_DROP:
			cnt[NF_DROP]++;
			break;
		case NF_HANDED_BACK:
			handed_back++;
			break;
		case XDP_PASS:
			/* Copied into the stack below, before the frame goes
			 * back to the fill ring. */
			cnt[NF_PASS]++;
			if (port->pass_fd < 0)
				break;
			iov[npass].iov_base = pkt[i].data;
			iov[npass].iov_len = pkt[i].len;
			memset(&msgs[npass], 0, sizeof(msgs[npass]));
			msgs[npass].msg_hdr.msg_iov = &iov[npass];
			msgs[npass].msg_hdr.msg_iovlen = 1;
			npass++;
			break;
		default:
			cnt[NF_ABORTED]++;
			break;
		}
		*xsk_ring_prod__fill_addr(&port->fq, idx_fq + f++) = addr & FRAME_MASK;
	}
	if (npass) {
		reinjected = reinject(port, msgs, npass);
		nf_add(&counters->reinjected, reinjected);
		if (reinjected < npass)
			nf_add(&counters->reinject_failed, npass - reinjected);
	}
	xsk_ring_cons__release(&port->rx, n);
	if (f)
		xsk_ring_prod__submit(&port->fq, f);
	if (t) {
		xsk_ring_prod__submit(&port->tx, t);
		port->tx_outstanding += t;
		if (!port->need_wakeup || xsk_ring_prod__needs_wakeup(&port->tx))
			kick_tx(port);
	}
	/* rx: frames the user-space logic decided, so not the handed back. */
	cnt[NF_RX] = n - handed_back;
	add_counts(counters, cnt);
	if (handed_back)
		nf_add(&counters->handed_back, handed_back);
	return n;
}

void xsk_port_run(struct xsk_port *port, enum xsk_wait wait, nf_batch_fn batch,
		  const void *cfg, struct nf_counters *counters)
{
	struct pollfd pfd = { .fd = port->fd, .events = POLLIN };

	while (!stopping()) {
		/* A timeout only serves to look at xp_stop again. */
		if (wait == XSK_WAIT_POLL && poll(&pfd, 1, XSK_POLL_TIMEOUT_MS) < 0 &&
		    errno != EINTR)
			xp_die_errno(errno, "poll on the AF_XDP socket failed");
		complete_tx(port, wait);
		if (rx_batch(port, wait, batch, cfg, counters))
			continue;
		/* RX ring empty: busy polling runs NAPI from here; otherwise
		 * the driver may ask to be woken to refill. */
		if (wait == XSK_WAIT_SYSCALL || xsk_ring_prod__needs_wakeup(&port->fq))
			wake_rx(port);
	}
}
