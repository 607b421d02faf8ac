// SPDX-License-Identifier: GPL-2.0
/* nf-modes: the NF runtime's table of modes (nf_modes.h) as JSON, as every
 * NF prints it with --describe-modes, without building an NF (no clang, no
 * BPF object). The test framework reads it: pytest_xdpperf/modes.py.
 */
#include <stdio.h>
#include <string.h>

#include "nf_modes.h"

int main(int argc, char **argv)
{
	struct json j;

	xp_progname = "nf-modes";
	if (argc != 2 || strcmp(argv[1], "--describe-modes") != 0)
		xp_die("usage: nf-modes --describe-modes (prints the table of modes as JSON)");
	json_init(&j);
	nf_modes_json(&j);
	xp_emit("%s", json_text(&j));
	json_free(&j);
	return 0;
}
