// SPDX-License-Identifier: GPL-2.0
/*
 * The tool's signal handling (sys.c): Ctrl+C and its kin are blocked except
 * in the waits, and a wait with no time left must still let a pending one
 * in. A poll loop that runs behind its schedule (a slow guest) never has
 * time left to sleep; before this was checked, it noticed a Ctrl+C only at
 * its next real wait, 20 s later in one run.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "finwait.h"

/* sys.c's netns walk needs it; nothing here walks. */
int fw_parse_long(const char *s, long min, long max, long *out)
{
	(void)s;
	(void)min;
	(void)max;
	(void)out;
	abort();
}

static int failed, n;

static void ok(int cond, const char *what)
{
	printf("%sok %d - %s\n", cond ? "" : "not ", ++n, what);
	failed |= !cond;
}

int main(void)
{
	printf("TAP version 13\n1..4\n");
	fw_catch_signals();
	kill(getpid(), SIGINT);
	ok(!fw_interrupted, "SIGINT stays pending outside a wait");
	fw_sleep_s(-0.5);
	ok(fw_interrupted == SIGINT, "a wait already overdue (-0.5 s) takes the pending SIGINT");
	fw_interrupted = 0;
	kill(getpid(), SIGTERM);
	fw_sleep_s(0);
	ok(fw_interrupted == SIGTERM, "a wait of 0 s takes a pending SIGTERM");
	fw_interrupted = 0;
	fw_sleep_s(0.01);
	ok(!fw_interrupted, "no signal: a 10 ms wait returns with none");
	return failed;
}
