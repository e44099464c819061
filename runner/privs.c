/*
 * privs.c: drop from the runner's root to the identity a program runs as.
 *
 * Order matters: the bounding set is trimmed while we still hold
 * CAP_SETPCAP, supplementary groups go while we hold CAP_SETGID, the gid
 * changes before the uid, and only the check keeps one capability, carried
 * across exec as an ambient capability (it needs KEEPCAPS over setresuid,
 * then permitted + inheritable before PR_CAP_AMBIENT_RAISE). A final
 * getresuid() makes sure no id is left at 0.
 */
#include <errno.h>
#include <grp.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "privs.h"

#define CAP_MAX_TRY	64

bool privs_available(void)
{
	return geteuid() == 0;
}

/* Drop every capability but keep (-1: none) from the bounding set. */
static int trim_bounding_set(int keep)
{
	for (int cap = 0; cap < CAP_MAX_TRY; cap++) {
		if (cap == keep)
			continue;
		if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
			return -1;
	}
	return 0;
}

/* After setresuid with KEEPCAPS: keep only cap, permitted, effective, inheritable and ambient. */
static int keep_only(int cap)
{
	struct __user_cap_header_struct hdr = { _LINUX_CAPABILITY_VERSION_3, 0 };
	struct __user_cap_data_struct data[2] = { { 0, 0, 0 }, { 0, 0, 0 } };
	unsigned int bit = 1u << (cap % 32);

	data[cap / 32].effective = bit;
	data[cap / 32].permitted = bit;
	data[cap / 32].inheritable = bit;
	if (syscall(SYS_capset, &hdr, data) < 0)
		return -1;
	return prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0);
}

int privs_become(enum privs p)
{
	uid_t ruid = PRIVS_USER_UID, euid = PRIVS_USER_UID, r, e, s;
	int keep = p == PRIVS_CHECK ? CAP_DAC_READ_SEARCH : -1;

	if (p == PRIVS_SAME || !privs_available())
		return 0;
	if (p == PRIVS_JUDGE)
		ruid = euid = PRIVS_JUDGE_UID;
	else if (p == PRIVS_JUDGE_KILLABLE)
		euid = PRIVS_JUDGE_UID;
	if (trim_bounding_set(keep) < 0 || setgroups(0, NULL) < 0)
		return -1;
	if (keep >= 0 && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
		return -1;
	if (setresgid(euid, euid, euid) < 0 || setresuid(ruid, euid, euid) < 0)
		return -1;
	if (keep >= 0 && keep_only(keep) < 0)
		return -1;
	if (getresuid(&r, &e, &s) < 0 || r == 0 || e == 0 || s == 0) {
		errno = EPERM;
		return -1;
	}
	return 0;
}
