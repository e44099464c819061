/*
 * audit_names.h: the names of the audit's forgery strategies (cmdarena-check(1), --audit).
 *
 * One list shared by the catalogue loader (audit_allow may only name a strategy that exists)
 * and the audit itself (fcgi/check/audit_strategy.c builds one command per name, in this order).
 */
#ifndef CMDARENA_AUDIT_NAMES_H
#define CMDARENA_AUDIT_NAMES_H

#include <stdbool.h>
#include <string.h>

#define AUDIT_STRATEGY_LIST(X) \
	X(empty_files) X(delete_everything) X(replace_empty) X(empty_layout) X(empty_touched) X(kill_replay) \
	X(expected_lines) X(second_run) X(exhaust_pids) X(close_stdout) X(chmod_blind) \
	X(fill_tmpfs) X(symlink_dirs) X(symlink_files) X(print_nothing) X(replay) X(example_in_copy)

#define AUDIT_NAME_STRING(n) #n,
static const char *const audit_strategy_names[] = { AUDIT_STRATEGY_LIST(AUDIT_NAME_STRING) };
#undef AUDIT_NAME_STRING
#define AUDIT_N_STRATEGIES (sizeof(audit_strategy_names) / sizeof(audit_strategy_names[0]))

static inline bool audit_strategy_known(const char *name)
{
	for (size_t i = 0; i < AUDIT_N_STRATEGIES; i++)
		if (strcmp(audit_strategy_names[i], name) == 0)
			return true;
	return false;
}

#endif
