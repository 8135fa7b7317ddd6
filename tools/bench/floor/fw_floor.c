// SPDX-License-Identifier: GPL-2.0
/*
 * fw_floor: empty hooks on the functions named in symbols=, the floor
 * under finwait_stats's cost in make bench. Same mechanism as the module:
 * one ftrace_ops per function, with the arguments only where the kernel
 * has DYNAMIC_FTRACE_WITH_ARGS (saved registers with save_regs=1, and
 * where it has not), and a callback that gets them and does nothing else
 * (it calls nothing, so it needs no recursion guard); with guard=1, it
 * also takes the recursion guard (which turns preemption off, 5.16 on), as
 * finwait_stats's handlers do, but for the two that only write a per-CPU
 * slot (tcp_timewait_state_process, tcp_abort). With tracepoints=1, empty probes on
 * the tracepoints finwait_stats follows instead of hooking tcp_set_state()
 * and tcp_v4_destroy_sock(): sock:inet_sock_set_state and
 * tcp:tcp_destroy_sock. The bench passes exactly the functions finwait_stats
 * hooks (from /sys/kernel/tracing/enabled_functions while it is loaded).
 * Written for 5.11 and later (struct ftrace_regs), the kernels make bench
 * boots.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ftrace.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/trace_recursion.h>
#include <linux/tracepoint.h>

struct sock;

#define FLOOR_MAX 16

static char *symbols[FLOOR_MAX];
static int nsymbols;
module_param_array(symbols, charp, &nsymbols, 0444);
MODULE_PARM_DESC(symbols, "functions to hook, comma-separated (at most 16)");

static bool save_regs = !IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_ARGS);
module_param(save_regs, bool, 0444);
MODULE_PARM_DESC(save_regs,
		 "hook with FTRACE_OPS_FL_SAVE_REGS, or without: the arguments only (default where the kernel has DYNAMIC_FTRACE_WITH_ARGS)");

static bool guard;
module_param(guard, bool, 0444);
MODULE_PARM_DESC(guard,
		 "take the recursion guard on every call, as most of finwait_stats's handlers do");

static bool tracepoints;
module_param(tracepoints, bool, 0444);
MODULE_PARM_DESC(tracepoints,
		 "empty probes on the tracepoints sock:inet_sock_set_state and tcp:tcp_destroy_sock too, as finwait_stats has");

static struct ftrace_ops ops[FLOOR_MAX];
static unsigned long calls;	/* racy on purpose: only to see it ran */

/* What any handler needs: the registers, or the arguments at least. */
static bool notrace fw_floor_args(struct ftrace_regs *fregs)
{
	return save_regs ? !!ftrace_get_regs(fregs) : !!fregs;
}

static void notrace fw_floor_call(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	if (likely(fw_floor_args(fregs)))
		WRITE_ONCE(calls, READ_ONCE(calls) + 1);
}

static void notrace fw_floor_call_guarded(unsigned long ip, unsigned long parent_ip,
					  struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	int bit = ftrace_test_recursion_trylock(ip, parent_ip);

	if (bit < 0)
		return;
	if (likely(fw_floor_args(fregs)))
		WRITE_ONCE(calls, READ_ONCE(calls) + 1);
	ftrace_test_recursion_unlock(bit);
}

/* The probes finwait_stats attaches there, with nothing to do. */
static void notrace fw_floor_state_probe(void *data, const struct sock *sk, int old, int state)
{
	/* As finwait_stats's probe, which returns at once on most calls. */
	WRITE_ONCE(calls, READ_ONCE(calls) + 1);
}

static void notrace fw_floor_sk_probe(void *data, struct sock *sk)
{
	WRITE_ONCE(calls, READ_ONCE(calls) + 1);
}

static struct {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	bool registered;
} tps[] = {
	{ .name = "tcp_destroy_sock", .probe = fw_floor_sk_probe },
	{ .name = "inet_sock_set_state", .probe = fw_floor_state_probe },
};

static void fw_floor_find(struct tracepoint *t, void *priv)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(tps); i++)
		if (!strcmp(t->name, tps[i].name))
			tps[i].tp = t;
}

static void fw_floor_unregister(int n)
{
	int i;

	for (i = ARRAY_SIZE(tps) - 1; i >= 0; i--) {
		if (!tps[i].registered)
			continue;
		tracepoint_probe_unregister(tps[i].tp, tps[i].probe, NULL);
		tracepoint_synchronize_unregister();
		tps[i].registered = false;
	}
	while (n-- > 0) {
		unregister_ftrace_function(&ops[n]);
		ftrace_set_filter(&ops[n], NULL, 0, 1);
	}
}

static int __init fw_floor_init(void)
{
	char name[KSYM_NAME_LEN];
	int i, err;

	if (!nsymbols) {
		pr_err("symbols= names no function\n");
		return -EINVAL;
	}
	for (i = 0; i < nsymbols; i++) {
		strscpy(name, symbols[i], sizeof(name));
		ops[i].func = guard ? fw_floor_call_guarded : fw_floor_call;
		ops[i].flags = save_regs ? FTRACE_OPS_FL_SAVE_REGS : 0;
		err = ftrace_set_filter(&ops[i], name, strlen(name), 0);
		if (!err) {
			err = register_ftrace_function(&ops[i]);
			if (err)
				ftrace_set_filter(&ops[i], NULL, 0, 1);
		}
		if (err) {
			pr_err("cannot hook %s: %d\n", symbols[i], err);
			fw_floor_unregister(i);
			return err;
		}
	}
	if (tracepoints)
		for_each_kernel_tracepoint(fw_floor_find, NULL);
	for (i = 0; tracepoints && i < ARRAY_SIZE(tps); i++) {
		err = -ENOENT;
		if (tps[i].tp)
			err = tracepoint_probe_register(tps[i].tp, tps[i].probe, NULL);
		if (err) {
			pr_err("cannot attach to tracepoint %s: %d\n", tps[i].name, err);
			fw_floor_unregister(nsymbols);
			return err;
		}
		tps[i].registered = true;
	}
	return 0;
}

static void __exit fw_floor_exit(void)
{
	fw_floor_unregister(nsymbols);
	pr_info("%lu calls\n", calls);
}

module_init(fw_floor_init);
module_exit(fw_floor_exit);
MODULE_DESCRIPTION("Empty ftrace hooks: the cost floor for finwait_stats's benchmark");
MODULE_LICENSE("GPL");
