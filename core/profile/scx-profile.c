// SPDX-License-Identifier: GPL-2.0
/*
 * scx-profile - what does a workload need from the CPU scheduler?
 *
 * Runs a command (or watches PIDs, or the whole system for N seconds) and samples
 * /proc every --interval-ms: per task CPU time (utime/stime), time running and time
 * waiting on a run queue (schedstat), voluntary/involuntary context switches, IO
 * bytes; system-wide PSI for cpu/io/memory before and after. Prints one JSON object.
 *
 * Built static so the same program measures on the host and inside the sandbox guest.
 *
 *   scx-profile [--interval-ms N] [--timeout-s N] -- COMMAND...   (run it via /bin/sh -c)
 *   scx-profile --pids 12,34 --duration-s N
 *   scx-profile --system --duration-s N
 *
 * Limits: a task that lives shorter than one interval may be missed or undercounted in
 * the per-task list (the JSON says how many samples were taken). In command mode the
 * totals of CPU time and context switches come from the kernel's accounting of every
 * reaped descendant (getrusage(RUSAGE_CHILDREN)) when that is larger than the sampled
 * sum, so short-lived children still count.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_TASKS 65536

struct task {
	int pid, tid, ppid;
	char comm[32];
	unsigned long long utime, stime;	/* clock ticks */
	unsigned long long run_ns, wait_ns, slices;
	unsigned long long vcsw, ivcsw;
	unsigned long long rbytes, wbytes;
	/* values at first sight, for --system/--pids deltas */
	unsigned long long utime0, stime0, run0, wait0, vcsw0, ivcsw0;
	double first_ms, last_ms;
	int alive;
};

static struct task tasks[MAX_TASKS];
static int ntasks;
static long hz;
static double t_start;
static int max_runnable, max_threads;

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int read_file(const char *path, char *buf, size_t len)
{
	FILE *f = fopen(path, "r");
	size_t n;

	if (!f)
		return -1;
	n = fread(buf, 1, len - 1, f);
	buf[n] = 0;
	fclose(f);
	return (int)n;
}

static struct task *find_task(int tid)
{
	for (int i = 0; i < ntasks; i++)
		if (tasks[i].tid == tid)
			return &tasks[i];
	if (ntasks >= MAX_TASKS)
		return NULL;
	memset(&tasks[ntasks], 0, sizeof(tasks[0]));
	tasks[ntasks].tid = tid;
	tasks[ntasks].first_ms = -1;
	return &tasks[ntasks++];
}

/* parent pid of a process, from /proc/PID/stat */
static int ppid_of(int pid)
{
	char path[64], buf[1024], *p;
	int ppid = -1;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return -1;
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2, "%*c %d", &ppid) != 1)
		return -1;
	return ppid;
}

static void sample_task(int pid, int tid, double t, int *runnable)
{
	char path[128], buf[4096], *p, state;
	unsigned long long ut = 0, st = 0;
	struct task *tk;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", pid, tid);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return;
	tk = find_task(tid);
	if (!tk)
		return;
	tk->pid = pid;
	p = strchr(buf, '(');
	if (p) {
		char *e = strrchr(buf, ')');
		size_t n = e && e > p ? (size_t)(e - p - 1) : 0;

		if (n >= sizeof(tk->comm))
			n = sizeof(tk->comm) - 1;
		memcpy(tk->comm, p + 1, n);
		tk->comm[n] = 0;
		p = e;
	}
	if (!p || sscanf(p + 2, "%c %d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &state, &tk->ppid, &ut, &st) != 4)
		return;
	if (state == 'R')
		(*runnable)++;
	tk->utime = ut;
	tk->stime = st;

	snprintf(path, sizeof(path), "/proc/%d/task/%d/schedstat", pid, tid);
	if (read_file(path, buf, sizeof(buf)) > 0)
		sscanf(buf, "%llu %llu %llu", &tk->run_ns, &tk->wait_ns, &tk->slices);

	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", pid, tid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		char *v = strstr(buf, "voluntary_ctxt_switches:");
		char *nv = strstr(buf, "nonvoluntary_ctxt_switches:");

		if (v && (v == buf || v[-1] != 'n'))
			sscanf(v, "voluntary_ctxt_switches: %llu", &tk->vcsw);
		if (nv)
			sscanf(nv, "nonvoluntary_ctxt_switches: %llu", &tk->ivcsw);
	}
	snprintf(path, sizeof(path), "/proc/%d/task/%d/io", pid, tid);
	if (read_file(path, buf, sizeof(buf)) > 0) {
		char *r = strstr(buf, "read_bytes:");
		char *w = strstr(buf, "\nwrite_bytes:");

		if (r)
			sscanf(r, "read_bytes: %llu", &tk->rbytes);
		if (w)
			sscanf(w, "\nwrite_bytes: %llu", &tk->wbytes);
	}
	if (tk->first_ms < 0) {
		tk->first_ms = t;
		tk->utime0 = tk->utime;
		tk->stime0 = tk->stime;
		tk->run0 = tk->run_ns;
		tk->wait0 = tk->wait_ns;
		tk->vcsw0 = tk->vcsw;
		tk->ivcsw0 = tk->ivcsw;
	}
	tk->last_ms = t;
	tk->alive = 1;
}

#define PID_CACHE (1 << 22)
/* 0 unknown, 1 in the tree, 2 not: a pid's ancestry is looked up once, not every sample */
static unsigned char tree_state[PID_CACHE];

/* Is pid a descendant of root (or root itself)? Walks the ppid chain, cached. */
static int in_tree(int pid, int root)
{
	int chain[64], n = 0, verdict = 0;

	while (pid > 1 && n < 64) {
		if (pid == root) {
			verdict = 1;
			break;
		}
		if (pid < PID_CACHE && tree_state[pid]) {
			verdict = tree_state[pid] == 1;
			break;
		}
		chain[n++] = pid;
		pid = ppid_of(pid);
	}
	for (int i = 0; i < n; i++)
		if (chain[i] < PID_CACHE)
			tree_state[chain[i]] = verdict ? 1 : 2;
	return verdict;
}

static int *watch_pids;
static int nwatch;

static void sample(int mode, int root, double t)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	int runnable = 0, threads = 0;

	if (!proc)
		return;
	while ((de = readdir(proc))) {
		int pid, keep = 0;
		char path[64];
		DIR *td;
		struct dirent *te;

		if (!isdigit((unsigned char)de->d_name[0]))
			continue;
		pid = atoi(de->d_name);
		if (mode == 's')
			keep = pid != getpid();
		else if (mode == 'c')
			keep = pid != getpid() && in_tree(pid, root);
		else
			for (int i = 0; i < nwatch; i++)
				keep |= watch_pids[i] == pid;
		if (!keep)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/task", pid);
		td = opendir(path);
		if (!td)
			continue;
		while ((te = readdir(td))) {
			if (!isdigit((unsigned char)te->d_name[0]))
				continue;
			sample_task(pid, atoi(te->d_name), t, &runnable);
			threads++;
		}
		closedir(td);
	}
	closedir(proc);
	if (runnable > max_runnable)
		max_runnable = runnable;
	if (threads > max_threads)
		max_threads = threads;
}

struct psi { double some_total, full_total; int ok; };

static struct psi read_psi(const char *what)
{
	char path[64], buf[512];
	struct psi p = { 0, 0, 0 };
	char *s, *f;

	snprintf(path, sizeof(path), "/proc/pressure/%s", what);
	if (read_file(path, buf, sizeof(buf)) <= 0)
		return p;
	s = strstr(buf, "some ");
	f = strstr(buf, "full ");
	if (s && (s = strstr(s, "total=")))
		p.some_total = atof(s + 6);
	if (f && (f = strstr(f, "total=")))
		p.full_total = atof(f + 6);
	p.ok = 1;
	return p;
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void usage(void)
{
	fprintf(stderr,
		"usage: scx-profile [--interval-ms N] [--timeout-s N] -- COMMAND...\n"
		"       scx-profile --pids PID[,PID...] --duration-s N\n"
		"       scx-profile --system --duration-s N\n");
	exit(2);
}

int main(int argc, char **argv)
{
	int interval_ms = 50, mode = 0, i, status = 0, exit_code = -1, timed_out = 0;
	double duration_s = 0, timeout_s = 0, wall;
	char *cmd = NULL;
	pid_t child = 0;
	struct psi cpu0, io0, mem0, cpu1, io1, mem1;
	int samples = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--interval-ms") && i + 1 < argc) {
			interval_ms = atoi(argv[++i]);
		} else if (!strcmp(argv[i], "--timeout-s") && i + 1 < argc) {
			timeout_s = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--duration-s") && i + 1 < argc) {
			duration_s = atof(argv[++i]);
		} else if (!strcmp(argv[i], "--system")) {
			mode = 's';
		} else if (!strcmp(argv[i], "--pids") && i + 1 < argc) {
			char *tok, *save = NULL, *list = argv[++i];

			mode = 'p';
			watch_pids = calloc(strlen(list) + 1, sizeof(int));
			for (tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save))
				watch_pids[nwatch++] = atoi(tok);
		} else if (!strcmp(argv[i], "--")) {
			size_t len = 0;

			for (int j = i + 1; j < argc; j++)
				len += strlen(argv[j]) + 1;
			if (!len)
				usage();
			cmd = calloc(len + 1, 1);
			for (int j = i + 1; j < argc; j++) {
				strcat(cmd, argv[j]);
				if (j + 1 < argc)
					strcat(cmd, " ");
			}
			mode = 'c';
			break;
		} else {
			usage();
		}
	}
	if (!mode || interval_ms < 1 || interval_ms > 10000)
		usage();
	if (mode != 'c' && duration_s <= 0) {
		fprintf(stderr, "scx-profile: --duration-s is required with --pids and --system\n");
		return 2;
	}
	hz = sysconf(_SC_CLK_TCK);
	cpu0 = read_psi("cpu");
	io0 = read_psi("io");
	mem0 = read_psi("memory");
	t_start = now_ms();

	if (mode == 'c') {
		child = fork();
		if (child < 0) {
			perror("scx-profile: fork");
			return 3;
		}
		if (child == 0) {
			int devnull = open("/dev/null", 0);

			if (devnull >= 0)
				dup2(devnull, 0);
			dup2(2, 1); /* the workload's output must not mix with our JSON */
			setpgid(0, 0);
			execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
			_exit(127);
		}
		setpgid(child, child);
	}
	for (;;) {
		double t = now_ms() - t_start;

		sample(mode, child, t);
		samples++;
		if (mode == 'c') {
			pid_t r = waitpid(child, &status, WNOHANG);

			if (r == child) {
				exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
				break;
			}
			if (timeout_s > 0 && t > timeout_s * 1e3) {
				kill(-child, SIGKILL);
				waitpid(child, &status, 0);
				timed_out = 1;
				exit_code = 137;
				break;
			}
		} else if (t >= duration_s * 1e3) {
			break;
		}
		usleep(interval_ms * 1000);
	}
	wall = now_ms() - t_start;
	cpu1 = read_psi("cpu");
	io1 = read_psi("io");
	mem1 = read_psi("memory");

	unsigned long long ut = 0, st = 0, run = 0, wait = 0, vc = 0, ivc = 0, rb = 0, wb = 0;
	int delta = mode != 'c';

	for (i = 0; i < ntasks; i++) {
		struct task *k = &tasks[i];

		ut += k->utime - (delta ? k->utime0 : 0);
		st += k->stime - (delta ? k->stime0 : 0);
		run += k->run_ns - (delta ? k->run0 : 0);
		wait += k->wait_ns - (delta ? k->wait0 : 0);
		vc += k->vcsw - (delta ? k->vcsw0 : 0);
		ivc += k->ivcsw - (delta ? k->ivcsw0 : 0);
		rb += k->rbytes;
		wb += k->wbytes;
	}
	double ut_ms = ut * 1e3 / hz, st_ms = st * 1e3 / hz;
	const char *totals_from = "samples";

	if (mode == 'c') {
		/* the kernel's own totals for the command and every descendant it (transitively) reaped */
		struct rusage ru;

		if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
			double ru_ut = ru.ru_utime.tv_sec * 1e3 + ru.ru_utime.tv_usec / 1e3;
			double ru_st = ru.ru_stime.tv_sec * 1e3 + ru.ru_stime.tv_usec / 1e3;

			if (ru_ut + ru_st > ut_ms + st_ms) {
				ut_ms = ru_ut;
				st_ms = ru_st;
				totals_from = "rusage";
			}
			if ((unsigned long long)ru.ru_nvcsw > vc)
				vc = ru.ru_nvcsw;
			if ((unsigned long long)ru.ru_nivcsw > ivc)
				ivc = ru.ru_nivcsw;
		}
	}
	printf("{\"mode\":\"%s\",\"wall_ms\":%.1f,\"exit_code\":%d,\"timed_out\":%s,\"cpus\":%ld,\"interval_ms\":%d,\"samples\":%d,",
	       mode == 'c' ? "command" : mode == 's' ? "system" : "pids", wall, exit_code, timed_out ? "true" : "false",
	       sysconf(_SC_NPROCESSORS_ONLN), interval_ms, samples);
	printf("\"totals\":{\"utime_ms\":%.1f,\"stime_ms\":%.1f,\"run_ms\":%.1f,\"wait_ms\":%.1f,\"vcsw\":%llu,\"ivcsw\":%llu,"
	       "\"read_bytes\":%llu,\"write_bytes\":%llu,\"tasks_seen\":%d,\"max_threads\":%d,\"max_runnable\":%d,\"cpu_from\":\"%s\"},",
	       ut_ms, st_ms, run / 1e6, wait / 1e6, vc, ivc, rb, wb, ntasks, max_threads, max_runnable, totals_from);
	printf("\"psi\":{\"available\":%s,\"cpu_some_ms\":%.1f,\"io_some_ms\":%.1f,\"io_full_ms\":%.1f,\"memory_some_ms\":%.1f},",
	       cpu0.ok ? "true" : "false", (cpu1.some_total - cpu0.some_total) / 1e3, (io1.some_total - io0.some_total) / 1e3,
	       (io1.full_total - io0.full_total) / 1e3, (mem1.some_total - mem0.some_total) / 1e3);
	printf("\"tasks\":[");
	for (i = 0; i < ntasks; i++) {
		struct task *k = &tasks[i];

		printf("%s{\"pid\":%d,\"tid\":%d,\"ppid\":%d,\"comm\":", i ? "," : "", k->pid, k->tid, k->ppid);
		json_str(k->comm);
		printf(",\"cpu_ms\":%.1f,\"run_ms\":%.1f,\"wait_ms\":%.1f,\"vcsw\":%llu,\"ivcsw\":%llu,\"first_ms\":%.1f,\"last_ms\":%.1f}",
		       (k->utime + k->stime - (delta ? k->utime0 + k->stime0 : 0)) * 1e3 / hz,
		       (k->run_ns - (delta ? k->run0 : 0)) / 1e6, (k->wait_ns - (delta ? k->wait0 : 0)) / 1e6,
		       k->vcsw - (delta ? k->vcsw0 : 0), k->ivcsw - (delta ? k->ivcsw0 : 0), k->first_ms, k->last_ms);
	}
	printf("]}\n");
	return 0;
}
