/*
 * treecopy.c: copy a challenge's directory tree from the read-only image into
 * the writable tmpfs, and remove it again for a fresh copy.
 *
 * Everything goes through directory descriptors and *at() calls with
 * O_NOFOLLOW/AT_SYMLINK_NOFOLLOW: a link the user planted is removed, never
 * followed. Depth is bounded (each level holds descriptors; nofile is small).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "treecopy.h"

#define MAX_DEPTH	64
#define DIR_FLAGS	(O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
#define MODE_BITS	01777	/* permissions and sticky; never setuid/setgid */

/* errno-style failure with context; only this file's formats. */
__attribute__((format(printf, 3, 4)))
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	int e = errno;
	size_t n;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	n = strlen(err);
	if (e != 0 && n < errlen)
		snprintf(err + n, errlen - n, ": %s", strerror(e));
	return -1;
}

/* Copy the bytes of sfd to dfd (sendfile; read/write where it cannot). */
static int copy_bytes(int sfd, int dfd, off_t size)
{
	char buf[16384];
	ssize_t n;

	while (size > 0) {
		n = sendfile(dfd, sfd, NULL, (size_t)size);
		if (n > 0) {
			size -= n;
			continue;
		}
		if (n == 0)
			return 0;	/* the file shrank */
		if (errno == EINTR)
			continue;
		if (errno != EINVAL && errno != ENOSYS)
			return -1;
		break;
	}
	while ((n = read(sfd, buf, sizeof(buf))) != 0) {
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		for (ssize_t w = 0, k; w < n; w += k) {
			k = write(dfd, buf + w, (size_t)(n - w));
			if (k < 0) {
				if (errno == EINTR) {
					k = 0;
					continue;
				}
				return -1;
			}
		}
	}
	return 0;
}

static int copy_file(int sdir, int ddir, const char *name, const struct stat *st,
    char *err, size_t errlen)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	int sfd, dfd, rc = -1;

	sfd = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (sfd < 0)
		return fail(err, errlen, "cannot open %s", name);
	dfd = openat(ddir, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (dfd < 0) {
		fail(err, errlen, "cannot create %s", name);
		goto out;
	}
	if (copy_bytes(sfd, dfd, st->st_size) < 0) {
		fail(err, errlen, "cannot copy %s", name);
		goto out;
	}
	if (fchmod(dfd, st->st_mode & MODE_BITS) < 0 || futimens(dfd, times) < 0) {
		fail(err, errlen, "cannot set the mode or time of %s", name);
		goto out;
	}
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	close(sfd);
	return rc;
}

static int copy_link(int sdir, int ddir, const char *name, const struct stat *st,
    char *err, size_t errlen)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	char target[4096];
	ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);

	if (n < 0)
		return fail(err, errlen, "cannot read the link %s", name);
	target[n] = '\0';
	if (symlinkat(target, ddir, name) < 0)
		return fail(err, errlen, "cannot create the link %s", name);
	if (utimensat(ddir, name, times, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, errlen, "cannot set the time of the link %s", name);
	return 0;
}

static int copy_tree(int sdir, int ddir, int depth, char *err, size_t errlen);

static int copy_subdir(int sdir, int ddir, const char *name, const struct stat *st, int depth,
    char *err, size_t errlen)
{
	struct timespec times[2] = { st->st_atim, st->st_mtim };
	int sfd, dfd, rc = -1;

	if (mkdirat(ddir, name, 0700) < 0)
		return fail(err, errlen, "cannot create the directory %s", name);
	sfd = openat(sdir, name, DIR_FLAGS);
	if (sfd < 0)
		return fail(err, errlen, "cannot open the directory %s", name);
	dfd = openat(ddir, name, DIR_FLAGS);
	if (dfd < 0) {
		fail(err, errlen, "cannot open the new directory %s", name);
		goto out;
	}
	if (copy_tree(sfd, dfd, depth + 1, err, errlen) < 0)
		goto out;
	/* Mode and time last: the copy itself wrote into it. */
	if (fchmod(dfd, st->st_mode & MODE_BITS) < 0 || futimens(dfd, times) < 0) {
		fail(err, errlen, "cannot set the mode or time of %s", name);
		goto out;
	}
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	close(sfd);
	return rc;
}

/* Called by for_each_entry for one entry of dir; a nonzero return stops the walk. */
typedef int entry_fn(int dir, const char *name, int depth, void *arg, char *err, size_t errlen);

/* Call fn for every entry of the open directory dir but . and .. ("what" names the walk in errors). */
static int for_each_entry(int dir, int depth, const char *what, entry_fn *fn, void *arg, char *err, size_t errlen)
{
	struct dirent *de;
	DIR *d;
	int fd, rc = 0;

	if (depth > MAX_DEPTH) {
		errno = 0;
		return fail(err, errlen, "%s: the directories are nested too deep", what);
	}
	fd = dup(dir);
	if (fd < 0 || (d = fdopendir(fd)) == NULL) {
		if (fd >= 0)
			close(fd);
		return fail(err, errlen, "%s: cannot read a directory", what);
	}
	while (rc == 0 && (errno = 0, de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = fn(dir, de->d_name, depth, arg, err, errlen);
	}
	if (rc == 0 && errno != 0)
		rc = fail(err, errlen, "%s: cannot read a directory", what);
	closedir(d);
	return rc;
}

/* Copy one entry of sdir into the directory *(int *)ddirp. */
static int copy_entry(int sdir, const char *name, int depth, void *ddirp, char *err, size_t errlen)
{
	int ddir = *(int *)ddirp;
	struct stat st;

	if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, errlen, "cannot stat %s", name);
	if (S_ISDIR(st.st_mode))
		return copy_subdir(sdir, ddir, name, &st, depth, err, errlen);
	if (S_ISREG(st.st_mode))
		return copy_file(sdir, ddir, name, &st, err, errlen);
	if (S_ISLNK(st.st_mode))
		return copy_link(sdir, ddir, name, &st, err, errlen);
	return 0;	/* fifos, sockets, devices: not challenge material, skipped */
}

/* Copy every entry of the open directory sdir into ddir. */
static int copy_tree(int sdir, int ddir, int depth, char *err, size_t errlen)
{
	return for_each_entry(sdir, depth, "copying the challenge's files", copy_entry, &ddir, err, errlen);
}

int treecopy_copy(const char *src, const char *dst, char *err, size_t errlen)
{
	struct stat st;
	int sfd, dfd = -1, rc = -1;

	if (mkdir(dst, 0700) < 0)
		return fail(err, errlen, "cannot create %s", dst);
	sfd = open(src, DIR_FLAGS);
	if (sfd < 0) {
		if (errno == ENOENT)	/* no files for this challenge: an empty directory */
			return chmod(dst, 0755) < 0 ? fail(err, errlen, "cannot chmod %s", dst) : 0;
		return fail(err, errlen, "cannot open %s", src);
	}
	dfd = open(dst, DIR_FLAGS);
	if (dfd < 0) {
		fail(err, errlen, "cannot open %s", dst);
		goto out;
	}
	if (fstat(sfd, &st) < 0) {
		fail(err, errlen, "cannot stat %s", src);
		goto out;
	}
	if (copy_tree(sfd, dfd, 0, err, errlen) < 0)
		goto out;
	if (fchmod(dfd, st.st_mode & MODE_BITS) < 0 ||
	    futimens(dfd, (struct timespec[2]){ st.st_atim, st.st_mtim }) < 0) {
		fail(err, errlen, "cannot set the mode or time of %s", dst);
		goto out;
	}
	rc = 0;
out:
	if (dfd >= 0)
		close(dfd);
	close(sfd);
	return rc;
}

static int remove_tree(int dir, int depth, char *err, size_t errlen);

/* Remove the directory name inside dir, making it ours to enter first. */
static int remove_subdir(int dir, const char *name, int depth, char *err, size_t errlen)
{
	int fd, rc;

	/* The user may have left it chmod 000; it is ours (same uid), so open it up. */
	fchmodat(dir, name, 0700, 0);
	fd = openat(dir, name, DIR_FLAGS);
	if (fd < 0)
		return fail(err, errlen, "cannot open %s to remove it", name);
	rc = remove_tree(fd, depth + 1, err, errlen);
	close(fd);
	if (rc == 0 && unlinkat(dir, name, AT_REMOVEDIR) < 0)
		rc = fail(err, errlen, "cannot remove the directory %s", name);
	return rc;
}

/* Remove one entry of dir. */
static int remove_entry(int dir, const char *name, int depth, void *unused, char *err, size_t errlen)
{
	(void)unused;
	if (unlinkat(dir, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno == EISDIR)
		return remove_subdir(dir, name, depth, err, errlen);
	return fail(err, errlen, "cannot remove %s", name);
}

/* Empty the open directory dir. */
static int remove_tree(int dir, int depth, char *err, size_t errlen)
{
	return for_each_entry(dir, depth, "removing the old copy", remove_entry, NULL, err, errlen);
}

int treecopy_remove(const char *path, char *err, size_t errlen)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) < 0)
		return errno == ENOENT ? 0 : fail(err, errlen, "cannot stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return unlink(path) < 0 ? fail(err, errlen, "cannot remove %s", path) : 0;
	chmod(path, 0700);
	fd = open(path, DIR_FLAGS);
	if (fd < 0)
		return fail(err, errlen, "cannot open %s to remove it", path);
	rc = remove_tree(fd, 0, err, errlen);
	close(fd);
	if (rc == 0 && rmdir(path) < 0)
		rc = fail(err, errlen, "cannot remove %s", path);
	return rc;
}

int treecopy_empty(const char *path, char *err, size_t errlen)
{
	int fd, rc;

	fd = open(path, DIR_FLAGS);
	if (fd < 0)
		return errno == ENOENT ? 0 : fail(err, errlen, "cannot open %s to empty it", path);
	rc = remove_tree(fd, 0, err, errlen);
	close(fd);
	return rc;
}

struct owner {
	uid_t uid;
	gid_t gid;
};

static int chown_tree(int dir, int depth, const struct owner *o, char *err, size_t errlen);

/* Give one entry of dir (and all below it) to the owner; links are changed, never followed. */
static int chown_entry(int dir, const char *name, int depth, void *arg, char *err, size_t errlen)
{
	const struct owner *o = arg;
	struct stat st;
	int fd, rc;

	if (fstatat(dir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, errlen, "cannot stat %s", name);
	if (fchownat(dir, name, o->uid, o->gid, AT_SYMLINK_NOFOLLOW) < 0)
		return fail(err, errlen, "cannot change the owner of %s", name);
	if (!S_ISDIR(st.st_mode))
		return 0;
	fd = openat(dir, name, DIR_FLAGS);
	if (fd < 0)
		return fail(err, errlen, "cannot open %s", name);
	rc = chown_tree(fd, depth + 1, o, err, errlen);
	close(fd);
	return rc;
}

static int chown_tree(int dir, int depth, const struct owner *o, char *err, size_t errlen)
{
	return for_each_entry(dir, depth, "changing owners", chown_entry, (void *)o, err, errlen);
}

int treecopy_chown(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen)
{
	struct owner o = { uid, gid };
	int fd, rc;

	fd = open(path, DIR_FLAGS);
	if (fd < 0)
		return fail(err, errlen, "cannot open %s", path);
	rc = fchown(fd, uid, gid) < 0 ? fail(err, errlen, "cannot change the owner of %s", path) :
	    chown_tree(fd, 0, &o, err, errlen);
	close(fd);
	return rc;
}

int treecopy_recopy(const char *src, const char *dst, char *err, size_t errlen)
{
	const char *slash = strrchr(dst, '/');
	int dirlen = slash ? (int)(slash - dst + 1) : 0;
	char aside[4096];

	if (treecopy_remove(dst, err, errlen) == 0)
		return treecopy_copy(src, dst, err, errlen);
	/* Keep going with a fresh copy; the remains move to a hidden name beside it. */
	for (int i = 0; i < 100; i++) {
		int n = snprintf(aside, sizeof(aside), "%.*s.%s.removed-%d", dirlen, dst,
		    dst + dirlen, i);

		if (n < 0 || (size_t)n >= sizeof(aside))
			break;
		if (rename(dst, aside) == 0)
			return treecopy_copy(src, dst, err, errlen);
	}
	return -1;	/* err still says why the removal failed */
}
