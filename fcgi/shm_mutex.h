/*
 * shm_mutex.h: a mutex shared by the master's children through a MAP_SHARED
 * mapping, robust: when a worker dies holding it (SIGKILL, a crash), the next
 * one to lock it gets it, marks it consistent and goes on. What the dead one
 * was updating may be half done; the tables using this only hold counters and
 * buckets that tolerate that.
 */
#ifndef CMDARENA_SHM_MUTEX_H
#define CMDARENA_SHM_MUTEX_H

#include <errno.h>
#include <pthread.h>

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

#endif
