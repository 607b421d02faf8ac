/* SPDX-License-Identifier: GPL-2.0 */
/* The contract between an NF's XDP program (nf_kern.h) and the user-space
 * NF runtime (nf.h, xsk.h): names and layouts both sides rely on.
 *
 * Every NF object provides:
 *   - map "nf_stats": per-CPU array, one struct nf_stats (the XDP verdicts);
 *   - map "xsks_map": XSKMAP indexed by RX queue;
 *   - rodata "nf_xsk_redirect": non-zero = hand every frame to the AF_XDP
 *     socket of its queue instead of running the NF in XDP;
 *   - rodata "nf_cfg": the NF's own config struct, filled by user space
 *     before load from the same struct the user-space NF logic reads;
 *   - rodata "nf_owner_tgid": the NF process's tgid, so the program can tell
 *     whether it runs inside the NF's own task (its syscalls ran the driver:
 *     busy poll) or elsewhere (the NAPI kthread / softirq);
 *   - rodata "nf_xsk_first": non-zero (xdp-sk modes) = hand the first frame
 *     of each queue with a socket to that socket and finish all others in
 *     XDP. A socket that has received traffic is one the kernel can
 *     busy-poll for. User space runs the same program on that frame again
 *     (BPF_PROG_RUN with live frames, the flag now cleared), so the NF logic
 *     and its maps finish it as they finish every other frame; it counts as
 *     one "redirect" plus its verdict in the XDP counters, and as
 *     "handed_back" in the stats.
 */
#ifndef NF_SHARED_H
#define NF_SHARED_H

#include <linux/types.h>

#define NF_STATS_MAP "nf_stats"
#define NF_XSKS_MAP "xsks_map"
#define NF_CFG_VAR "nf_cfg"
#define NF_XSK_REDIRECT_VAR "nf_xsk_redirect"
#define NF_OWNER_TGID_VAR "nf_owner_tgid"
#define NF_XSK_FIRST_VAR "nf_xsk_first"
#define NF_PROG "xdp_nf"

/* Size of xsks_map: the highest usable --queue is NF_MAX_QUEUES - 1. */
#define NF_MAX_QUEUES 64

/* What the NF saw and decided. "rx" counts frames the NF logic ran on, so
 * rx == drop + tx + pass + aborted wherever the logic runs; "redirect"
 * counts frames the XDP program handed to an AF_XDP socket. */
enum nf_counter {
	NF_RX,
	NF_DROP,
	NF_TX,
	NF_PASS,
	NF_REDIRECT,
	NF_ABORTED,
	NF_COUNTERS,
};

struct nf_stats {
	__u64 cnt[NF_COUNTERS];
	/* Where the XDP program ran, counted once per run by nf_verdict() and
	 * nf_to_xsk(): in the NF process's own task (its recvfrom/sendto/poll
	 * ran the driver, i.e. busy poll) or in any other task (the NAPI
	 * kthread, or softirq on whatever task it interrupted). Per CPU, as
	 * the map is, so user space also sees on which CPU it ran. The stats
	 * answer has every counter per CPU too (xdp_per_cpu). */
	__u64 xdp_in_nf_task;
	__u64 xdp_elsewhere;
};

#endif
