/*
 * treecopy.h: copy a challenge's files into the writable tmpfs, and start
 * over (for randomize) without any external tool (/usr/bin may be empty).
 */
#ifndef CMDARENA_TREECOPY_H
#define CMDARENA_TREECOPY_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Copy the directory tree src to dst (which must not exist; its parent must):
 * directories, regular files, symlinks (as links), hidden files, with modes
 * (less setuid/setgid) and mtimes. Other file types are skipped. A missing
 * src gives an empty dst. Returns 0, or -1 with a sentence in err.
 */
int treecopy_copy(const char *src, const char *dst, char *err, size_t errlen);

/*
 * Remove the tree at path, whatever its permissions (nothing there is fine).
 * Returns 0, or -1 with a sentence in err.
 */
int treecopy_remove(const char *path, char *err, size_t errlen);

/* Remove everything inside the directory path, but not path itself (no directory is fine). */
int treecopy_empty(const char *path, char *err, size_t errlen);

/* Give the tree at path (path included) to uid:gid, never following a link. */
int treecopy_chown(const char *path, uid_t uid, gid_t gid, char *err, size_t errlen);

/*
 * Replace dst with a fresh copy of src: remove dst, or when that fails (a tree
 * too deep, a process still writing) move it aside to a hidden name, then copy.
 */
int treecopy_recopy(const char *src, const char *dst, char *err, size_t errlen);

#endif
