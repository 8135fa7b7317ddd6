// SPDX-License-Identifier: GPL-2.0
/*
 * fw_insn: a qemu TCG plugin that counts the guest instructions executed,
 * by translation block, for tools/bench/insn.sh (make bench-insn).
 *
 * Every translation block gets a counter that its execution increments
 * (an inline add: no call out of the translated code). The window counted
 * is between the first and the second execution of the block at trigger=
 * (the guest calls syncfs(2) on each side of its churn; trigger is the
 * address of __x64_sys_syncfs in the guest kernel); without trigger=, the
 * whole run. At exit it writes "ADDRESS INSNS COUNT" per block executed in
 * the window to out=: the block's first guest address, its instructions,
 * its executions (a block left part-way, by a fault or an I/O recompile,
 * counts whole). A block retranslated later has a line of its own. Then
 * "marks N": how many times the trigger ran, which must be 2.
 *
 * Debian's qemu (7.2) runs plugins but ships no qemu-plugin.h: the few
 * calls used are declared here, as its plugin API version 1 has them.
 */
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FW_EXPORT __attribute__((visibility("default")))
#define FW_UNUSED __attribute__((unused))

typedef uint64_t qemu_plugin_id_t;

typedef struct {
	const char *target_name;
	struct {
		int min, cur;
	} version;
	bool system_emulation;
	union {
		struct {
			int smp_vcpus, max_vcpus;
		} system;
	};
} qemu_info_t;

struct qemu_plugin_tb;
enum qemu_plugin_op { QEMU_PLUGIN_INLINE_ADD_U64 };
enum qemu_plugin_cb_flags { QEMU_PLUGIN_CB_NO_REGS };

void qemu_plugin_register_vcpu_tb_trans_cb(qemu_plugin_id_t id,
					   void (*cb)(qemu_plugin_id_t, struct qemu_plugin_tb *));
void qemu_plugin_register_vcpu_tb_exec_inline(struct qemu_plugin_tb *tb,
					      enum qemu_plugin_op op, void *ptr, uint64_t imm);
void qemu_plugin_register_vcpu_tb_exec_cb(struct qemu_plugin_tb *tb,
					  void (*cb)(unsigned int, void *),
					  enum qemu_plugin_cb_flags flags, void *userdata);
size_t qemu_plugin_tb_n_insns(const struct qemu_plugin_tb *tb);
uint64_t qemu_plugin_tb_vaddr(const struct qemu_plugin_tb *tb);
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id,
				    void (*cb)(qemu_plugin_id_t, void *), void *userdata);

FW_EXPORT int qemu_plugin_version = 1;

struct block {
	uint64_t vaddr, insns;
	uint64_t count;		/* executions, incremented by the translated code */
	uint64_t at[2];		/* count at the window's start and end */
	struct block *next;
};

static struct block *blocks;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t trigger;
static int marks;		/* executions of the trigger so far */
static const char *out;

/* The trigger block runs: the window opens, then closes. */
static void mark(FW_UNUSED unsigned int vcpu, FW_UNUSED void *unused)
{
	struct block *b;

	pthread_mutex_lock(&lock);
	if (marks < 2)
		for (b = blocks; b; b = b->next)
			b->at[marks] = b->count;
	marks++;
	pthread_mutex_unlock(&lock);
}

static void translated(FW_UNUSED qemu_plugin_id_t id, struct qemu_plugin_tb *tb)
{
	struct block *b = calloc(1, sizeof(*b));

	if (!b)
		abort();
	b->vaddr = qemu_plugin_tb_vaddr(tb);
	b->insns = qemu_plugin_tb_n_insns(tb);
	/* A block made after the window opened starts at 0 there. */
	pthread_mutex_lock(&lock);
	b->next = blocks;
	blocks = b;
	pthread_mutex_unlock(&lock);
	if (trigger && b->vaddr == trigger)
		qemu_plugin_register_vcpu_tb_exec_cb(tb, mark, QEMU_PLUGIN_CB_NO_REGS, NULL);
	qemu_plugin_register_vcpu_tb_exec_inline(tb, QEMU_PLUGIN_INLINE_ADD_U64, &b->count, 1);
}

static void done(FW_UNUSED qemu_plugin_id_t id, FW_UNUSED void *unused)
{
	FILE *f = fopen(out, "w");
	struct block *b;

	if (!f) {
		perror(out);
		return;
	}
	pthread_mutex_lock(&lock);
	for (b = blocks; b; b = b->next) {
		uint64_t end = marks >= 2 ? b->at[1] : b->count;
		uint64_t n = end - (trigger ? b->at[0] : 0);

		if (n)
			fprintf(f, "%llx %llu %llu\n", (unsigned long long)b->vaddr,
				(unsigned long long)b->insns, (unsigned long long)n);
	}
	/* The host side checks that the window opened and closed, once. */
	fprintf(f, "marks %d\n", marks);
	pthread_mutex_unlock(&lock);
	fclose(f);
}

FW_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, FW_UNUSED const qemu_info_t *info,
				  int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (!strncmp(argv[i], "out=", 4))
			out = argv[i] + 4;
		else if (!strncmp(argv[i], "trigger=", 8))
			trigger = strtoull(argv[i] + 8, NULL, 16);
		else {
			fprintf(stderr, "fw_insn: unknown argument %s\n", argv[i]);
			return -1;
		}
	}
	if (!out) {
		fprintf(stderr, "fw_insn: out=FILE is required\n");
		return -1;
	}
	qemu_plugin_register_vcpu_tb_trans_cb(id, translated);
	qemu_plugin_register_atexit_cb(id, done, NULL);
	return 0;
}
