/* test_threads.c: contexts made at the same instant from 8 threads as the process's first
 * OpenCL use, and two processes filling one empty program-cache directory at once; results
 * must be bitwise those of a single-threaded run. Each test runs in its own forked process
 * (Check's default), so the OpenCL stack is uninitialised when it starts; the single-threaded
 * reference runs first in a child of its own, which also leaves the program cache warm so
 * that the 8 threads do not compile everything 8 times over on a 2-core machine. */
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#define THREADS 8
#define RUNS 20
#define IMG 32
#define MODEL "v2_x0_5"
#define SEED 1234u
#define MAX_CLASSES 1000

static float g_input[3 * IMG * IMG];

static void make_input(void) {
    uint64_t seed = 99;
    tu_fill_uniform(g_input, sizeof g_input / sizeof g_input[0], -2.0f, 2.0f, &seed);
}

/* One worker's whole life: context, network, RUNS inferences; every failure is written into
 * err (Check's asserts are not for other threads). */
typedef struct worker {
    pthread_barrier_t *barrier;
    const char *cache_dir; /* NULL: the environment's default */
    int classes;
    float logits[MAX_CLASSES];
    scl_cache_stats stats;
    char err[512];
} worker;

static int wfail(worker *w, scl_context *ctx, const char *what, scl_status st) {
    snprintf(w->err, sizeof w->err, "%s: %s: %s", what, scl_status_string(st), scl_last_error(ctx));
    return 1;
}

static int work(worker *w) {
    scl_context *ctx = NULL;
    scl_network *net = NULL;
    float got[MAX_CLASSES];
    scl_status st = scl_context_create(NULL, &ctx);
    if (st != SCL_OK) return wfail(w, NULL, "scl_context_create", st);
    int bad = 0;
    if (w->cache_dir && (st = scl_context_set_cache_dir(ctx, w->cache_dir)) != SCL_OK)
        bad = wfail(w, ctx, "scl_context_set_cache_dir", st);
    if (!bad && (st = scl_network_create(ctx, MODEL, &net)) != SCL_OK)
        bad = wfail(w, ctx, "scl_network_create", st);
    if (!bad && (st = scl_network_random_weights(net, SEED)) != SCL_OK)
        bad = wfail(w, ctx, "scl_network_random_weights", st);
    if (!bad && (w->classes = scl_network_classes(net)) > MAX_CLASSES) {
        snprintf(w->err, sizeof w->err, "%d classes", w->classes);
        bad = 1;
    }
    for (int r = 0; !bad && r < RUNS; r++) {
        for (int k = 0; k < w->classes; k++)
            got[k] = NAN;
        if ((st = scl_network_run(net, g_input, 1, IMG, IMG, got)) != SCL_OK) {
            bad = wfail(w, ctx, "scl_network_run", st);
        } else if (r == 0) {
            memcpy(w->logits, got, sizeof(float) * (size_t)w->classes);
        } else if (memcmp(w->logits, got, sizeof(float) * (size_t)w->classes) != 0) {
            snprintf(w->err, sizeof w->err, "run %d differs from run 0 of the same thread", r);
            bad = 1;
        }
    }
    w->stats.size = sizeof w->stats;
    scl_context_cache_stats(ctx, &w->stats);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
    return bad;
}

static void *thread_main(void *arg) {
    worker *w = arg;
    pthread_barrier_wait(w->barrier);
    work(w);
    return NULL;
}

static void check_same(const char *who, const worker *w, const worker *ref) {
    ck_assert_msg(w->err[0] == '\0', "%s: %s", who, w->err);
    ck_assert_int_eq(w->classes, ref->classes);
    for (int k = 0; k < ref->classes; k++)
        ck_assert_msg(memcmp(&w->logits[k], &ref->logits[k], sizeof(float)) == 0,
                      "%s: logit %d is %.9g, the single-threaded run gave %.9g", who, k,
                      (double)w->logits[k], (double)ref->logits[k]);
}

/* A child process: waits for the start signal (EOF on go), runs, and writes its worker
 * record to out. */
static void child(int go, int out, const char *dir) {
    char c;
    while (read(go, &c, 1) > 0) {
    }
    static worker w;
    memset(&w, 0, sizeof w);
    w.cache_dir = dir;
    work(&w);
    ssize_t n = write(out, &w, sizeof w);
    _exit(n == (ssize_t)sizeof w ? 0 : 3);
}

static void read_all(int fd, void *dst, size_t n) {
    char *p = dst;
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        ck_assert_msg(got > 0, "child died before reporting");
        p += got, n -= (size_t)got;
    }
}

/* Runs work() in a forked child (this process stays free of OpenCL) and copies its record. */
static void run_in_child(const char *dir, worker *rec) {
    int go[2], out[2];
    ck_assert_int_eq(pipe(go), 0);
    ck_assert_int_eq(pipe(out), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(go[1]), close(out[0]);
        child(go[0], out[1], dir);
    }
    close(go[0]), close(out[1]);
    close(go[1]); /* start */
    read_all(out[0], rec, sizeof *rec);
    close(out[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child: status %d", status);
}

/* The finding: ocl-icd and PoCL initialise their platform lazily and not thread-safely, so
 * 8 threads enumerating at once as the first OpenCL use crashed or found no device. */
START_TEST(test_threads_first_use) {
    make_input();
    static worker single;
    run_in_child(NULL, &single);
    ck_assert_msg(single.err[0] == '\0', "single-threaded run: %s", single.err);
    ck_assert_int_gt(single.classes, 0);

    static worker w[THREADS];
    pthread_barrier_t barrier;
    pthread_t tid[THREADS];
    ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, THREADS), 0);
    for (int i = 0; i < THREADS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].barrier = &barrier;
        ck_assert_int_eq(pthread_create(&tid[i], NULL, thread_main, &w[i]), 0);
    }
    for (int i = 0; i < THREADS; i++)
        ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
    pthread_barrier_destroy(&barrier);
    for (int i = 0; i < THREADS; i++) {
        char who[32];
        snprintf(who, sizeof who, "thread %d", i);
        check_same(who, &w[i], &single);
    }
}
END_TEST

/* Every file the two writers left must be a finished <key>.bin, no temporary. */
static int count_cache_files(const char *dir) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        size_t len = strlen(e->d_name);
        ck_assert_msg(len == 68 && strcmp(e->d_name + 64, ".bin") == 0,
                      "unexpected file %s in the cache directory", e->d_name);
        n++;
    }
    closedir(d);
    return n;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096 + 260];
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%.4095s/%.255s", dir, e->d_name);
        remove(path);
    }
    closedir(d);
    rmdir(dir);
}

START_TEST(test_two_processes_one_cache) {
    make_input();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/threads-cache-XXXXXX", tu_tmpdir());
    ck_assert_ptr_nonnull(mkdtemp(dir));
    int go[2];
    ck_assert_int_eq(pipe(go), 0);
    int out[2][2];
    pid_t pid[2];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pipe(out[i]), 0);
        pid[i] = fork();
        ck_assert_int_ge(pid[i], 0);
        if (pid[i] == 0) {
            close(go[1]);
            close(out[i][0]);
            child(go[0], out[i][1], dir);
        }
        close(out[i][1]);
    }
    close(go[0]);
    close(go[1]); /* both children start now */
    static worker w[2];
    for (int i = 0; i < 2; i++) {
        read_all(out[i][0], &w[i], sizeof w[i]);
        close(out[i][0]);
        int status = 0;
        ck_assert_int_eq(waitpid(pid[i], &status, 0), pid[i]);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child %d: status %d", i,
                      status);
        ck_assert_msg(w[i].err[0] == '\0', "child %d: %s", i, w[i].err);
        ck_assert_uint_gt(w[i].stats.compiles + w[i].stats.disk_hits, 0);
    }
    int files = count_cache_files(dir);
    ck_assert_int_gt(files, 0);

    /* the third process (this one): everything from the disk, nothing rejected */
    static worker third;
    memset(&third, 0, sizeof third);
    third.cache_dir = dir;
    ck_assert_msg(work(&third) == 0, "third process: %s", third.err);
    ck_assert_uint_eq(third.stats.disk_rejects, 0);
    ck_assert_uint_eq(third.stats.compiles, 0);
    ck_assert_uint_eq(third.stats.disk_hits, (unsigned)files);
    check_same("child 0", &w[0], &third);
    check_same("child 1", &w[1], &third);
    remove_dir(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("threads");
    TCase *tc = tcase_create("threads");
    tcase_set_timeout(tc, 600);
    tcase_add_test(tc, test_threads_first_use);
    tcase_add_test(tc, test_two_processes_one_cache);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
