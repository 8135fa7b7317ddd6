// SPDX-License-Identifier: GPL-2.0
/*
 * fw_floor: empty hooks on the functions named in symbols=, the floor
 * under finwait_stats's cost in make bench. Same mechanism as the module
 * (one ftrace_ops per function, saved registers, the recursion guard and
 * preemption off around a handler), with a handler that does nothing. The
 * bench passes exactly the functions finwait_stats hooks (from
 * /sys/kernel/tracing/enabled_functions while it is loaded). Written for
 * 5.11 and later (struct ftrace_regs), the kernels make bench boots.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ftrace.h>
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/string.h>
#include <linux/trace_recursion.h>

#define FLOOR_MAX 16

static char *symbols[FLOOR_MAX];
static int nsymbols;
module_param_array(symbols, charp, &nsymbols, 0444);
MODULE_PARM_DESC(symbols, "functions to hook, comma-separated (at most 16)");

static struct ftrace_ops ops[FLOOR_MAX];
static unsigned long calls;	/* racy on purpose: only to see it ran */

static void notrace fw_floor_call(unsigned long ip, unsigned long parent_ip,
				  struct ftrace_ops *op, struct ftrace_regs *fregs)
{
	int bit = ftrace_test_recursion_trylock(ip, parent_ip);

	if (bit < 0)
		return;
	preempt_disable_notrace();
	if (likely(ftrace_get_regs(fregs)))
		WRITE_ONCE(calls, READ_ONCE(calls) + 1);
	preempt_enable_notrace();
	ftrace_test_recursion_unlock(bit);
}

static void fw_floor_unregister(int n)
{
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
		ops[i].func = fw_floor_call;
		ops[i].flags = FTRACE_OPS_FL_SAVE_REGS;
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
