/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The one place for kernel version differences (5.10 .. mainline; Kbuild
 * refuses older trees).
 * The .c files use only what is defined here.
 */
#ifndef _FINWAIT_COMPAT_H
#define _FINWAIT_COMPAT_H

#include <linux/ftrace.h>
#include <linux/jiffies.h>
#include <linux/preempt.h>
#include <linux/lockdep.h>
#include <linux/tcp.h>
#include <net/net_namespace.h>

#if !IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_REGS)
#error "finwait_stats needs CONFIG_DYNAMIC_FTRACE_WITH_REGS (function tracer)"
#endif
#if !IS_ENABLED(CONFIG_NET_NS)
#error "finwait_stats needs CONFIG_NET_NS"
#endif

/*
 * ftrace callbacks. From 5.11 they get a struct ftrace_regs (pt_regs with
 * FTRACE_OPS_FL_SAVE_REGS, the argument registers without it where the
 * kernel has DYNAMIC_FTRACE_WITH_ARGS) and guard their own recursion, per
 * context; before, a struct pt_regs, and ftrace guards recursion for them.
 */
#ifdef FW_HAVE_FTRACE_REGS
#include <linux/trace_recursion.h>
#define FW_FTRACE_REGS	struct ftrace_regs
#define fw_ftrace_get_regs(fregs)	ftrace_get_regs(fregs)
#define fw_recursion_trylock(ip, pip)	ftrace_test_recursion_trylock((ip), (pip))
#define fw_recursion_unlock(bit)	ftrace_test_recursion_unlock(bit)
#else
#define FW_FTRACE_REGS	struct pt_regs
#define fw_ftrace_get_regs(regs)	(regs)
#define fw_recursion_trylock(ip, pip)	0
#define fw_recursion_unlock(bit)	do { } while (0)
#endif

/*
 * What a hook's handler runs in, after the recursion guard: preemption
 * off, an RCU read side (one flavour since 4.20, PREEMPT_RT included), so
 * that synchronize_rcu() waits for it. Where the guard itself turns
 * preemption off (5.16 on, probed; lockdep checks it), nothing is left to
 * do.
 */
static __always_inline void fw_hook_read_lock(void)
{
#ifdef FW_HAVE_RECURSION_PREEMPT_OFF
	lockdep_assert_preemption_disabled();
#else
	preempt_disable_notrace();
#endif
}

static __always_inline void fw_hook_read_unlock(void)
{
#ifndef FW_HAVE_RECURSION_PREEMPT_OFF
	preempt_enable_notrace();
#endif
}

/* Nth argument (0-based) of the hooked function in saved pt_regs. */
#if defined(CONFIG_HAVE_FUNCTION_ARG_ACCESS_API)
#define FW_REGS_ARG(regs, n)	regs_get_kernel_argument((regs), (n))
#else
#error "finwait_stats needs regs_get_kernel_argument() on this architecture"
#endif

/*
 * What a hook reads its function's arguments from (FW_ARGS, FW_ARG), and
 * the flags its ftrace_ops is registered with. Where the kernel has
 * DYNAMIC_FTRACE_WITH_ARGS (x86-64 from 5.14), ftrace hands an ops without
 * FTRACE_OPS_FL_SAVE_REGS the argument registers in its struct ftrace_regs:
 * its trampoline saves fewer registers than the full pt_regs. Read with
 * ftrace_regs_get_argument() from 6.2 (probed), from the pt_regs that
 * struct ftrace_regs is on x86-64 before. Elsewhere (5.10), saved pt_regs.
 */
#if defined(FW_HAVE_FTRACE_REGS) && IS_ENABLED(CONFIG_DYNAMIC_FTRACE_WITH_ARGS)
#define FW_OPS_FLAGS		0
#define FW_ARGS			struct ftrace_regs
#define fw_ftrace_args(fregs)	(fregs)
#if defined(FW_HAVE_FTRACE_REGS_GET_ARGUMENT)
#define FW_ARG(args, n)		ftrace_regs_get_argument((args), (n))
#elif defined(CONFIG_X86_64)
#define FW_ARG(args, n)		FW_REGS_ARG(&(args)->regs, (n))
#else
#error "finwait_stats: DYNAMIC_FTRACE_WITH_ARGS without ftrace_regs_get_argument()"
#endif
#else
#define FW_OPS_FLAGS		FTRACE_OPS_FL_SAVE_REGS
#define FW_ARGS			struct pt_regs
#define fw_ftrace_args(fregs)	fw_ftrace_get_regs(fregs)
#define FW_ARG(args, n)		FW_REGS_ARG((args), (n))
#endif

/*
 * The function that hashes the new timewait socket in place of the full
 * one; it sees both. Renamed (and given the timeout) in 6.11; Kbuild probes
 * the target tree's header for the new name.
 */
#ifdef FW_HAVE_HASHDANCE_SCHEDULE
#define FW_SYM_HASHDANCE	"inet_twsk_hashdance_schedule"
#else
#define FW_SYM_HASHDANCE	"inet_twsk_hashdance"
#endif

/*
 * Whether tcp_reset() saw an RST segment (reset) or data after close
 * (abort). Before 5.11 tcp_reset() has no skb argument: every call counts
 * as a reset there.
 */
static inline bool fw_reset_skb_is_rst(unsigned long arg1)
{
#ifdef FW_HAVE_TCP_RESET_SKB
	const struct sk_buff *skb = (const void *)arg1;

	return skb && tcp_hdr(skb)->rst;
#else
	return true;
#endif
}

/*
 * The interrupt level this code runs at, to tell a softirq apart from the
 * task it interrupted (interrupt_context_level() from 6.2, written out).
 */
static inline unsigned int fw_irq_level(void)
{
	return (in_nmi() ? 4 : 0) | (hardirq_count() ? 2 : 0) |
	       (in_serving_softirq() ? 1 : 0);
}

/*
 * The netns cookie, for the trace event: a u64 set at netns creation from
 * 5.12 (probed), an atomic64_t set on first use before (0 until then),
 * none before 5.3.
 */
static inline u64 fw_net_cookie(const struct net *net)
{
#if defined(FW_HAVE_NET_COOKIE_U64)
	return net->net_cookie;
#elif defined(FW_HAVE_NET_COOKIE_ATOMIC)
	return atomic64_read(&net->net_cookie);
#else
	return 0;
#endif
}

/* net.ipv4.tcp_fin_timeout is per netns (since 4.15), in jiffies. */
static inline unsigned int fw_fin_timeout_ms(const struct net *net)
{
	return jiffies_to_msecs(READ_ONCE(net->ipv4.sysctl_tcp_fin_timeout));
}

#endif /* _FINWAIT_COMPAT_H */
