// SPDX-License-Identifier: GPL-2.0
/* See nf_modes.h. */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/if_xdp.h>

#include "nf.h"
#include "nf_modes.h"

/* In the reference study's order (kernel first), which is also the order
 * of the framework's default --xdp-mode and of its figures. */
const struct nf_mode nf_modes[] = {
	{ "xdp",         NF_MODE_XDP,         true,  false, XSK_WAIT_BUSY,    false },
	{ "xdp-sk",      NF_MODE_XDP_SK,      true,  true,  XSK_WAIT_POLL,    true },
	{ "xdp-sk-sysc", NF_MODE_XDP_SK_SYSC, true,  true,  XSK_WAIT_SYSCALL, true },
	{ "af_xdp",      NF_MODE_AF_XDP,      false, true,  XSK_WAIT_BUSY,    false },
	{ "af_xdp-sysc", NF_MODE_AF_XDP_SYSC, false, true,  XSK_WAIT_SYSCALL, false },
	{ "af_xdp-poll", NF_MODE_AF_XDP_POLL, false, true,  XSK_WAIT_POLL,    false },
};
const unsigned int nf_num_modes = sizeof(nf_modes) / sizeof(nf_modes[0]);

/* The NIC cannot look up an AF_XDP socket: XSKMAP redirect exists only in
 * the host kernel, so no socket mode can be offloaded. */
const struct nf_attach nf_attaches[] = {
	[NF_ATTACH_NATIVE] = { "native", XDP_FLAGS_DRV_MODE, true },
	[NF_ATTACH_GENERIC] = { "generic", XDP_FLAGS_SKB_MODE, true },
	[NF_ATTACH_OFFLOAD] = { "offload", XDP_FLAGS_HW_MODE, false },
};
const unsigned int nf_num_attaches = sizeof(nf_attaches) / sizeof(nf_attaches[0]);

const struct nf_bind nf_binds[] = {
	[NF_BIND_COPY] = { "copy", XDP_COPY },
	[NF_BIND_ZEROCOPY] = { "zerocopy", XDP_ZEROCOPY },
};
const unsigned int nf_num_binds = sizeof(nf_binds) / sizeof(nf_binds[0]);

static const char *const loop_names[] = {
	[XSK_WAIT_BUSY] = "busy",
	[XSK_WAIT_POLL] = "poll",
	[XSK_WAIT_SYSCALL] = "syscall",
};

/* "a, b or c" (with or) or "a, b, c" of the n names of a table whose
 * entries, stride bytes apart, start with their name. */
static void list_names(char *out, size_t size, const void *table, size_t stride, unsigned int n,
		       bool with_or)
{
	size_t o = 0;
	unsigned int i;

	out[0] = '\0';
	for (i = 0; i < n && o < size; i++)
		o += snprintf(out + o, size - o, "%s%s",
			      i == 0 ? "" : with_or && i + 1 == n ? " or " : ", ",
			      *(const char *const *)((const char *)table + i * stride));
}

const struct nf_mode *nf_find_mode(const char *text)
{
	char valid[256];
	unsigned int i;

	for (i = 0; i < nf_num_modes; i++)
		if (strcmp(text, nf_modes[i].name) == 0)
			return &nf_modes[i];
	list_names(valid, sizeof(valid), nf_modes, sizeof(nf_modes[0]), nf_num_modes, false);
	xp_die("unknown mode '%s' (valid: %s)", text, valid);
}

unsigned int nf_find_attach(const char *text)
{
	char valid[128];
	unsigned int i;

	for (i = 0; i < nf_num_attaches; i++)
		if (strcmp(text, nf_attaches[i].name) == 0)
			return i;
	list_names(valid, sizeof(valid), nf_attaches, sizeof(nf_attaches[0]), nf_num_attaches, true);
	xp_die("bad --attach '%s' (use %s)", text, valid);
}

unsigned int nf_find_bind(const char *text)
{
	char valid[128];
	unsigned int i;

	for (i = 0; i < nf_num_binds; i++)
		if (strcmp(text, nf_binds[i].name) == 0)
			return i;
	list_names(valid, sizeof(valid), nf_binds, sizeof(nf_binds[0]), nf_num_binds, true);
	xp_die("bad --bind '%s' (use %s)", text, valid);
}

__u16 nf_bind_flags(unsigned int bind, bool need_wakeup)
{
	return nf_binds[bind].bind_flags | (need_wakeup ? XDP_USE_NEED_WAKEUP : 0);
}

unsigned int nf_all_mode_bits(void)
{
	unsigned int i, bits = 0;

	for (i = 0; i < nf_num_modes; i++)
		bits |= nf_modes[i].bit;
	return bits;
}

unsigned int nf_user_mode_bits(void)
{
	unsigned int i, bits = 0;

	for (i = 0; i < nf_num_modes; i++)
		if (!nf_modes[i].xdp_logic)
			bits |= nf_modes[i].bit;
	return bits;
}

static void mode_json(struct json *j, const struct nf_mode *m)
{
	unsigned int i;

	json_open(j, NULL);
	json_str(j, "name", m->name);
	json_str(j, "logic", m->xdp_logic ? "xdp" : "user");
	json_bool(j, "sockets", m->sockets);
	json_str(j, "loop", m->sockets ? loop_names[m->wait] : "none");
	json_bool(j, "first_to_socket", m->first_to_socket);
	/* The --attach values this mode takes, with their XDP_FLAGS_*. */
	json_open(j, "attach");
	for (i = 0; i < nf_num_attaches; i++)
		if (!m->sockets || nf_attaches[i].with_sockets)
			json_u64(j, nf_attaches[i].name, nf_attaches[i].xdp_flags);
	json_close(j);
	/* The --bind values with their bind flags, if it binds sockets. */
	if (m->sockets) {
		json_open(j, "bind");
		for (i = 0; i < nf_num_binds; i++)
			json_u64(j, nf_binds[i].name, nf_binds[i].bind_flags);
		json_u64(j, "need_wakeup", XDP_USE_NEED_WAKEUP);
		json_close(j);
	} else {
		json_null(j, "bind");
	}
	/* What the sockets' busy-poll options are set to: only the
	 * busy-polling loop touches them. */
	json_open(j, "busy_poll");
	if (m->sockets && m->wait == XSK_WAIT_SYSCALL) {
		json_int(j, "prefer", NF_BUSY_POLL_PREFER);
		json_int(j, "usecs", NF_DEFAULT_BUSY_POLL_USECS);
		json_int(j, "budget", NF_DEFAULT_BUSY_POLL_BUDGET);
	}
	json_close(j);
	json_close(j);
}

void nf_modes_json(struct json *j)
{
	unsigned int i;

	json_open(j, NULL);
	json_open_array(j, "modes");
	for (i = 0; i < nf_num_modes; i++)
		mode_json(j, &nf_modes[i]);
	json_close_array(j);
	/* What --busy-poll-usecs and --busy-poll-budget accept. */
	json_open(j, "busy_poll_range");
	json_open(j, "usecs");
	json_int(j, "min", 0);
	json_int(j, "max", INT_MAX);
	json_close(j);
	json_open(j, "budget");
	json_int(j, "min", 1);
	json_int(j, "max", NF_MAX_BUSY_POLL_BUDGET);
	json_close(j);
	json_close(j);
	json_close(j);
}
