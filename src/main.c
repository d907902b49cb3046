/* main.c - dispatch, nothing else: parse the arguments (cmd/args.c) and
 * run the command's entry (one file per command in src/cmd/).
 *
 *   shiproom [options]          the console (attached to the rollout's service)
 *   shiproom serve | attach | stop | status | act | watch | replay | report | check-config |
 *            store import
 *
 * cmd.h lists the commands and the exit statuses; shiproom(1) has it all.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>

#include "shiproom/cmd.h"
#include "shiproom/service.h"

static const struct sr_command_def commands[] = {
    {NULL, CMD_CONSOLE, cmd_console},   {"attach", CMD_ATTACH, cmd_attach},
    {"serve", CMD_SERVE, cmd_serve},    {"stop", CMD_STOP, cmd_stop},
    {"status", CMD_STATUS, cmd_status}, {"act", CMD_ACT, cmd_act},
    {"watch", CMD_WATCH, cmd_watch},    {"replay", CMD_REPLAY, cmd_replay},
    {"report", CMD_REPORT, cmd_report}, {"check-config", CMD_CHECK_CONFIG, cmd_check_config},
    {"store", CMD_STORE, cmd_store},
};

const struct sr_command_def *cmd_find(enum sr_command cmd)
{
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (commands[i].cmd == cmd)
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	/* A peer closing its socket (HAProxy's Runtime API, Prometheus, the
	 * webhook, an attached console) must not kill the process with
	 * SIGPIPE in the middle of a rollback, between an intent and its
	 * outcome: the write fails with EPIPE instead, which the drivers
	 * report and retry. First thing, before any socket exists. */
	signal(SIGPIPE, SIG_IGN);
	/* Likewise a file size limit (ulimit -f) reached by the journal or
	 * a report: the write fails with EFBIG, which the journal reports
	 * as a write it refused (journal_refusing), instead of the process
	 * dying with a core between two records. */
	signal(SIGXFSZ, SIG_IGN);
	/* Capacity-sized blocks (the runner, the simulator's tables, the
	 * policy) must come from fresh mappings, where pages nobody writes
	 * cost nothing. glibc raises its mmap threshold whenever a mapped
	 * block is freed (a report template's 1 MiB read buffer), and then
	 * serves later ones from the heap, whose reused pages calloc must
	 * write zeros over: 0.2 MB more resident for a watch at 50 journeys.
	 * A fixed threshold keeps the first rule. */
	mallopt(M_MMAP_THRESHOLD, 128 * 1024);
	service_keep_argv(argc, argv);
	struct sr_opts o = {.cmd = CMD_CONSOLE, .s = {.speed = 1.0}, .refresh_ms = 1000};
	int rc = cmd_parse_args(argc, argv, &o);
	if (rc)
		return rc;
	if (o.cmd == CMD_HELP) {
		fputs(cmd_usage_text, stdout);
		return SR_EXIT_OK;
	}
	if (o.cmd == CMD_VERSION) {
		printf("shiproom %s\n", SHIPROOM_VERSION);
		return SR_EXIT_OK;
	}
	return cmd_find(o.cmd)->run(&o);
}
