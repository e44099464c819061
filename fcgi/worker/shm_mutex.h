/*
 * shm_mutex.h: tables shared by the master's children through a MAP_SHARED
 * mapping (a head with their lock, then fixed-size entries), and their mutex,
 * robust: when a worker dies holding it (SIGKILL, a crash), the next
 * one to lock it gets it, marks it consistent and goes on. What the dead one
 * was updating may be half done; the tables using this only hold counters and
 * buckets that tolerate that.
 */
#ifndef CMDARENA_SHM_MUTEX_H
#define CMDARENA_SHM_MUTEX_H

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>

static inline int shm_mutex_init(pthread_mutex_t *m)
{
	pthread_mutexattr_t a;
	int rc;

	if (pthread_mutexattr_init(&a) != 0)
		return -1;
	rc = pthread_mutexattr_setpshared(&a, PTHREAD_PROCESS_SHARED) == 0 &&
	    pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST) == 0 && pthread_mutex_init(m, &a) == 0 ? 0 : -1;
	pthread_mutexattr_destroy(&a);
	return rc;
}

static inline int shm_mutex_lock(pthread_mutex_t *m)
{
	int rc = pthread_mutex_lock(m);

	if (rc == EOWNERDEAD)
		rc = pthread_mutex_consistent(m);
	return rc == 0 ? 0 : -1;
}

static inline void shm_mutex_unlock(pthread_mutex_t *m)
{
	pthread_mutex_unlock(m);
}

/* The head of a shared table: its lock, its mapping's length, its number of entries. */
struct shm_head {
	pthread_mutex_t lock;
	size_t map_len;
	size_t n;
};

/*
 * A zeroed table of n entries of entry_size bytes after a head of head_size
 * bytes (a struct starting with struct shm_head), mapped shared: children
 * forked later see the same memory. NULL when n is 0 or on failure.
 */
static inline void *shm_table_new(size_t head_size, size_t n, size_t entry_size)
{
	size_t len = head_size + n * entry_size;
	struct shm_head *h;

	if (n == 0)
		return NULL;
	h = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (h == MAP_FAILED)
		return NULL;
	memset(h, 0, len);
	h->map_len = len;
	h->n = n;
	if (shm_mutex_init(&h->lock) < 0) {
		munmap(h, len);
		return NULL;
	}
	return h;
}

static inline void shm_table_delete(struct shm_head *h)
{
	if (h) {
		pthread_mutex_destroy(&h->lock);
		munmap(h, h->map_len);
	}
}

/* FNV-1a of a key, never 0 (0 marks a free entry). */
static inline uint64_t shm_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h ? h : 1;
}

#endif
