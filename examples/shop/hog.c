// SPDX-License-Identifier: MIT
/*
 * The CPU hog (--pathology hog): threads that spin in user space, pinned to the CPU the
 * payment service is pinned to, never sleeping and never making a system call, so that the
 * kernel can only share that CPU by preempting. Killed by the launcher at the end.
 */
#include <sched.h>
#include <stdio.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "shop.h"

#define HOG_THREADS 3

static volatile uint64_t hog_sink;

static void *spin(void *arg)
{
	uint64_t x = (uintptr_t)arg | 1;

	for (;;) {
		x = x * 6364136223846793005ull + 1442695040888963407ull;
		hog_sink = x;
	}
	return NULL;
}

void shop_hog(void)
{
	cpu_set_t set;

	prctl(PR_SET_NAME, "hog");
	CPU_ZERO(&set);
	CPU_SET(shop.hog_cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("hog: sched_setaffinity");
	/* Three spinning threads: the pinned service gets a quarter of the CPU, not half. */
	for (int i = 1; i < HOG_THREADS; i++) {
		pthread_t th;

		pthread_create(&th, NULL, spin, (void *)(uintptr_t)i);
	}
	spin(NULL);
	_exit(0);
}
