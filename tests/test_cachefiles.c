/* test_cachefiles.c: the program cache and the tuning file against hostile file systems: a FIFO
 * or an oversized file in a cache file's place, 8 writers of one key at once, and a cache
 * directory that cannot be created. A regression must fail, not hang: every test runs under
 * an alarm as well as Check's timeout. */
#include "core/internal.h"
#include "testutil.h"
#include "tune/tune.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* A guard against a hang (a FIFO opened for reading blocks forever), not a time limit: cold
 * program builds on a loaded one-thread device (PoCL basic: 32 builds of pool.cl by 8 writers)
 * took over 180 s, and the test case's timeout (ALARM_S + 60) then killed a correct run. */
#define ALARM_S 600

/* Collects a context's log lines (one context, one thread). */
typedef struct log_buf {
    char text[8192];
    int warnings;
} log_buf;

static void collect(scl_log_level level, const char *message, void *user) {
    log_buf *b = user;
    size_t used = strlen(b->text);
    snprintf(b->text + used, sizeof b->text - used, "%s\n", message);
    if (level == SCL_LOG_WARN) b->warnings++;
}

static void fresh_dir(const char *name, char *dir, size_t cap) {
    snprintf(dir, cap, "%s/cachefiles-%s-XXXXXX", tu_tmpdir(), name);
    ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[4096 + 260];
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            snprintf(path, sizeof path, "%.4095s/%.255s", dir, e->d_name);
            remove(path);
        }
    closedir(d);
    rmdir(dir);
}

/* The one file in dir (asserted), and how many there are with "tmp" in their names. */
static void only_file(const char *dir, char *path, size_t cap, int *temporaries) {
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int n = 0;
    *temporaries = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        if (strstr(e->d_name, "tmp"))
            (*temporaries)++;
        else if (n++ == 0)
            snprintf(path, cap, "%.4000s/%.255s", dir, e->d_name);
    }
    closedir(d);
    ck_assert_int_eq(n, 1);
}

static scl_context *context_in(const char *dir, log_buf *log) {
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    if (log) memset(log, 0, sizeof *log), scl_context_set_log(ctx, collect, log);
    return ctx;
}

/* Builds pool.cl once in dir and returns the cache file's path. */
static void first_build(const char *dir, char *path, size_t cap) {
    scl_context *ctx = context_in(dir, NULL);
    cl_program p;
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "", &p));
    scl_context_destroy(ctx);
    int tmps;
    only_file(dir, path, cap, &tmps);
    ck_assert_int_eq(tmps, 0);
}

/* After a cache file was refused: one reject, a compile, the file rewritten as a good one. */
static void expect_rebuilt(const char *dir, const char *path, const char *needle) {
    log_buf log;
    scl_context *ctx = context_in(dir, &log);
    cl_program p;
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "", &p));
    TU_OK(ctx, scl_context_save_programs(ctx));
    scl_cache_stats s = {.size = sizeof(scl_cache_stats)};
    scl_context_cache_stats(ctx, &s);
    ck_assert_msg(s.disk_rejects == 1 && s.compiles == 1 && s.disk_hits == 0 && s.disk_writes == 1,
                  "rejects %u compiles %u hits %u writes %u", s.disk_rejects, s.compiles,
                  s.disk_hits, s.disk_writes);
    ck_assert_msg(strstr(log.text, path) && strstr(log.text, needle),
                  "log does not name %s and '%s': %s", path, needle, log.text);
    scl_context_destroy(ctx);
    struct stat sb;
    ck_assert_int_eq(stat(path, &sb), 0);
    ck_assert(S_ISREG(sb.st_mode));
    ctx = context_in(dir, NULL);
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "", &p));
    scl_context_cache_stats(ctx, &s);
    ck_assert_uint_eq(s.disk_hits, 1);
    ck_assert_uint_eq(s.disk_rejects, 0);
    scl_context_destroy(ctx);
}

START_TEST(test_fifo_program_cache) {
    alarm(ALARM_S); /* fopen() of a FIFO with no writer blocked forever */
    char dir[2048], path[4300];
    fresh_dir("fifo", dir, sizeof dir);
    first_build(dir, path, sizeof path);
    ck_assert_int_eq(remove(path), 0);
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    expect_rebuilt(dir, path, "not a regular file");
    remove_dir(dir);
}
END_TEST

START_TEST(test_oversized_program_cache) {
    alarm(ALARM_S);
    char dir[2048], path[4300];
    fresh_dir("big", dir, sizeof dir);
    first_build(dir, path, sizeof path);
    /* sparse: one byte over the limit costs no disk */
    ck_assert_int_eq(truncate(path, (off_t)SCL__CACHE_MAX_BYTES + 1), 0);
    expect_rebuilt(dir, path, "over the limit of 268435456");
    remove_dir(dir);
}
END_TEST

START_TEST(test_fifo_tuning_file) {
    alarm(ALARM_S);
    char dir[2048], path[4300];
    fresh_dir("tunefifo", dir, sizeof dir);
    /* the device's tuning file name, as tune.c derives it */
    scl_context *ctx = context_in(dir, NULL);
    scl_device_info info = {.size = sizeof(scl_device_info)};
    TU_OK(ctx, scl_context_device_info(ctx, &info));
    scl__tune_path(ctx, path, sizeof path);
    ck_assert_ptr_nonnull(strstr(path, dir));
    ck_assert_int_eq(mkfifo(path, 0644), 0);
    log_buf log;
    memset(&log, 0, sizeof log);
    scl_context_set_log(ctx, collect, &log);
    /* the lookup every op creation makes: no table, and no hang */
    ck_assert_ptr_null(scl__tune_get(ctx));
    ck_assert_msg(strstr(log.text, path) && strstr(log.text, "not a regular file"),
                  "the log does not name the FIFO: %s", log.text);
    scl_context_destroy(ctx);
    remove_dir(dir);
}
END_TEST

/* ---- 8 writers of one key ----------------------------------------------------------------- */

#define WRITERS 8
#define ROUNDS 4

typedef struct writer {
    pthread_barrier_t *barrier;
    const char *dir;
    char options[32];
    scl_status st;
    scl_cache_stats stats;
    log_buf log;
    char err[512];
} writer;

static void *write_main(void *arg) {
    writer *w = arg;
    scl_context *ctx = NULL;
    pthread_barrier_wait(w->barrier);
    if ((w->st = scl_context_create(NULL, &ctx)) != SCL_OK) {
        snprintf(w->err, sizeof w->err, "%s", scl_last_error(NULL));
        return NULL;
    }
    scl_context_set_log(ctx, collect, &w->log);
    cl_program p;
    if ((w->st = scl_context_set_cache_dir(ctx, w->dir)) == SCL_OK)
        w->st = scl_context_build(ctx, "pool.cl", w->options, &p);
    /* written now, as close to the other writers as the builds are */
    if (w->st == SCL_OK) w->st = scl_context_save_programs(ctx);
    if (w->st != SCL_OK) snprintf(w->err, sizeof w->err, "%s", scl_last_error(ctx));
    w->stats.size = sizeof w->stats;
    scl_context_cache_stats(ctx, &w->stats);
    scl_context_destroy(ctx);
    return NULL;
}

/* The finding: every context of a process wrote <key>.bin.<pid>.tmp, so concurrent writers of
 * one key truncated each other's temporary and all but one rename failed. */
START_TEST(test_concurrent_writers) {
    alarm(ALARM_S);
    char dir[2048];
    fresh_dir("writers", dir, sizeof dir);
    static writer w[WRITERS];
    int writes = 0;
    for (int round = 0; round < ROUNDS; round++) {
        pthread_barrier_t barrier;
        pthread_t tid[WRITERS];
        ck_assert_int_eq(pthread_barrier_init(&barrier, NULL, WRITERS), 0);
        for (int i = 0; i < WRITERS; i++) {
            memset(&w[i], 0, sizeof w[i]);
            w[i].barrier = &barrier, w[i].dir = dir;
            snprintf(w[i].options, sizeof w[i].options, "-DWRITERS_ROUND=%d", round);
            ck_assert_int_eq(pthread_create(&tid[i], NULL, write_main, &w[i]), 0);
        }
        for (int i = 0; i < WRITERS; i++)
            ck_assert_int_eq(pthread_join(tid[i], NULL), 0);
        pthread_barrier_destroy(&barrier);
        for (int i = 0; i < WRITERS; i++) {
            ck_assert_msg(w[i].st == SCL_OK, "round %d writer %d: %s", round, i, w[i].err);
            const scl_cache_stats *s = &w[i].stats;
            /* each writer either found the file or wrote it: no write was lost */
            ck_assert_msg(s->disk_rejects == 0 && s->disk_hits + s->disk_writes == 1 &&
                              s->compiles == s->disk_writes && w[i].log.warnings == 0,
                          "round %d writer %d: hits %u writes %u compiles %u rejects %u; log: %s",
                          round, i, s->disk_hits, s->disk_writes, s->compiles, s->disk_rejects,
                          w[i].log.text);
            writes += (int)s->disk_writes;
        }
        /* the key's one file is whole: a later reader hits it */
        scl_context *ctx = context_in(dir, NULL);
        cl_program p;
        TU_OK(ctx, scl_context_build(ctx, "pool.cl", w[0].options, &p));
        scl_cache_stats s = {.size = sizeof(scl_cache_stats)};
        scl_context_cache_stats(ctx, &s);
        ck_assert_uint_eq(s.disk_hits, 1);
        ck_assert_uint_eq(s.disk_rejects, 0);
        scl_context_destroy(ctx);
    }
    ck_assert_int_gt(writes, 0);
    /* nothing left behind but one file per round */
    DIR *d = opendir(dir);
    ck_assert_ptr_nonnull(d);
    int files = 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.') {
            ck_assert_msg(!strstr(e->d_name, "tmp"), "temporary %s left behind", e->d_name);
            files++;
        }
    closedir(d);
    ck_assert_int_eq(files, ROUNDS);
    remove_dir(dir);
}
END_TEST

START_TEST(test_uncreatable_cache_dir) {
    alarm(ALARM_S);
    char dir[2048], blocker[2100], sub[2200];
    fresh_dir("nodir", dir, sizeof dir);
    snprintf(blocker, sizeof blocker, "%s/a-file", dir);
    tu_write_bytes(blocker, "x", 1);
    snprintf(sub, sizeof sub, "%s/cache", blocker); /* a directory under a regular file */
    log_buf log;
    scl_context *ctx = context_in(sub, &log);
    cl_program p;
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "", &p)); /* still builds */
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "-DOTHER=1", &p));
    TU_OK(ctx, scl_context_save_programs(ctx)); /* the cache is written here */
    ck_assert_msg(strstr(log.text, "cannot create the program cache directory") &&
                      strstr(log.text, sub),
                  "no warning naming %s: %s", sub, log.text);
    ck_assert_msg(log.warnings == 1, "%d warnings: %s", log.warnings,
                  log.text); /* once, not per program */
    scl_context_destroy(ctx);
    remove(blocker);
    remove_dir(dir);
}
END_TEST

int main(void) {
    Suite *s = suite_create("cachefiles");
    TCase *tc = tcase_create("cachefiles");
    tcase_set_timeout(tc, ALARM_S + 60);
    tcase_add_test(tc, test_fifo_program_cache);
    tcase_add_test(tc, test_oversized_program_cache);
    tcase_add_test(tc, test_fifo_tuning_file);
    tcase_add_test(tc, test_concurrent_writers);
    tcase_add_test(tc, test_uncreatable_cache_dir);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
