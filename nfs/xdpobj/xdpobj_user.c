// SPDX-License-Identifier: GPL-2.0
/* xdpobj: the NF runtime (nf.h) attaching a foreign XDP program, whose
 * verdicts are counted exactly into the runtime's nf_stats.
 *
 * The count is added to the program itself as it is loaded: every exit of
 * the program jumps to a short epilogue that counts rx, the verdict (as
 * nf_verdict() of nf_kern.h does, by the value the program returns) and
 * where it ran, then returns that verdict unchanged. It costs what every
 * bundled NF pays for its counters: one per-CPU map lookup per frame.
 * (An fexit program on the foreign one would count the same without
 * touching it, but needs BPF trampolines, which some kernels refuse.)
 * Programs with BPF-to-BPF calls or tail calls are refused: their exits are
 * not all the program's verdicts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "nf.h"
#include "xdpobj.h"

static struct xdpobj_cfg cfg;

static const struct nf_param xdpobj_params[] = {
	NF_PARAM_PATH("obj", struct xdpobj_cfg, obj, true,
		      "the XDP object file to measure (clang -O2 -g -target bpf)"),
	NF_PARAM_STRING("prog", struct xdpobj_cfg, prog, false,
			"its XDP program ('' = the first one in the object)"),
	NF_PARAMS_END,
};

/* The foreign object, its program, and what the epilogue needs. */
static struct bpf_object *foreign;
static struct bpf_program *target;
static int stats_fd;
static bool rewritten;

#define INSN(c, d, s, o, i) \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_REG(d, s)   INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define MOV_IMM(d, i)   INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define ADD_REG(d, s)   INSN(BPF_ALU64 | BPF_ADD | BPF_X, d, s, 0, 0)
#define ADD_IMM(d, i)   INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define RSH_IMM(d, i)   INSN(BPF_ALU64 | BPF_RSH | BPF_K, d, 0, 0, i)
#define LDX_DW(d, s, o) INSN(BPF_LDX | BPF_MEM | BPF_DW, d, s, o, 0)
#define STX_DW(d, s, o) INSN(BPF_STX | BPF_MEM | BPF_DW, d, s, o, 0)
#define ST_W(d, o, i)   INSN(BPF_ST | BPF_MEM | BPF_W, d, 0, o, i)
#define JEQ_IMM(d, i, o) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, o, i)
#define JNE_IMM(d, i, o) INSN(BPF_JMP | BPF_JNE | BPF_K, d, 0, o, i)
#define JA(o)           INSN(BPF_JMP | BPF_JA, 0, 0, o, 0)
#define CALL(f)         INSN(BPF_JMP | BPF_CALL, 0, 0, 0, f)
#define EXIT()          INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* Append the epilogue: r6 = verdict; stats = lookup(nf_stats, 0); count
 * rx, the verdict's counter and where it ran; return the verdict. Returns
 * the number of instructions written. At an exit nothing of the program
 * is live but r0, so registers and the stack slot are free to use. */
static size_t epilogue(struct bpf_insn *e)
{
	const struct { int action, counter; } verdicts[] = {
		{ XDP_DROP, NF_DROP }, { XDP_TX, NF_TX }, { XDP_PASS, NF_PASS },
		{ XDP_REDIRECT, NF_REDIRECT },
	};
	size_t n = 0, out, i;

	e[n++] = MOV_REG(BPF_REG_6, BPF_REG_0);
	e[n++] = ST_W(BPF_REG_10, -4, 0);
	e[n++] = INSN(BPF_LD | BPF_DW | BPF_IMM, BPF_REG_1, BPF_PSEUDO_MAP_FD, 0, stats_fd);
	e[n++] = INSN(0, 0, 0, 0, 0);
	e[n++] = MOV_REG(BPF_REG_2, BPF_REG_10);
	e[n++] = ADD_IMM(BPF_REG_2, -4);
	e[n++] = CALL(BPF_FUNC_map_lookup_elem);
	out = n++; /* if r0 == 0 goto out, set below */
	e[n++] = MOV_REG(BPF_REG_7, BPF_REG_0);
	/* rx */
	e[n++] = LDX_DW(BPF_REG_1, BPF_REG_7, offsetof(struct nf_stats, cnt[NF_RX]));
	e[n++] = ADD_IMM(BPF_REG_1, 1);
	e[n++] = STX_DW(BPF_REG_7, BPF_REG_1, offsetof(struct nf_stats, cnt[NF_RX]));
	/* the verdict; anything else is aborted, as the kernel treats it */
	e[n++] = MOV_IMM(BPF_REG_2, offsetof(struct nf_stats, cnt[NF_ABORTED]));
	for (i = 0; i < sizeof(verdicts) / sizeof(verdicts[0]); i++) {
		e[n++] = JNE_IMM(BPF_REG_6, verdicts[i].action, 1);
		e[n++] = MOV_IMM(BPF_REG_2, offsetof(struct nf_stats, cnt) +
					    verdicts[i].counter * sizeof(__u64));
	}
	e[n++] = MOV_REG(BPF_REG_1, BPF_REG_7);
	e[n++] = ADD_REG(BPF_REG_1, BPF_REG_2);
	e[n++] = LDX_DW(BPF_REG_3, BPF_REG_1, 0);
	e[n++] = ADD_IMM(BPF_REG_3, 1);
	e[n++] = STX_DW(BPF_REG_1, BPF_REG_3, 0);
	/* where it ran: in the NF's task or elsewhere (nf_count_where) */
	e[n++] = CALL(BPF_FUNC_get_current_pid_tgid);
	e[n++] = RSH_IMM(BPF_REG_0, 32);
	e[n++] = MOV_IMM(BPF_REG_2, offsetof(struct nf_stats, xdp_in_nf_task));
	e[n++] = JEQ_IMM(BPF_REG_0, getpid(), 1);
	e[n++] = MOV_IMM(BPF_REG_2, offsetof(struct nf_stats, xdp_elsewhere));
	e[n++] = MOV_REG(BPF_REG_1, BPF_REG_7);
	e[n++] = ADD_REG(BPF_REG_1, BPF_REG_2);
	e[n++] = LDX_DW(BPF_REG_3, BPF_REG_1, 0);
	e[n++] = ADD_IMM(BPF_REG_3, 1);
	e[n++] = STX_DW(BPF_REG_1, BPF_REG_3, 0);
	e[out] = JEQ_IMM(BPF_REG_0, 0, n - out - 1);
	e[n++] = MOV_REG(BPF_REG_0, BPF_REG_6);
	e[n++] = EXIT();
	return n;
}

#define EPILOGUE_MAX 64

/* libbpf calls this for the XDP programs of the foreign object after it
 * relocated them, just before load: every exit becomes a jump to the
 * epilogue appended at the end. */
static int add_count(struct bpf_program *prog, struct bpf_prog_load_opts *opts, long frags)
{
	const struct bpf_insn *insns = bpf_program__insns(prog);
	size_t n = bpf_program__insn_cnt(prog), i;
	const char *name = bpf_program__name(prog);
	struct bpf_insn *out;

	if (prog != target)
		return 0;
	if (frags)
		opts->prog_flags |= BPF_F_XDP_HAS_FRAGS;
	out = calloc(n + EPILOGUE_MAX, sizeof(*out));
	if (!out)
		xp_die("cannot rewrite %s (out of memory)", name);
	for (i = 0; i < n; i++) {
		const struct bpf_insn *in = &insns[i];

		out[i] = *in;
		if (in->code == (BPF_JMP | BPF_CALL) && in->src_reg == BPF_PSEUDO_CALL)
			xp_die("%s of %s calls a BPF function, so its exits are not all verdicts; xdpobj counts only programs without BPF-to-BPF calls (mark the function __always_inline)",
			       name, cfg.obj);
		if (in->code == (BPF_LD | BPF_IMM | BPF_DW) && in->src_reg == BPF_PSEUDO_FUNC)
			xp_die("%s of %s uses a callback function (bpf_loop, timers ...); xdpobj counts only programs without BPF-to-BPF calls (measure it as an NF of your own: README, Writing an NF)",
			       name, cfg.obj);
		if (in->code == (BPF_JMP | BPF_CALL) && in->src_reg == 0 &&
		    in->imm == BPF_FUNC_tail_call)
			xp_die("%s of %s tail-calls, so other programs decide some verdicts; xdpobj counts only programs without tail calls (measure it as an NF of your own: README, Writing an NF)",
			       name, cfg.obj);
		if (in->code == (BPF_JMP | BPF_EXIT)) {
			if (n - i - 1 > 32767)
				xp_die("%s of %s is too long to count its verdicts (%zu instructions; at most 32768)",
				       name, cfg.obj, n);
			out[i] = JA((__s16)(n - i - 1));
		}
	}
	n += epilogue(out + n);
	if (bpf_program__set_insns(prog, out, n))
		xp_die("cannot rewrite %s of %s (libbpf refused the new instructions)", name, cfg.obj);
	rewritten = true;
	return 0;
}

/* The XDP programs of the foreign object, as "a, b" for messages. */
static void xdp_names(char *out, size_t size)
{
	struct bpf_program *p;
	size_t o = 0;

	out[0] = '\0';
	bpf_object__for_each_program(p, foreign)
		if (bpf_program__type(p) == BPF_PROG_TYPE_XDP && o < size)
			o += snprintf(out + o, size - o, "%s%s", o ? ", " : "", bpf_program__name(p));
}

static void open_foreign(void)
{
	LIBBPF_OPTS(libbpf_prog_handler_opts, plain, .prog_prepare_load_fn = add_count);
	LIBBPF_OPTS(libbpf_prog_handler_opts, frags, .cookie = 1,
		    .prog_prepare_load_fn = add_count);
	int h_plain, h_frags, err;
	libbpf_print_fn_t print;
	struct bpf_program *p;
	char why[128];
	struct bpf_map *map;
	char names[512];

	/* Checked first by libbpf, so the object's XDP programs get add_count. */
	h_plain = libbpf_register_prog_handler("xdp", BPF_PROG_TYPE_XDP, BPF_XDP, &plain);
	h_frags = libbpf_register_prog_handler("xdp.frags", BPF_PROG_TYPE_XDP, BPF_XDP, &frags);
	if (h_plain < 0 || h_frags < 0)
		xp_die("cannot hook the load of XDP programs (libbpf %s too old? it needs libbpf_register_prog_handler)",
		       libbpf_version_string());
	/* libbpf's own line about a bad file would make the message two. */
	print = libbpf_set_print(NULL);
	foreign = bpf_object__open_file(cfg.obj, NULL);
	err = -errno;
	libbpf_set_print(print);
	libbpf_unregister_prog_handler(h_plain);
	libbpf_unregister_prog_handler(h_frags);
	if (!foreign) {
		libbpf_strerror(err, why, sizeof(why));
		xp_die("%s is not a BPF object libbpf can open: %s (build it with clang -O2 -g -target bpf -c)",
		       cfg.obj, why);
	}
	bpf_object__for_each_program(p, foreign) {
		bool xdp = bpf_program__type(p) == BPF_PROG_TYPE_XDP;

		if (!target && xdp && (!cfg.prog[0] || strcmp(bpf_program__name(p), cfg.prog) == 0))
			target = p;
	}
	xdp_names(names, sizeof(names));
	if (!names[0])
		xp_die("%s has no XDP program (give it a SEC(\"xdp\") function)", cfg.obj);
	if (!target)
		xp_die("%s has no XDP program '%s' (its XDP programs: %s; give prog=NAME or leave it out)",
		       cfg.obj, cfg.prog, names);
	/* Only the program measured is loaded; nothing is pinned. */
	bpf_object__for_each_program(p, foreign)
		bpf_program__set_autoload(p, p == target);
	bpf_object__for_each_map(map, foreign)
		if (bpf_map__pin_path(map))
			bpf_map__set_pin_path(map, NULL);
}

static void xdpobj_after_load(struct nf_ctx *ctx)
{
	int err;

	stats_fd = bpf_object__find_map_fd_by_name(ctx->obj, NF_STATS_MAP);
	open_foreign();
	err = bpf_object__load(foreign);
	if (err == -EPERM)
		xp_die_errno(-err, "cannot load %s (run as root)", cfg.obj);
	if (err)
		xp_die_errno(-err, "cannot load %s of %s (see the libbpf/verifier messages above)",
			     bpf_program__name(target), cfg.obj);
	if (!rewritten)
		xp_die("%s of %s was loaded without its verdict count (its section %s is not one xdpobj hooks: use SEC(\"xdp\") or SEC(\"xdp.frags\"))",
		       bpf_program__name(target), cfg.obj, bpf_program__section_name(target));
}

static int xdpobj_prog(struct nf_ctx *ctx)
{
	return bpf_program__fd(target);
}

static void xdpobj_info(const struct nf_ctx *ctx, struct json *out)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	json_str(out, "obj", cfg.obj);
	json_str(out, "prog", bpf_program__name(target));
	json_u64(out, "prog_id",
		 bpf_obj_get_info_by_fd(bpf_program__fd(target), &info, &len) ? 0 : info.id);
	json_str(out, "counted", "at each exit of the program");
}

static const struct nf_ops xdpobj_ops = {
	.name = "xdpobj",
	.cfg = &cfg,
	.cfg_size = sizeof(cfg),
	.params = xdpobj_params,
	.after_load = xdpobj_after_load,
	.xdp_prog = xdpobj_prog,
	.modes = NF_MODE_XDP,
	.modes_note = "a foreign XDP object has no user-space logic for the AF_XDP modes",
	.ready_info = xdpobj_info,
};

int main(int argc, char **argv)
{
	return nf_main(argc, argv, &xdpobj_ops);
}
