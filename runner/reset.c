/*
 * reset.c: empty what a command could have written (see reset.h). Runs as
 * the runner (root, in the sandbox) while none of the user's processes
 * lives, so nothing can race the walk; treecopy never follows a link.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "privs.h"
#include "reset.h"
#include "treecopy.h"

static const char *const scratch[] = { "/tmp", "/dev/shm", "/dev/mqueue" };
static const mode_t scratch_mode[] = { 01777, 01777, 01777 };

/* Only the sandbox's init may touch the machine-wide places. */
static int in_sandbox(void)
{
	return getpid() == 1 && privs_available();
}

/* Remove every System V IPC object listed in file (its second column is the id). */
static void remove_ipc(const char *file, int kind)
{
	char line[512];
	FILE *f = fopen(file, "re");

	if (f == NULL)
		return;
	if (fgets(line, sizeof(line), f) == NULL) {	/* the header */
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f) != NULL) {
		long key, id;

		if (sscanf(line, "%ld %ld", &key, &id) != 2)
			continue;
		if (kind == 0)
			shmctl((int)id, IPC_RMID, NULL);
		else if (kind == 1)
			semctl((int)id, 0, IPC_RMID);
		else
			msgctl((int)id, IPC_RMID, NULL);
	}
	fclose(f);
}

/* System V objects outlive their processes. Only their owner may remove them: do it as the user. */
static void reset_ipc(void)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		return;
	if (pid == 0) {
		if (privs_become(PRIVS_USER) == 0) {
			remove_ipc("/proc/sysvipc/shm", 0);
			remove_ipc("/proc/sysvipc/sem", 1);
			remove_ipc("/proc/sysvipc/msg", 2);
		}
		_exit(0);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

int reset_scratch(char *err, size_t errlen)
{
	if (!in_sandbox())
		return 0;
	for (size_t i = 0; i < sizeof(scratch) / sizeof(scratch[0]); i++) {
		struct stat st;

		if (lstat(scratch[i], &st) < 0 || !S_ISDIR(st.st_mode))
			continue;
		if (treecopy_empty(scratch[i], err, errlen) < 0)
			return -1;
		/* The user cannot have changed a root-owned directory's mode, but be sure. */
		if (chown(scratch[i], 0, 0) < 0 || chmod(scratch[i], scratch_mode[i]) < 0) {
			snprintf(err, errlen, "cannot restore %s: %s", scratch[i], strerror(errno));
			return -1;
		}
	}
	reset_ipc();
	return 0;
}

int reset_writable(const char *work_root, const char *judge_root, char *err, size_t errlen)
{
	/* The user owns the work root and may have locked it: open it up first. */
	chmod(work_root, 0755);
	if (treecopy_empty(work_root, err, errlen) < 0 || treecopy_empty(judge_root, err, errlen) < 0)
		return -1;
	if (privs_available() && chown(work_root, PRIVS_USER_UID, PRIVS_USER_UID) < 0) {
		snprintf(err, errlen, "cannot give %s back to the user: %s", work_root, strerror(errno));
		return -1;
	}
	if (chmod(work_root, 0755) < 0) {
		snprintf(err, errlen, "cannot restore %s: %s", work_root, strerror(errno));
		return -1;
	}
	return reset_scratch(err, errlen);
}
