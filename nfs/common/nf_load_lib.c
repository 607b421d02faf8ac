// SPDX-License-Identifier: GPL-2.0
/* The NF runtime's BPF object: found, opened, given the NF's config and the
 * mode as rodata, loaded and attached with a BPF link.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include "nf_runtime.h"

/* <dir of the executable>/<nf>_kern.o unless --obj says otherwise. */
void nf_find_object(struct nf_state *s)
{
	char exe[PATH_MAX];
	ssize_t len;

	if (s->args.obj_path) {
		snprintf(s->obj_path, sizeof(s->obj_path), "%s", s->args.obj_path);
		return;
	}
	len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len < 0)
		xp_die_errno(errno, "cannot find my own executable (pass --obj PATH)");
	exe[len] = '\0';
	snprintf(s->obj_path, sizeof(s->obj_path), "%s/%s_kern.o", dirname(exe), s->ops->name);
}

/* The BTF entry of rodata variable var of obj, or NULL. */
static const struct btf_var_secinfo *find_rodata(struct bpf_object *obj, const char *var)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec;
	int id, i, n;

	if (!btf)
		return NULL;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return NULL;
	sec = btf__type_by_id(btf, id);
	vsi = btf_var_secinfos(sec);
	n = btf_vlen(sec);
	for (i = 0; i < n; i++, vsi++)
		if (strcmp(btf__name_by_offset(btf, btf__type_by_id(btf, vsi->type)->name_off), var) == 0)
			return vsi;
	return NULL;
}

void nf_set_rodata(struct bpf_object *obj, const char *var, const void *value, size_t size)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".rodata");
	const struct btf_var_secinfo *vsi;
	const void *init;
	size_t map_size;
	char *data;

	if (!map || !bpf_object__btf(obj))
		xp_die("%s has no .rodata with BTF for %s (declare it const volatile and build with clang -g)",
		       bpf_object__name(obj), var);
	vsi = find_rodata(obj, var);
	if (!vsi)
		xp_die("%s has no variable %s (declare it const volatile in the _kern.c)",
		       bpf_object__name(obj), var);
	if (vsi->size != size)
		xp_die("%s is %u bytes in %s but %zu bytes here (rebuild both from the same header)",
		       var, vsi->size, bpf_object__name(obj), size);

	/* The initial value is read-only through this libbpf API: patch a copy. */
	init = bpf_map__initial_value(map, &map_size);
	data = malloc(map_size);
	if (!init || !data)
		xp_die("cannot set %s in %s (out of memory)", var, bpf_object__name(obj));
	memcpy(data, init, map_size);
	memcpy(data + vsi->offset, value, size);
	if (bpf_map__set_initial_value(map, data, map_size))
		xp_die("cannot set %s in %s (is the object already loaded?)", var, bpf_object__name(obj));
	free(data);
}

static int map_fd(struct nf_state *s, const char *name)
{
	int fd = bpf_object__find_map_fd_by_name(s->obj, name);

	if (fd < 0)
		xp_die("%s has no map %s (include nf_kern.h in the _kern.c)", s->obj_path, name);
	return fd;
}

/* The driver of ifname as ethtool -i names it, or "unknown". */
static void driver_name(const char *ifname, char *out, size_t size)
{
	struct ethtool_drvinfo info = { .cmd = ETHTOOL_GDRVINFO };
	struct ifreq ifr = {};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	snprintf(out, size, "unknown");
	if (fd < 0)
		return;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (void *)&info;
	if (ioctl(fd, SIOCETHTOOL, &ifr) == 0 && info.driver[0])
		snprintf(out, size, "%s", info.driver);
	close(fd);
}

/* Offload: the program and every map it uses are created for the device,
 * and the device's driver verifies and translates them. */
static void bind_to_device(struct nf_state *s, struct bpf_program *prog)
{
	struct bpf_map *map;

	bpf_program__set_ifindex(prog, s->ifindex);
	bpf_object__for_each_map(map, s->obj)
		bpf_map__set_ifindex(map, s->ifindex);
}

void nf_load_object(struct nf_state *s)
{
	const struct nf_ops *ops = s->ops;
	__u32 redirect = !s->args.mode->xdp_logic;
	__u32 first = s->args.mode->first_to_socket;
	__u32 owner = (__u32)getpid();
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	struct bpf_program *prog = NULL;
	int err;

	s->obj = bpf_object__open_file(s->obj_path, NULL);
	if (!s->obj)
		xp_die_errno(errno, "cannot open BPF object %s (build it: make -C nfs %s, or pass --obj)",
			     s->obj_path, ops->name);
	s->ctx.obj = s->obj;
	if (ops->before_load)
		ops->before_load(&s->ctx);
	nf_set_rodata(s->obj, NF_CFG_VAR, ops->cfg, ops->cfg_size);
	nf_set_rodata(s->obj, NF_XSK_REDIRECT_VAR, &redirect, sizeof(redirect));
	/* Only objects built with the current nf_kern.h count where they run. */
	if (find_rodata(s->obj, NF_OWNER_TGID_VAR))
		nf_set_rodata(s->obj, NF_OWNER_TGID_VAR, &owner, sizeof(owner));
	if (find_rodata(s->obj, NF_XSK_FIRST_VAR))
		nf_set_rodata(s->obj, NF_XSK_FIRST_VAR, &first, sizeof(first));
	/* An NF that brings its own program (ops->xdp_prog) needs no xdp_nf. */
	if (ops->xdp_prog && s->args.attach == NF_ATTACH_OFFLOAD)
		xp_die("%s attaches a program it loads itself, which is not bound to the device (use --attach native or generic)",
		       ops->name);
	if (!ops->xdp_prog) {
		prog = bpf_object__find_program_by_name(s->obj, NF_PROG);
		if (!prog)
			xp_die("%s has no program %s (name the SEC(\"xdp\") function %s)",
			       s->obj_path, NF_PROG, NF_PROG);
	}
	if (s->args.attach == NF_ATTACH_OFFLOAD)
		bind_to_device(s, prog);

	err = bpf_object__load(s->obj);
	if (err && s->args.attach == NF_ATTACH_OFFLOAD) {
		char driver[32];

		/* veth and most drivers have no BPF offload: the kernel refuses
		 * the device-bound maps. An offload-capable NIC (nfp) takes only
		 * what its JIT supports (array/hash maps, a subset of helpers). */
		driver_name(s->args.ifname, driver, sizeof(driver));
		xp_die_errno(err, "%s cannot run XDP in hardware (offload): driver %s of %s did not take %s for the device (use --attach native or generic)",
			     driver, driver, s->args.ifname, s->obj_path);
	}
	if (err == -EPERM)
		xp_die_errno(err, "cannot load %s (run as root)", s->obj_path);
	if (err)
		xp_die_errno(err, "cannot load %s (see the libbpf/verifier messages above)", s->obj_path);
	s->stats_fd = map_fd(s, NF_STATS_MAP);
	s->xsks_fd = map_fd(s, NF_XSKS_MAP);
	if (ops->after_load)
		ops->after_load(&s->ctx);
	s->prog_fd = ops->xdp_prog ? ops->xdp_prog(&s->ctx) : bpf_program__fd(prog);
	if (bpf_obj_get_info_by_fd(s->prog_fd, &info, &info_len))
		xp_die_errno(errno, "cannot read the id of the XDP program of %s", ops->name);
	s->prog_id = info.id;
}

/* A BPF link, not a netlink attach: it is released with the last fd, so a
 * crashed or killed NF never leaves its program on the interface. */
void nf_attach(struct nf_state *s)
{
	const char *ifname = s->args.ifname;
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = nf_attaches[s->args.attach].xdp_flags);
	const char *how = nf_attaches[s->args.attach].name;
	int err;

	s->link_fd = bpf_link_create(s->prog_fd, s->ifindex, BPF_XDP, &opts);
	if (s->link_fd >= 0)
		return;
	err = errno;
	if (err == EPERM)
		xp_die_errno(err, "cannot attach to %s (run as root)", ifname);
	if (err == EBUSY || err == EEXIST)
		xp_die_errno(err, "%s already has an XDP program (remove it: ip link set dev %s xdp off; or stop the NF holding it)",
			     ifname, ifname);
	if (err == EOPNOTSUPP && s->args.attach == NF_ATTACH_NATIVE)
		xp_die_errno(err, "driver of %s has no native XDP (use --attach generic)", ifname);
	if (s->args.attach == NF_ATTACH_OFFLOAD)
		xp_die_errno(err, "cannot attach XDP to %s in hardware (offload) (use --attach native or generic)",
			     ifname);
	xp_die_errno(err, "cannot attach XDP to %s in %s mode (check the MTU and, for veth, the peer's queues; try --attach %s)",
		     ifname, how, s->args.attach == NF_ATTACH_GENERIC ? "native" : "generic");
}

