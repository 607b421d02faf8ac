// SPDX-License-Identifier: GPL-2.0
/* See nf.h. The life of an NF process:
 *   parse args -> enter netns -> pin -> open object, set nf_cfg and the mode
 *   -> load -> sockets into xsks_map -> attach with a BPF link -> start the
 *   control thread -> "ready" -> loop (or wait) until stop -> close all.
 * Sockets go into xsks_map before the program is attached, so the first
 * frame already finds its socket. Nothing is pinned: the link, the maps and
 * the sockets are file descriptors and die with the process, even on kill -9.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include "nf.h"
#include "xsk.h"

#define NF_DEFAULT_BUSY_POLL_USECS 20
#define NF_DEFAULT_BUSY_POLL_BUDGET 64
#define NF_MAX_BUSY_POLL_BUDGET 65535 /* the kernel keeps it in a u16 */
#define NF_STOP_POLL_MS 50 /* how often a mode without a loop looks at xp_stop */
#define NF_JSON_MAX 256    /* longest string echoed back in a JSON answer */

struct nf_mode {
	const char *name;
	unsigned int bit; /* NF_MODE_* */
	bool xdp_logic; /* the XDP program runs the NF; else it redirects */
	bool sockets;
	enum xsk_wait wait;
	/* XDP hands each queue's first frame to its socket (nf_shared.h). */
	bool first_to_socket;
};

static const struct nf_mode nf_modes[] = {
	{ "xdp",         NF_MODE_XDP,         true,  false, XSK_WAIT_BUSY,    false },
	{ "af_xdp",      NF_MODE_AF_XDP,      false, true,  XSK_WAIT_BUSY,    false },
	{ "af_xdp-sysc", NF_MODE_AF_XDP_SYSC, false, true,  XSK_WAIT_SYSCALL, false },
	{ "af_xdp-poll", NF_MODE_AF_XDP_POLL, false, true,  XSK_WAIT_POLL,    false },
	{ "xdp-sk",      NF_MODE_XDP_SK,      true,  true,  XSK_WAIT_POLL,    true },
	{ "xdp-sk-sysc", NF_MODE_XDP_SK_SYSC, true,  true,  XSK_WAIT_SYSCALL, true },
};
#define NF_NUM_MODES (sizeof(nf_modes) / sizeof(nf_modes[0]))

/* How the XDP program is attached (--attach). */
enum nf_attach {
	NF_ATTACH_NATIVE,  /* in the driver (XDP_FLAGS_DRV_MODE) */
	NF_ATTACH_GENERIC, /* after the skb is built (XDP_FLAGS_SKB_MODE) */
	NF_ATTACH_OFFLOAD, /* on the NIC itself (XDP_FLAGS_HW_MODE) */
};

static const char *const nf_attach_names[] = { "native", "generic", "offload" };

struct nf_args {
	const char *netns;
	const char *ifname;
	const char *obj_path;
	const char *pass_ifname;
	const struct nf_mode *mode;
	int cpu;
	__u32 queue;
	enum nf_attach attach;
	bool zerocopy;
	bool need_wakeup;
	int busy_poll_usecs;
	int busy_poll_budget;
};

struct nf_state {
	const struct nf_ops *ops;
	struct nf_args args;
	char obj_path[PATH_MAX];
	unsigned int ifindex;
	struct bpf_object *obj;
	int prog_fd;
	int link_fd;
	int stats_fd;
	int xsks_fd;
	__u32 prog_id;
	struct xsk_port port;
	bool has_port;
	struct nf_counters counters;
	/* Held by the control thread while it reads, and by teardown. */
	pthread_mutex_t lock;
	bool closed;
};

static void usage(const struct nf_ops *ops)
{
	size_t i;

	printf("usage: %s --netns NAME --ifname IF --mode MODE [options] [--param key=value]...\n"
	       "  --netns NAME|PATH        network namespace (name under /run/netns or a path;\n"
	       "                           '' = stay in the current one)\n"
	       "  --ifname IF              interface the NF receives on and transmits to\n"
	       "  --mode MODE              one of:", ops->name);
	for (i = 0; i < NF_NUM_MODES; i++)
		printf(" %s", nf_modes[i].name);
	printf("\n"
	       "  --cpu N                  pin the NF loop to CPU N (default: not pinned)\n"
	       "  --queue Q                RX queue of the AF_XDP socket (default 0)\n"
	       "  --attach native|generic|offload\n"
	       "                           XDP attach mode (default native); offload runs the\n"
	       "                           program on the NIC, only in mode xdp\n"
	       "  --bind copy|zerocopy     AF_XDP bind mode (default copy)\n"
	       "  --need-wakeup on|off     AF_XDP need_wakeup flag (default on)\n"
	       "  --busy-poll-usecs N      SO_BUSY_POLL in *-sysc modes (default %d)\n"
	       "  --busy-poll-budget N     SO_BUSY_POLL_BUDGET in *-sysc modes (default %d)\n"
	       "  --pass-ifname IF         AF_XDP modes: where XDP_PASS frames go into the stack\n"
	       "                           (one end of a veth pair in the NF's namespace; default:\n"
	       "                           nowhere, they are counted and dropped)\n"
	       "  --obj PATH               BPF object (default: %s_kern.o next to the program)\n"
	       "  --param key=value        NF parameter: %s\n"
	       "  --describe               print name, parameters and supported modes as JSON\n"
	       "  --describe-modes         print the table of modes (nf_modes) as JSON\n",
	       NF_DEFAULT_BUSY_POLL_USECS, NF_DEFAULT_BUSY_POLL_BUDGET, ops->name, ops->params_help);
}

/* The modes this NF supports: ops->modes (0 = all), never the user-space
 * ones without user-space logic. */
static unsigned int supported_modes(const struct nf_ops *ops)
{
	unsigned int modes = ops->modes ? ops->modes & NF_MODES_ALL : NF_MODES_ALL;

	if (!ops->batch)
		modes &= ~NF_MODES_USER;
	return modes;
}

/* Write text as a JSON string (quotes included) into out. */
static void json_string(char *out, size_t size, const char *text);

/* --describe: one JSON line, no namespace, no BPF, no root. */
static void describe(const struct nf_ops *ops)
{
	unsigned int modes = supported_modes(ops);
	char name[NF_JSON_MAX], params[1024], note[1024] = "null";
	bool first = true;
	size_t i;

	json_string(name, sizeof(name), ops->name);
	json_string(params, sizeof(params), ops->params_help ? ops->params_help : "");
	if (ops->modes_note)
		json_string(note, sizeof(note), ops->modes_note);
	else if (modes != NF_MODES_ALL && !ops->batch)
		json_string(note, sizeof(note), "no user-space logic (nf_ops.batch) for the AF_XDP modes");
	printf("{\"nf\":%s,\"params\":%s,\"modes\":[", name, params);
	for (i = 0; i < NF_NUM_MODES; i++) {
		if (!(modes & nf_modes[i].bit))
			continue;
		printf("%s\"%s\"", first ? "" : ",", nf_modes[i].name);
		first = false;
	}
	printf("],\"modes_note\":%s}\n", note);
	fflush(stdout);
}

/* --describe-modes: nf_modes as one JSON line, so the test framework can
 * check its own table (pytest_xdpperf/modes.py) against this one. */
static void describe_modes(void)
{
	static const char *const loops[] = {
		[XSK_WAIT_BUSY] = "busy",
		[XSK_WAIT_POLL] = "poll",
		[XSK_WAIT_SYSCALL] = "syscall",
	};
	const struct nf_mode *m;
	size_t i;

	printf("{\"modes\":[");
	for (i = 0; i < NF_NUM_MODES; i++) {
		m = &nf_modes[i];
		printf("%s{\"name\":\"%s\",\"logic\":\"%s\",\"sockets\":%s,\"loop\":\"%s\","
		       "\"first_to_socket\":%s,\"busy_poll\":", i ? "," : "", m->name,
		       m->xdp_logic ? "xdp" : "user", m->sockets ? "true" : "false",
		       m->sockets ? loops[m->wait] : "none", m->first_to_socket ? "true" : "false");
		/* What open_port() sets: only the busy-polling loop touches them. */
		if (m->sockets && m->wait == XSK_WAIT_SYSCALL)
			printf("{\"prefer\":1,\"usecs\":%d,\"budget\":%d}}",
			       NF_DEFAULT_BUSY_POLL_USECS, NF_DEFAULT_BUSY_POLL_BUDGET);
		else
			printf("{}}");
	}
	printf("]}\n");
	fflush(stdout);
}

static const struct nf_mode *find_mode(const char *name)
{
	char valid[256] = "";
	size_t i;

	for (i = 0; i < NF_NUM_MODES; i++) {
		if (strcmp(name, nf_modes[i].name) == 0)
			return &nf_modes[i];
		strcat(valid, i ? ", " : "");
		strcat(valid, nf_modes[i].name);
	}
	xp_die("unknown mode '%s' (valid: %s)", name, valid);
}

/* Accept exactly one of two spellings; true for the first. */
static bool parse_choice(const char *option, const char *text, const char *yes, const char *no)
{
	if (strcmp(text, yes) == 0)
		return true;
	if (strcmp(text, no) == 0)
		return false;
	xp_die("bad %s '%s' (use %s or %s)", option, text, yes, no);
}

static enum nf_attach parse_attach(const char *text)
{
	size_t i;

	for (i = 0; i < sizeof(nf_attach_names) / sizeof(nf_attach_names[0]); i++)
		if (strcmp(text, nf_attach_names[i]) == 0)
			return i;
	xp_die("bad --attach '%s' (use native, generic or offload)", text);
}

static void parse_param(const struct nf_ops *ops, char *text)
{
	char *eq = strchr(text, '=');

	if (!eq || eq == text)
		xp_die("bad --param '%s' (expected key=value; %s takes %s)", text, ops->name,
		       ops->params_help);
	*eq = '\0';
	if (!ops->param || !ops->param(ops->cfg, text, eq + 1))
		xp_die("unknown parameter '%s' for %s (valid: %s)", text, ops->name, ops->params_help);
}

enum {
	OPT_NETNS = 256, OPT_IFNAME, OPT_MODE, OPT_CPU, OPT_QUEUE, OPT_ATTACH, OPT_BIND,
	OPT_NEED_WAKEUP, OPT_BUSY_POLL_USECS, OPT_BUSY_POLL_BUDGET, OPT_OBJ, OPT_PARAM,
	OPT_DESCRIBE, OPT_PASS_IFNAME, OPT_DESCRIBE_MODES,
};

static const struct option long_options[] = {
	{ "netns", required_argument, NULL, OPT_NETNS },
	{ "ifname", required_argument, NULL, OPT_IFNAME },
	{ "mode", required_argument, NULL, OPT_MODE },
	{ "cpu", required_argument, NULL, OPT_CPU },
	{ "queue", required_argument, NULL, OPT_QUEUE },
	{ "attach", required_argument, NULL, OPT_ATTACH },
	{ "bind", required_argument, NULL, OPT_BIND },
	{ "need-wakeup", required_argument, NULL, OPT_NEED_WAKEUP },
	{ "busy-poll-usecs", required_argument, NULL, OPT_BUSY_POLL_USECS },
	{ "busy-poll-budget", required_argument, NULL, OPT_BUSY_POLL_BUDGET },
	{ "obj", required_argument, NULL, OPT_OBJ },
	{ "pass-ifname", required_argument, NULL, OPT_PASS_IFNAME },
	{ "param", required_argument, NULL, OPT_PARAM },
	{ "describe", no_argument, NULL, OPT_DESCRIBE },
	{ "describe-modes", no_argument, NULL, OPT_DESCRIBE_MODES },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void parse_args(struct nf_state *s, int argc, char **argv)
{
	struct nf_args *a = &s->args;
	int opt;

	a->cpu = -1;
	a->need_wakeup = true;
	a->busy_poll_usecs = NF_DEFAULT_BUSY_POLL_USECS;
	a->busy_poll_budget = NF_DEFAULT_BUSY_POLL_BUDGET;
	opterr = 0; /* our own messages, in our format */
	while ((opt = getopt_long(argc, argv, ":h", long_options, NULL)) != -1) {
		switch (opt) {
		case OPT_NETNS:
			a->netns = optarg;
			break;
		case OPT_IFNAME:
			a->ifname = optarg;
			break;
		case OPT_MODE:
			a->mode = find_mode(optarg);
			break;
		case OPT_CPU:
			a->cpu = xp_parse_int("--cpu", optarg, 0, CPU_SETSIZE - 1);
			break;
		case OPT_QUEUE:
			a->queue = xp_parse_int("--queue", optarg, 0, NF_MAX_QUEUES - 1);
			break;
		case OPT_ATTACH:
			a->attach = parse_attach(optarg);
			break;
		case OPT_BIND:
			a->zerocopy = !parse_choice("--bind", optarg, "copy", "zerocopy");
			break;
		case OPT_NEED_WAKEUP:
			a->need_wakeup = parse_choice("--need-wakeup", optarg, "on", "off");
			break;
		case OPT_BUSY_POLL_USECS:
			a->busy_poll_usecs = xp_parse_int("--busy-poll-usecs", optarg, 0, INT_MAX);
			break;
		case OPT_BUSY_POLL_BUDGET:
			a->busy_poll_budget = xp_parse_int("--busy-poll-budget", optarg, 1,
							   NF_MAX_BUSY_POLL_BUDGET);
			break;
		case OPT_OBJ:
			a->obj_path = optarg;
			break;
		case OPT_PASS_IFNAME:
			a->pass_ifname = optarg;
			break;
		case OPT_PARAM:
			parse_param(s->ops, optarg);
			break;
		case OPT_DESCRIBE:
			describe(s->ops);
			exit(0);
		case OPT_DESCRIBE_MODES:
			describe_modes();
			exit(0);
		case 'h':
			usage(s->ops);
			exit(0);
		case ':':
			xp_die("option %s needs a value (see --help)", argv[optind - 1]);
		default:
			xp_die("unknown option '%s' (see --help)", argv[optind - 1]);
		}
	}
	if (optind < argc)
		xp_die("unexpected argument '%s' (NF parameters go in --param key=value)",
		       argv[optind]);
	if (!a->netns)
		xp_die("--netns is required (the namespace holding --ifname; --netns '' stays in the current one)");
	if (!a->ifname)
		xp_die("--ifname is required (the interface the NF serves)");
	if (!a->mode)
		xp_die("--mode is required (see --help for the modes)");
	/* The NIC cannot look up an AF_XDP socket: XSKMAP redirect exists only
	 * in the host kernel, so no socket mode can be offloaded. */
	if (a->attach == NF_ATTACH_OFFLOAD && a->mode->sockets)
		xp_die("mode %s hands frames to an AF_XDP socket, and XSKMAP redirect cannot run in hardware (offload) (use --attach native or generic, or --mode xdp)",
		       a->mode->name);
	if (a->zerocopy && a->attach == NF_ATTACH_GENERIC)
		xp_die("zero-copy needs a driver-mode XDP program (use --attach native or --bind copy)");
	if (!a->mode->xdp_logic && !s->ops->batch)
		xp_die("mode %s runs the NF in user space, but %s has no user-space logic (use --mode xdp)",
		       a->mode->name, s->ops->name);
	if (!(supported_modes(s->ops) & a->mode->bit))
		xp_die("%s cannot run in mode %s%s%s (see %s --describe)", s->ops->name, a->mode->name,
		       s->ops->modes_note ? ": " : "", s->ops->modes_note ? s->ops->modes_note : "",
		       s->ops->name);
}

/* <dir of the executable>/<nf>_kern.o unless --obj says otherwise. */
static void find_object(struct nf_state *s)
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

void nf_set_rodata(struct bpf_object *obj, const char *var, const void *value, size_t size)
{
	struct bpf_map *map = bpf_object__find_map_by_name(obj, ".rodata");
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec;
	const void *init;
	size_t map_size;
	char *data;
	int id, i, n;

	if (!map || !btf)
		xp_die("%s has no .rodata with BTF for %s (declare it const volatile and build with clang -g)",
		       bpf_object__name(obj), var);
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		xp_die("%s has no BTF for .rodata (build it with clang -g)", bpf_object__name(obj));
	sec = btf__type_by_id(btf, id);
	vsi = btf_var_secinfos(sec);
	n = btf_vlen(sec);
	for (i = 0; i < n; i++, vsi++)
		if (strcmp(btf__name_by_offset(btf, btf__type_by_id(btf, vsi->type)->name_off), var) == 0)
			break;
	if (i == n)
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

/* Whether obj's .rodata has a variable var. */
static bool has_rodata(struct bpf_object *obj, const char *var)
{
	struct btf *btf = bpf_object__btf(obj);
	const struct btf_var_secinfo *vsi;
	const struct btf_type *sec;
	int id, i, n;

	if (!btf)
		return false;
	id = btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC);
	if (id < 0)
		return false;
	sec = btf__type_by_id(btf, id);
	vsi = btf_var_secinfos(sec);
	n = btf_vlen(sec);
	for (i = 0; i < n; i++, vsi++)
		if (strcmp(btf__name_by_offset(btf, btf__type_by_id(btf, vsi->type)->name_off), var) == 0)
			return true;
	return false;
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

static void load_object(struct nf_state *s)
{
	const struct nf_ops *ops = s->ops;
	__u32 redirect = !s->args.mode->xdp_logic;
	__u32 first = s->args.mode->first_to_socket;
	__u32 owner = (__u32)getpid();
	struct bpf_prog_info info = {};
	__u32 info_len = sizeof(info);
	struct bpf_program *prog;
	int err;

	s->obj = bpf_object__open_file(s->obj_path, NULL);
	if (!s->obj)
		xp_die_errno(errno, "cannot open BPF object %s (build it: make -C nfs %s, or pass --obj)",
			     s->obj_path, ops->name);
	if (ops->before_load)
		ops->before_load(s->obj, ops->cfg);
	nf_set_rodata(s->obj, NF_CFG_VAR, ops->cfg, ops->cfg_size);
	nf_set_rodata(s->obj, NF_XSK_REDIRECT_VAR, &redirect, sizeof(redirect));
	/* Only objects built with the current nf_kern.h count where they run. */
	if (has_rodata(s->obj, NF_OWNER_TGID_VAR))
		nf_set_rodata(s->obj, NF_OWNER_TGID_VAR, &owner, sizeof(owner));
	if (has_rodata(s->obj, NF_XSK_FIRST_VAR))
		nf_set_rodata(s->obj, NF_XSK_FIRST_VAR, &first, sizeof(first));
	prog = bpf_object__find_program_by_name(s->obj, NF_PROG);
	if (!prog)
		xp_die("%s has no program %s (name the SEC(\"xdp\") function %s)", s->obj_path,
		       NF_PROG, NF_PROG);
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
	s->prog_fd = bpf_program__fd(prog);
	s->stats_fd = map_fd(s, NF_STATS_MAP);
	s->xsks_fd = map_fd(s, NF_XSKS_MAP);
	if (bpf_obj_get_info_by_fd(s->prog_fd, &info, &info_len))
		xp_die_errno(errno, "cannot read the id of program %s", NF_PROG);
	s->prog_id = info.id;
	if (ops->after_load)
		ops->after_load(s->obj, ops->cfg);
}

static void open_port(struct nf_state *s)
{
	struct xsk_opts opts = {
		.ifname = s->args.ifname,
		.queue = s->args.queue,
		.zerocopy = s->args.zerocopy,
		.need_wakeup = s->args.need_wakeup,
		.wait = s->args.mode->wait,
		.busy_poll_usecs = s->args.busy_poll_usecs,
		.busy_poll_budget = s->args.busy_poll_budget,
	};

	xsk_port_open(&s->port, &opts, s->xsks_fd);
	s->has_port = true;
}

/* A BPF link, not a netlink attach: it is released with the last fd, so a
 * crashed or killed NF never leaves its program on the interface. */
static void attach(struct nf_state *s)
{
	const char *ifname = s->args.ifname;
	static const __u32 flags[] = {
		[NF_ATTACH_NATIVE] = XDP_FLAGS_DRV_MODE,
		[NF_ATTACH_GENERIC] = XDP_FLAGS_SKB_MODE,
		[NF_ATTACH_OFFLOAD] = XDP_FLAGS_HW_MODE,
	};
	LIBBPF_OPTS(bpf_link_create_opts, opts, .flags = flags[s->args.attach]);
	const char *how = nf_attach_names[s->args.attach];
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

/* Write text as a JSON string (quotes included) into out. */
static void json_string(char *out, size_t size, const char *text)
{
	size_t o = 0;

	out[o++] = '"';
	for (; *text && o + 8 < size; text++) {
		unsigned char c = *text;

		if (c == '"' || c == '\\')
			o += snprintf(out + o, size - o, "\\%c", c);
		else if (c < 0x20)
			o += snprintf(out + o, size - o, "\\u%04x", c);
		else
			out[o++] = c;
	}
	out[o++] = '"';
	out[o] = '\0';
}

#define NF_MAX_CPUS_SHOWN 256 /* per-CPU lists have at most this many CPUs */
#define NF_CPU_LIST_MAX (4 + NF_MAX_CPUS_SHOWN * 21) /* "[n,n,...]" of u64s */

static const char *const nf_counter_names[NF_COUNTERS] = {
	[NF_RX] = "rx", [NF_DROP] = "drop", [NF_TX] = "tx", [NF_PASS] = "pass",
	[NF_REDIRECT] = "redirect", [NF_ABORTED] = "aborted",
};

/* Sum of the per-CPU kernel counters, and each CPU's own in by_cpu[c]
 * (for c < *ncpus_out). */
static void read_kernel_stats(struct nf_state *s, struct nf_stats *sum, struct nf_stats *by_cpu,
			      int *ncpus_out)
{
	int ncpus = libbpf_num_possible_cpus();
	struct nf_stats *percpu;
	__u32 key = 0;
	int cpu, i;

	memset(sum, 0, sizeof(*sum));
	*ncpus_out = 0;
	if (ncpus <= 0)
		return;
	percpu = calloc(ncpus, sizeof(*percpu));
	if (percpu && bpf_map_lookup_elem(s->stats_fd, &key, percpu) == 0) {
		for (cpu = 0; cpu < ncpus; cpu++) {
			for (i = 0; i < NF_COUNTERS; i++)
				sum->cnt[i] += percpu[cpu].cnt[i];
			sum->xdp_in_nf_task += percpu[cpu].xdp_in_nf_task;
			sum->xdp_elsewhere += percpu[cpu].xdp_elsewhere;
			if (cpu < NF_MAX_CPUS_SHOWN)
				by_cpu[cpu] = percpu[cpu];
		}
		*ncpus_out = ncpus < NF_MAX_CPUS_SHOWN ? ncpus : NF_MAX_CPUS_SHOWN;
	}
	free(percpu);
}

/* {"rx":..,...} of one world's verdicts, into out. */
static void counts_json(char *out, size_t size, const __u64 *cnt)
{
	snprintf(out, size,
		 "{\"rx\":%llu,\"drop\":%llu,\"tx\":%llu,\"pass\":%llu,\"redirect\":%llu,"
		 "\"aborted\":%llu}",
		 cnt[NF_RX], cnt[NF_DROP], cnt[NF_TX], cnt[NF_PASS], cnt[NF_REDIRECT],
		 cnt[NF_ABORTED]);
}

static void emit_stats(struct nf_state *s)
{
	char xdp_counts[256], user_counts[256];
	__u64 user[NF_COUNTERS];
	static struct nf_stats by_cpu[NF_MAX_CPUS_SHOWN];
	/* Only the control thread emits stats: static buffers are safe. */
	static char where[NF_CPU_LIST_MAX], per_cpu[NF_COUNTERS * (NF_CPU_LIST_MAX + 16) + 4];
	char share[32] = "null";
	struct xdp_statistics xs;
	struct nf_stats sum;
	char xsk[512] = "null";
	long long napi_id = -1;
	int c, i, ncpus;
	size_t o, p;

	memset(by_cpu, 0, sizeof(by_cpu));
	read_kernel_stats(s, &sum, by_cpu, &ncpus);
	/* Where the XDP program ran (see nf_shared.h): the share run by the
	 * NF's own syscalls is what tells a *-sysc mode really busy-polls. */
	if (sum.xdp_in_nf_task + sum.xdp_elsewhere)
		snprintf(share, sizeof(share), "%.6f",
			 (double)sum.xdp_in_nf_task / (double)(sum.xdp_in_nf_task + sum.xdp_elsewhere));
	o = snprintf(where, sizeof(where), "[");
	for (i = 0; i < ncpus; i++)
		o += snprintf(where + o, sizeof(where) - o, "%s%llu", i ? "," : "",
			      (unsigned long long)(by_cpu[i].xdp_in_nf_task + by_cpu[i].xdp_elsewhere));
	snprintf(where + o, sizeof(where) - o, "]");
	/* Every XDP verdict counter per CPU: where the kernel side did its work. */
	p = snprintf(per_cpu, sizeof(per_cpu), "{");
	for (i = 0; i < NF_COUNTERS; i++) {
		p += snprintf(per_cpu + p, sizeof(per_cpu) - p, "%s\"%s\":[", i ? "," : "",
			      nf_counter_names[i]);
		for (c = 0; c < ncpus; c++)
			p += snprintf(per_cpu + p, sizeof(per_cpu) - p, "%s%llu", c ? "," : "",
				      (unsigned long long)by_cpu[c].cnt[i]);
		p += snprintf(per_cpu + p, sizeof(per_cpu) - p, "]");
	}
	snprintf(per_cpu + p, sizeof(per_cpu) - p, "}");
	counts_json(xdp_counts, sizeof(xdp_counts), sum.cnt);
	for (i = 0; i < NF_COUNTERS; i++) {
		user[i] = atomic_load_explicit(&s->counters.cnt[i], memory_order_relaxed);
		sum.cnt[i] += user[i];
	}
	counts_json(user_counts, sizeof(user_counts), user);
	if (s->has_port)
		napi_id = xsk_port_napi_id(&s->port);
	if (s->has_port && xsk_port_stats(&s->port, &xs))
		snprintf(xsk, sizeof(xsk),
			 "{\"rx_dropped\":%llu,\"rx_invalid_descs\":%llu,\"tx_invalid_descs\":%llu,"
			 "\"rx_ring_full\":%llu,\"rx_fill_ring_empty_descs\":%llu,"
			 "\"tx_ring_empty_descs\":%llu}",
			 xs.rx_dropped, xs.rx_invalid_descs, xs.tx_invalid_descs, xs.rx_ring_full,
			 xs.rx_fill_ring_empty_descs, xs.tx_ring_empty_descs);
	xp_emit("{\"rx\":%llu,\"drop\":%llu,\"tx\":%llu,\"pass\":%llu,\"redirect\":%llu,"
		"\"aborted\":%llu,\"xsk\":%s,\"xdp_in_nf_task\":%llu,\"xdp_elsewhere\":%llu,"
		"\"xdp_by_cpu\":%s,\"xdp_per_cpu\":%s,\"driver_by_syscall_share\":%s,\"napi_id\":%lld,"
		"\"xdp\":%s,\"user\":%s,\"reinjected\":%llu,\"reinject_failed\":%llu,"
		"\"handed_back\":%llu}",
		sum.cnt[NF_RX], sum.cnt[NF_DROP], sum.cnt[NF_TX], sum.cnt[NF_PASS],
		sum.cnt[NF_REDIRECT], sum.cnt[NF_ABORTED], xsk, sum.xdp_in_nf_task,
		sum.xdp_elsewhere, where, per_cpu, share, napi_id, xdp_counts, user_counts,
		(unsigned long long)atomic_load_explicit(&s->counters.reinjected, memory_order_relaxed),
		(unsigned long long)atomic_load_explicit(&s->counters.reinject_failed,
							 memory_order_relaxed),
		(unsigned long long)atomic_load_explicit(&s->counters.handed_back,
							 memory_order_relaxed));
}

static void on_command(const char *line, void *ctx)
{
	struct nf_state *s = ctx;
	char quoted[NF_JSON_MAX];

	pthread_mutex_lock(&s->lock);
	if (s->closed) {
		xp_emit("{\"error\":\"stopping\"}");
	} else if (strcmp(line, "stats") == 0) {
		emit_stats(s);
	} else {
		json_string(quoted, sizeof(quoted), line);
		/* The quotes of the JSON string become the quotes around X. */
		quoted[0] = quoted[strlen(quoted) - 1] = '\'';
		xp_emit("{\"error\":\"unknown command %s\"}", quoted);
	}
	pthread_mutex_unlock(&s->lock);
}

static void emit_ready(struct nf_state *s)
{
	const struct nf_args *a = &s->args;
	const struct xsk_busy_poll *bp = &s->port.busy_poll;
	char name[NF_JSON_MAX], pass_to[NF_JSON_MAX], busy_poll[128] = "null";
	char info[NF_JSON_MAX] = "null";

	json_string(name, sizeof(name), a->ifname);
	/* The socket's busy-poll options as in force (see xsk.h); -1 = unknown. */
	if (s->has_port)
		snprintf(busy_poll, sizeof(busy_poll),
			 "{\"prefer\":%d,\"usecs\":%d,\"budget\":%d,\"budget_read_back\":%s}",
			 bp->prefer, bp->usecs, bp->budget, bp->budget_read_back ? "true" : "false");
	/* Where XDP_PASS frames go: the stack itself (XDP), a re-injection
	 * interface, or nowhere (AF_XDP without one: counted and dropped). */
	if (a->mode->xdp_logic)
		json_string(pass_to, sizeof(pass_to), "stack");
	else if (a->pass_ifname)
		json_string(pass_to, sizeof(pass_to), a->pass_ifname);
	else
		snprintf(pass_to, sizeof(pass_to), "null");
	if (s->ops->ready_info)
		s->ops->ready_info(info, sizeof(info), s->ops->cfg);
	xp_emit("{\"event\":\"ready\",\"nf\":\"%s\",\"mode\":\"%s\",\"ifname\":%s,\"ifindex\":%u,"
		"\"prog_id\":%u,\"attach\":\"%s\",\"bind\":%s,\"need_wakeup\":%s,\"queue\":%u,"
		"\"pid\":%d,\"cpu\":%d,\"napi_id\":%lld,\"pass_to\":%s,\"busy_poll\":%s,"
		"\"nf_info\":%s}",
		s->ops->name, a->mode->name, name, s->ifindex, s->prog_id,
		nf_attach_names[a->attach],
		!s->has_port ? "null" : a->zerocopy ? "\"zerocopy\"" : "\"copy\"",
		!s->has_port ? "null" : a->need_wakeup ? "true" : "false",
		a->queue, (int)getpid(), a->cpu, s->has_port ? xsk_port_napi_id(&s->port) : -1LL,
		pass_to, busy_poll, info);
}

/* xdp-sk modes: the one frame per queue the XDP program handed to the
 * socket goes through the same program again (see nf_shared.h), which now
 * finishes it like every other frame: BPF_PROG_RUN with live frames sends
 * XDP_TX out of the interface and XDP_PASS into its stack, as the driver
 * would. A failed run leaves the frame to user space, counted aborted. */
static void hand_back(struct nf_pkt *pkt, unsigned int n, const void *data)
{
	const struct nf_state *s = data;
	static bool warned;
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct xdp_md ctx = {
			.data_end = pkt[i].len,
			.ingress_ifindex = s->ifindex,
			.rx_queue_index = s->args.queue,
		};
		LIBBPF_OPTS(bpf_test_run_opts, opts,
			    .data_in = pkt[i].data,
			    .data_size_in = pkt[i].len,
			    .ctx_in = &ctx,
			    .ctx_size_in = sizeof(ctx),
			    .repeat = 1,
			    .flags = BPF_F_TEST_XDP_LIVE_FRAMES,
			    .batch_size = 1);

		if (bpf_prog_test_run_opts(s->prog_fd, &opts) == 0) {
			pkt[i].action = NF_HANDED_BACK;
			continue;
		}
		if (!warned)
			fprintf(stderr, "%s: cannot hand a frame back to XDP (BPF_PROG_RUN: %s); counted aborted\n",
				xp_progname, strerror(errno));
		warned = true;
		pkt[i].action = XDP_ABORTED;
	}
}

/* Modes without a socket loop: the XDP program does the work. */
static void wait_for_stop(void)
{
	struct timespec ts = { .tv_nsec = NF_STOP_POLL_MS * 1000000L };

	while (!atomic_load(&xp_stop))
		nanosleep(&ts, NULL);
}

static void teardown(struct nf_state *s)
{
	pthread_mutex_lock(&s->lock);
	s->closed = true;
	/* Detach first, so no frame is redirected to a closing socket. */
	close(s->link_fd);
	if (s->has_port)
		xsk_port_close(&s->port);
	bpf_object__close(s->obj);
	pthread_mutex_unlock(&s->lock);
}

static const struct nf_mode *current_mode;

bool nf_user_logic(void)
{
	if (!current_mode)
		xp_die("nf_user_logic() called before the command line was parsed");
	return !current_mode->xdp_logic;
}

int nf_main(int argc, char **argv, const struct nf_ops *ops)
{
	static struct nf_state state = { .lock = PTHREAD_MUTEX_INITIALIZER };
	struct nf_state *s = &state;
	cpu_set_t all_cpus;

	xp_progname = ops->name;
	s->ops = ops;
	parse_args(s, argc, argv);
	current_mode = s->args.mode;
	find_object(s);
	xp_install_signals();
	xp_enter_netns(s->args.netns);
	s->ifindex = xp_ifindex(s->args.ifname);

	/* Pin before allocating, so the UMEM lands on the loop's NUMA node. */
	if (sched_getaffinity(0, sizeof(all_cpus), &all_cpus))
		xp_die_errno(errno, "cannot read the CPU affinity");
	xp_pin_cpu(s->args.cpu);

	load_object(s);
	if (s->args.mode->sockets)
		open_port(s);
	/* Only user-space logic needs help to pass a frame; XDP has XDP_PASS. */
	if (s->has_port && !s->args.mode->xdp_logic && s->args.pass_ifname)
		xsk_port_reinject_to(&s->port, s->args.pass_ifname);
	attach(s);

	/* The control thread inherits our affinity: let it run anywhere, so
	 * answering a command never takes the loop's CPU. */
	sched_setaffinity(0, sizeof(all_cpus), &all_cpus);
	xp_control_start(on_command, s);
	xp_pin_cpu(s->args.cpu);

	emit_ready(s);
	if (s->has_port && s->args.mode->xdp_logic)
		xsk_port_run(&s->port, s->args.mode->wait, hand_back, s, &s->counters);
	else if (s->has_port)
		xsk_port_run(&s->port, s->args.mode->wait, ops->batch, ops->cfg, &s->counters);
	else
		wait_for_stop();
	teardown(s);
	return 0;
}

int nf_parse_action(const char *what, const char *text)
{
	if (strcmp(text, "drop") == 0)
		return XDP_DROP;
	if (strcmp(text, "tx") == 0)
		return XDP_TX;
	if (strcmp(text, "pass") == 0)
		return XDP_PASS;
	if (strcmp(text, "aborted") == 0)
		return XDP_ABORTED;
	xp_die("bad %s '%s' (use drop, tx, pass or aborted)", what, text);
}
