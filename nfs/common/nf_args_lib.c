// SPDX-License-Identifier: GPL-2.0
/* The NF runtime's command line: the options every NF has, the NF's own
 * --param table (nf.h struct nf_param), --help, and the descriptions the
 * test framework reads (--describe, --describe-modes).
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>

#include "nf_runtime.h"

const struct nf_choice nf_actions[] = {
	{ "drop", XDP_DROP },
	{ "tx", XDP_TX },
	{ "pass", XDP_PASS },
	{ "aborted", XDP_ABORTED },
	{ NULL },
};

/* The NF's config before any --param: the defaults --help and --describe
 * show, whatever the command line sets before them. */
static void *defaults;

/* --- the parameter table ------------------------------------------------- */

static unsigned long long get_field(const void *cfg, const struct nf_param *p)
{
	const char *field = (const char *)cfg + p->offset;

	switch (p->size) {
	case 1:
		return *(const __u8 *)field;
	case 2:
		return *(const __u16 *)field;
	case 4:
		return *(const __u32 *)field;
	default:
		return *(const __u64 *)field;
	}
}

static void set_field(void *cfg, const struct nf_param *p, unsigned long long value)
{
	char *field = (char *)cfg + p->offset;

	switch (p->size) {
	case 1:
		*(__u8 *)field = value;
		break;
	case 2:
		*(__u16 *)field = value;
		break;
	case 4:
		*(__u32 *)field = value;
		break;
	case 8:
		*(__u64 *)field = value;
		break;
	default:
		xp_die("parameter %s has a field of %zu bytes (use a 1, 2, 4 or 8-byte field)",
		       p->name, p->size);
	}
}

void nf_format_size(char *out, size_t size, unsigned long long bytes)
{
	int shift;

	for (shift = 30; shift >= 10; shift -= 10)
		if (bytes && bytes % (1ULL << shift) == 0) {
			snprintf(out, size, "%llu%c", bytes >> shift, "KMG"[shift / 10 - 1]);
			return;
		}
	snprintf(out, size, "%llu", bytes);
}

static bool is_text(const struct nf_param *p)
{
	return p->type == NF_PARAM_STRING || p->type == NF_PARAM_PATH;
}

/* What a parameter accepts, as in "rounds=0..1000000", "action=drop|tx" or
 * "obj=PATH". */
static void accepts(char *out, size_t size, const struct nf_param *p)
{
	const struct nf_choice *c;
	char lo[32], hi[32];
	size_t o;

	switch (p->type) {
	case NF_PARAM_INT:
		snprintf(out, size, "%s=%lld..%lld", p->name, p->min, p->max);
		break;
	case NF_PARAM_SIZE:
		nf_format_size(lo, sizeof(lo), p->min);
		nf_format_size(hi, sizeof(hi), p->max);
		snprintf(out, size, "%s=%s..%s", p->name, lo, hi);
		break;
	case NF_PARAM_CHOICE:
		o = snprintf(out, size, "%s=", p->name);
		for (c = p->choices; c->name && o < size; c++)
			o += snprintf(out + o, size - o, "%s%s", c == p->choices ? "" : "|", c->name);
		break;
	case NF_PARAM_STRING:
		snprintf(out, size, "%s=TEXT", p->name);
		break;
	case NF_PARAM_PATH:
		snprintf(out, size, "%s=PATH", p->name);
		break;
	}
}

/* Every parameter, as in "action=drop|tx|pass|aborted, rounds=0..1000000". */
static void summary(char *out, size_t size, const struct nf_param *params)
{
	const struct nf_param *p;
	size_t o = 0;

	out[0] = '\0';
	if (!params || !params->name) {
		snprintf(out, size, "no parameters");
		return;
	}
	for (p = params; p->name && o < size; p++) {
		o += snprintf(out + o, size - o, "%s", p == params ? "" : ", ");
		if (o < size)
			accepts(out + o, size - o, p);
		o += strlen(out + o);
	}
}

static const char *choice_name(const struct nf_param *p, unsigned long long value)
{
	const struct nf_choice *c;

	for (c = p->choices; c->name; c++)
		if ((unsigned long long)(unsigned int)c->value == value)
			return c->name;
	return NULL;
}

static int parse_choice_param(const struct nf_param *p, const char *text)
{
	const struct nf_choice *c;
	char valid[256] = "";
	size_t o = 0;

	for (c = p->choices; c->name; c++) {
		if (strcmp(text, c->name) == 0)
			return c->value;
		o += snprintf(valid + o, sizeof(valid) - o, "%s%s",
			      c == p->choices ? "" : c[1].name ? ", " : " or ", c->name);
		if (o >= sizeof(valid))
			o = sizeof(valid) - 1;
	}
	xp_die("bad --param %s '%s' (use %s)", p->name, text, valid);
}

/* A byte count with an optional K, M or G suffix. */
static unsigned long long parse_size_param(const struct nf_param *p, const char *text)
{
	unsigned long long value, min = p->min, max = p->max, step = p->step ? p->step : 1;
	char fix[256], lo[32], hi[32];
	unsigned int shift = 0;
	char *end;

	nf_format_size(lo, sizeof(lo), min);
	nf_format_size(hi, sizeof(hi), max);
	snprintf(fix, sizeof(fix), "give a byte count from %s to %s, a multiple of %llu, with an optional K, M or G suffix, e.g. %s=%s",
		 lo, hi, step, p->name, min <= 64ULL << 20 && 64ULL << 20 <= max ? "64M" : lo);
	if (!isdigit((unsigned char)text[0]))
		xp_die("%s '%s' is not a byte count (%s)", p->name, text, fix);
	errno = 0;
	value = strtoull(text, &end, 10);
	switch (*end) {
	case 'k': case 'K':
		shift = 10;
		break;
	case 'm': case 'M':
		shift = 20;
		break;
	case 'g': case 'G':
		shift = 30;
		break;
	case 't': case 'T': /* only to say plainly that it is too much */
		shift = 40;
		break;
	case '\0':
		break;
	default:
		xp_die("%s '%s' has an unknown unit (%s)", p->name, text, fix);
	}
	if (shift && end[1])
		xp_die("%s '%s' has an unknown unit (%s)", p->name, text, fix);
	if (errno || value > max >> shift)
		xp_die("%s '%s' is over the limit of %s (use at most %s=%s)", p->name, text, hi,
		       p->name, hi);
	value <<= shift;
	if (value < min)
		xp_die("%s '%s' is below the minimum of %llu bytes (use at least %s=%llu)",
		       p->name, text, min, p->name, min);
	if (value % step)
		xp_die("%s '%s' is not a multiple of %llu bytes (use %s=%llu or %s=%llu)",
		       p->name, text, step, p->name, value / step * step, p->name,
		       (value / step + 1) * step);
	return value;
}

/* Text into its char array field; a path must name an existing file. */
static void parse_text_param(void *cfg, const struct nf_param *p, const char *text)
{
	size_t len = strlen(text);
	struct stat st;

	if (len > (size_t)p->max)
		xp_die("%s is %zu bytes, over the limit of %lld (use a shorter %s)", p->name, len,
		       p->max, p->type == NF_PARAM_PATH ? "path" : "value");
	if (len < (size_t)p->min)
		xp_die("%s is empty (give %s=%s)", p->name, p->name,
		       p->type == NF_PARAM_PATH ? "PATH" : "TEXT");
	if (p->type == NF_PARAM_PATH && (stat(text, &st) != 0 || access(text, R_OK) != 0))
		xp_die_errno(errno, "%s '%s' cannot be read (give %s=PATH of an existing file)",
			     p->name, text, p->name);
	if (p->type == NF_PARAM_PATH && !S_ISREG(st.st_mode))
		xp_die("%s '%s' is not a file (give %s=PATH of an existing file)", p->name, text,
		       p->name);
	memcpy((char *)cfg + p->offset, text, len + 1);
}

static void parse_param(const struct nf_ops *ops, char *text)
{
	const struct nf_param *p;
	char *eq = strchr(text, '=');
	char valid[1024], what[128];

	summary(valid, sizeof(valid), ops->params);
	if (!eq || eq == text)
		xp_die("bad --param '%s' (expected key=value; %s takes %s)", text, ops->name, valid);
	*eq = '\0';
	for (p = ops->params; p && p->name; p++)
		if (strcmp(p->name, text) == 0)
			break;
	if (!p || !p->name)
		xp_die("unknown parameter '%s' for %s (valid: %s)", text, ops->name, valid);
	switch (p->type) {
	case NF_PARAM_INT:
		snprintf(what, sizeof(what), "--param %s", p->name);
		set_field(ops->cfg, p, xp_parse_int(what, eq + 1, p->min, p->max));
		break;
	case NF_PARAM_CHOICE:
		set_field(ops->cfg, p, (unsigned int)parse_choice_param(p, eq + 1));
		break;
	case NF_PARAM_SIZE:
		set_field(ops->cfg, p, parse_size_param(p, eq + 1));
		break;
	case NF_PARAM_STRING:
	case NF_PARAM_PATH:
		parse_text_param(ops->cfg, p, eq + 1);
		break;
	}
}

/* Required text parameters (min 1) that no --param gave. */
static void check_required(const struct nf_ops *ops)
{
	const struct nf_param *p;
	char text[256];

	for (p = ops->params; p && p->name; p++)
		if (is_text(p) && p->min > 0 && !((const char *)ops->cfg + p->offset)[0]) {
			accepts(text, sizeof(text), p);
			xp_die("%s needs --param %s (%s)", ops->name, text, p->help);
		}
}

/* --- --help and --describe ----------------------------------------------- */

/* The modes this NF supports: ops->modes (0 = all), never the user-space
 * ones without user-space logic. */
static unsigned int supported_modes(const struct nf_ops *ops)
{
	unsigned int all = nf_all_mode_bits();
	unsigned int modes = ops->modes ? ops->modes & all : all;

	if (!ops->batch)
		modes &= ~nf_user_mode_bits();
	return modes;
}

/* Why the NF lacks the modes it lacks: its own note, else the runtime's
 * when it lacks user-space logic; NULL when it has them all. */
static const char *modes_note(const struct nf_ops *ops)
{
	if (ops->modes_note)
		return ops->modes_note;
	if (supported_modes(ops) != nf_all_mode_bits() && !ops->batch)
		return "no user-space logic (nf_ops.batch) for the AF_XDP modes";
	return NULL;
}

static void usage(const struct nf_ops *ops)
{
	const struct nf_param *p;
	char text[256], def[64];
	unsigned int i;

	printf("usage: %s --netns NAME --ifname IF --mode MODE [options] [--param key=value]...\n"
	       "  --netns NAME|PATH        network namespace (name under /run/netns or a path;\n"
	       "                           '' = stay in the current one)\n"
	       "  --ifname IF              interface the NF receives on and transmits to\n"
	       "  --mode MODE              one of:", ops->name);
	for (i = 0; i < nf_num_modes; i++)
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
	       "  --param key=value        an NF parameter (below)\n"
	       "  --describe               print name, parameters and supported modes as JSON\n"
	       "  --describe-modes         print the table of modes (nf_modes) as JSON\n",
	       NF_DEFAULT_BUSY_POLL_USECS, NF_DEFAULT_BUSY_POLL_BUDGET, ops->name);
	printf("parameters of %s:%s\n", ops->name, ops->params && ops->params->name ? "" : " none");
	for (p = ops->params; p && p->name; p++) {
		unsigned long long value = is_text(p) ? 0 : get_field(defaults, p);

		accepts(text, sizeof(text), p);
		if (is_text(p) && p->min > 0)
			snprintf(def, sizeof(def), "none, required");
		else if (is_text(p))
			snprintf(def, sizeof(def), "'%.60s'", (const char *)defaults + p->offset);
		else if (p->type == NF_PARAM_CHOICE && choice_name(p, value))
			snprintf(def, sizeof(def), "%s", choice_name(p, value));
		else if (p->type == NF_PARAM_SIZE)
			nf_format_size(def, sizeof(def), value);
		else
			snprintf(def, sizeof(def), "%llu", value);
		printf("  --param %s\n      %s (default %s)\n", text, p->help, def);
	}
}

static void param_json(struct json *j, const struct nf_param *p)
{
	static const char *const types[] = {
		[NF_PARAM_INT] = "int",
		[NF_PARAM_CHOICE] = "choice",
		[NF_PARAM_SIZE] = "size",
		[NF_PARAM_STRING] = "string",
		[NF_PARAM_PATH] = "path",
	};
	unsigned long long value = is_text(p) ? 0 : get_field(defaults, p);
	const struct nf_choice *c;

	json_open(j, NULL);
	json_str(j, "name", p->name);
	json_str(j, "type", types[p->type]);
	if (is_text(p)) {
		/* min and max are lengths; a required one (min 1) has no default. */
		json_int(j, "min", p->min);
		json_int(j, "max", p->max);
		json_bool(j, "required", p->min > 0);
		if (p->min > 0)
			json_null(j, "default");
		else
			json_str(j, "default", (const char *)defaults + p->offset);
	} else if (p->type == NF_PARAM_CHOICE) {
		json_open_array(j, "choices");
		for (c = p->choices; c->name; c++)
			json_str(j, NULL, c->name);
		json_close_array(j);
		json_str(j, "default", choice_name(p, value));
	} else {
		json_int(j, "min", p->min);
		json_int(j, "max", p->max);
		if (p->type == NF_PARAM_SIZE)
			json_int(j, "multiple", p->step ? p->step : 1);
		json_u64(j, "default", value);
	}
	json_str(j, "help", p->help);
	json_close(j);
}

/* --describe: one JSON line, no namespace, no BPF, no root. */
static void describe(const struct nf_ops *ops)
{
	unsigned int modes = supported_modes(ops);
	const struct nf_param *p;
	const char *note = modes_note(ops);
	struct json j;
	unsigned int i;

	json_init(&j);
	json_open(&j, NULL);
	json_str(&j, "nf", ops->name);
	json_open_array(&j, "params");
	for (p = ops->params; p && p->name; p++)
		param_json(&j, p);
	json_close_array(&j);
	json_open_array(&j, "modes");
	for (i = 0; i < nf_num_modes; i++)
		if (modes & nf_modes[i].bit)
			json_str(&j, NULL, nf_modes[i].name);
	json_close_array(&j);
	json_str(&j, "modes_note", note);
	json_close(&j);
	xp_emit("%s", json_text(&j));
	json_free(&j);
}

/* --describe-modes: the runtime's table of modes, which the test
 * framework builds its own from (pytest_xdpperf/modes.py). */
static void describe_modes(void)
{
	struct json j;

	json_init(&j);
	nf_modes_json(&j);
	xp_emit("%s", json_text(&j));
	json_free(&j);
}

/* --- the command line ---------------------------------------------------- */

/* Accept exactly one of two spellings; true for the first. */
static bool parse_on_off(const char *option, const char *text)
{
	if (strcmp(text, "on") == 0)
		return true;
	if (strcmp(text, "off") == 0)
		return false;
	xp_die("bad %s '%s' (use on or off)", option, text);
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

/* What the options say together. */
static void check_args(const struct nf_state *s)
{
	const struct nf_args *a = &s->args;
	const struct nf_ops *ops = s->ops;

	if (!a->netns)
		xp_die("--netns is required (the namespace holding --ifname; --netns '' stays in the current one)");
	if (!a->ifname)
		xp_die("--ifname is required (the interface the NF serves)");
	if (!a->mode)
		xp_die("--mode is required (see --help for the modes)");
	if (a->mode->sockets && !nf_attaches[a->attach].with_sockets)
		xp_die("mode %s hands frames to an AF_XDP socket, and XSKMAP redirect cannot run in hardware (offload) (use --attach native or generic, or --mode xdp)",
		       a->mode->name);
	if (a->bind == NF_BIND_ZEROCOPY && a->attach == NF_ATTACH_GENERIC)
		xp_die("zero-copy needs a driver-mode XDP program (use --attach native or --bind copy)");
	/* The NF's own note first: it says why better than the runtime can. */
	if (!(supported_modes(ops) & a->mode->bit))
		xp_die("%s cannot run in mode %s%s%s (see %s --describe)", ops->name, a->mode->name,
		       modes_note(ops) ? ": " : "", modes_note(ops) ? modes_note(ops) : "",
		       ops->name);
}

void nf_parse_args(struct nf_state *s, int argc, char **argv)
{
	struct nf_args *a = &s->args;
	int opt;

	defaults = malloc(s->ops->cfg_size ? s->ops->cfg_size : 1);
	if (!defaults)
		xp_die("out of memory at start (free some memory)");
	memcpy(defaults, s->ops->cfg, s->ops->cfg_size);
	a->cpu = -1;
	a->attach = NF_ATTACH_NATIVE;
	a->bind = NF_BIND_COPY;
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
			a->mode = nf_find_mode(optarg);
			break;
		case OPT_CPU:
			a->cpu = xp_parse_int("--cpu", optarg, 0, CPU_SETSIZE - 1);
			break;
		case OPT_QUEUE:
			a->queue = xp_parse_int("--queue", optarg, 0, NF_MAX_QUEUES - 1);
			break;
		case OPT_ATTACH:
			a->attach = nf_find_attach(optarg);
			break;
		case OPT_BIND:
			a->bind = nf_find_bind(optarg);
			break;
		case OPT_NEED_WAKEUP:
			a->need_wakeup = parse_on_off("--need-wakeup", optarg);
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
	check_args(s);
	check_required(s->ops);
}
