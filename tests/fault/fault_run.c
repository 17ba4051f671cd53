/* fault_run.c: the fault-injection test. Under LD_PRELOAD=libclshim.so, runs v2_x0_5 at 64x64 with
 * random weights once cleanly, then fails in turn every call N = 1..min(K, 60) of each OpenCL entry
 * point below (K = its calls in the clean run) and demands, for each: either a non-OK status with a
 * message naming the failed call or its error, or logits bitwise equal to the clean run; and after
 * everything is destroyed, as many releases as creations and retains of every OpenCL object type.
 * Scenarios: "cold" (a fresh, empty program-cache directory: every program built from source),
 * "warm" (a cache directory a clean run filled: programs made from binaries) and "discrete" (the
 * shim reports no host-unified memory, so that input and logits move by write/read, not map).
 * Runs in one process: the shim's counters are reset between runs. Arguments: the entry points to
 * fail (default: all; ctest runs them in four groups, in parallel). SCL_FAULT_MAX_N=n lowers the
 * cap of 60 calls per entry point. Exit status 0 on success. */
#define _GNU_SOURCE
#include "shufflecl.h"

#include <dirent.h>
#include <dlfcn.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define H 64
#define W 64
#define CLASSES 1000
#define MAX_N 60

typedef struct shim_api {
    long (*calls)(const char *fn);
    void (*reset)(void);
    int (*set_fault)(const char *fn, long n, int repeat, int code);
    long (*injected)(void);
    int (*balance)(char *msg, size_t cap);
    void (*set_discrete)(int on);
} shim_api;

typedef enum scenario { COLD, WARM, DISCRETE, NSCENARIOS } scenario;
static const char *const scenario_names[NSCENARIOS] = {"cold", "warm", "discrete"};

typedef struct fault_case {
    const char *fn;
    scenario where;
    cl_int code; /* what the shim returns; the message must name it or the call */
} fault_case;

static const fault_case cases[] = {
    {"clGetPlatformIDs", COLD, CL_OUT_OF_HOST_MEMORY},
    {"clGetDeviceIDs", COLD, CL_OUT_OF_RESOURCES},
    {"clGetDeviceInfo", COLD, CL_OUT_OF_RESOURCES},
    {"clCreateContext", COLD, CL_OUT_OF_HOST_MEMORY},
    {"clCreateCommandQueue", COLD, CL_OUT_OF_RESOURCES},
    {"clCreateBuffer", COLD, CL_MEM_OBJECT_ALLOCATION_FAILURE},
    {"clCreateProgramWithSource", COLD, CL_OUT_OF_HOST_MEMORY},
    {"clCreateProgramWithBinary", WARM, CL_INVALID_BINARY},
    {"clBuildProgram", COLD, CL_BUILD_PROGRAM_FAILURE},
    {"clBuildProgram", WARM, CL_BUILD_PROGRAM_FAILURE},
    {"clCreateKernel", COLD, CL_OUT_OF_RESOURCES},
    {"clSetKernelArg", COLD, CL_OUT_OF_RESOURCES},
    {"clEnqueueNDRangeKernel", COLD, CL_OUT_OF_RESOURCES},
    {"clEnqueueWriteBuffer", DISCRETE, CL_OUT_OF_RESOURCES},
    {"clEnqueueReadBuffer", DISCRETE, CL_OUT_OF_RESOURCES},
    {"clEnqueueMapBuffer", COLD, CL_OUT_OF_RESOURCES},
    {"clEnqueueUnmapMemObject", COLD, CL_OUT_OF_RESOURCES},
    {"clFinish", COLD, CL_OUT_OF_RESOURCES},
};

static shim_api shim;
static float input[3 * H * W];
static float clean[CLASSES];
static char tmp_root[1024], warm_dir[1100];
static int failures;

#define FAIL(...)                                                                                  \
    do {                                                                                           \
        fprintf(stderr, "FAIL: " __VA_ARGS__);                                                     \
        fputc('\n', stderr);                                                                       \
        failures++;                                                                                \
    } while (0)

static int load_shim(void) {
    *(void **)&shim.calls = dlsym(RTLD_DEFAULT, "scl_shim_calls");
    *(void **)&shim.reset = dlsym(RTLD_DEFAULT, "scl_shim_reset");
    *(void **)&shim.set_fault = dlsym(RTLD_DEFAULT, "scl_shim_set_fault");
    *(void **)&shim.injected = dlsym(RTLD_DEFAULT, "scl_shim_injected");
    *(void **)&shim.balance = dlsym(RTLD_DEFAULT, "scl_shim_balance");
    *(void **)&shim.set_discrete = dlsym(RTLD_DEFAULT, "scl_shim_set_discrete");
    return shim.calls && shim.reset && shim.set_fault && shim.injected && shim.balance &&
           shim.set_discrete;
}

/* A fresh empty directory under tmp_root, or the warm one. */
static int make_dir(char *out, size_t cap) {
    snprintf(out, cap, "%s/cache-XXXXXX", tmp_root);
    return mkdtemp(out) ? 0 : -1;
}

static void remove_dir(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[2048];
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            unlink(path);
        }
    closedir(d);
    rmdir(dir);
}

typedef struct run_result {
    scl_status st;
    char msg[4096];
    float logits[CLASSES];
    long launches_seen;  /* clEnqueueNDRangeKernel calls during scl_network_run */
    int launches_stated; /* scl_network_get_stats' count */
} run_result;

/* One whole life: context, network, weights, run, destroy. Counters reset first. */
static void infer(const char *cache_dir, run_result *r) {
    shim.reset();
    memset(r, 0, sizeof *r);
    for (int i = 0; i < CLASSES; i++)
        r->logits[i] = NAN;
    scl_context *ctx = NULL;
    scl_network *net = NULL;
    scl_network_stats stats = {.size = sizeof(scl_network_stats)};
    r->st = scl_context_create(NULL, &ctx);
    if (r->st != SCL_OK) {
        snprintf(r->msg, sizeof r->msg, "%s", scl_last_error(NULL));
        return;
    }
    r->st = scl_context_set_cache_dir(ctx, cache_dir);
    if (r->st == SCL_OK) r->st = scl_network_create(ctx, "v2_x0_5", &net);
    if (r->st == SCL_OK && scl_network_classes(net) != CLASSES) r->st = SCL_ERROR_UNSUPPORTED_MODEL;
    if (r->st == SCL_OK) r->st = scl_network_random_weights(net, 11);
    if (r->st == SCL_OK) r->st = scl_network_get_stats(net, 1, H, W, &stats);
    if (r->st == SCL_OK) {
        long before = shim.calls("clEnqueueNDRangeKernel");
        r->st = scl_network_run(net, input, 1, H, W, r->logits);
        r->launches_seen = shim.calls("clEnqueueNDRangeKernel") - before;
        r->launches_stated = stats.launches;
    }
    if (r->st != SCL_OK) snprintf(r->msg, sizeof r->msg, "%s", scl_last_error(ctx));
    scl_network_destroy(net);
    scl_context_destroy(ctx);
}

static void check_balance(const char *what) {
    char msg[1024];
    if (shim.balance(msg, sizeof msg))
        FAIL("%s: OpenCL objects leaked or over-released: %s", what, msg);
}

/* The clean run of a scenario: its call counts, and the reference logits. */
static void clean_run(scenario s, long *k) {
    char dir[1100];
    const char *cache = dir;
    if (s == WARM)
        cache = warm_dir;
    else if (make_dir(dir, sizeof dir) != 0) {
        FAIL("cannot make a cache directory under %s", tmp_root);
        return;
    }
    shim.set_discrete(s == DISCRETE);
    static run_result r;
    infer(cache, &r);
    shim.set_discrete(0);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (cases[i].where == s) k[i] = shim.calls(cases[i].fn);
    if (s != WARM) remove_dir(dir);
    if (r.st != SCL_OK) {
        FAIL("clean %s run: %s: %s", scenario_names[s], scl_status_string(r.st), r.msg);
        return;
    }
    check_balance(scenario_names[s]);
    for (int i = 0; i < CLASSES; i++)
        if (!isfinite(r.logits[i])) {
            FAIL("clean %s run: logit %d is not finite", scenario_names[s], i);
            break;
        }
    if (s == COLD)
        memcpy(clean, r.logits, sizeof clean);
    else if (memcmp(clean, r.logits, sizeof clean) != 0)
        FAIL("clean %s run: logits differ from the cold run's", scenario_names[s]);
    /* printed, not asserted: the launch count's own test belongs to the launch-fusion work (the
     * head's two-phase 'gap' launch is not in scl_network_get_stats' count today) */
    printf("clean %-8s run: %ld kernel launches counted, scl_network_get_stats says %d\n",
           scenario_names[s], r.launches_seen, r.launches_stated);
}

/* Fails call n of c->fn; returns 1 for a clear error, 0 for an identical result. */
static int inject(const fault_case *c, long n) {
    char dir[1100], what[256];
    const char *cache = c->where == WARM ? warm_dir : dir;
    snprintf(what, sizeof what, "%s call %ld (%s)", c->fn, n, scenario_names[c->where]);
    if (c->where != WARM && make_dir(dir, sizeof dir) != 0) {
        FAIL("%s: cannot make a cache directory", what);
        return 0;
    }
    static run_result r;
    shim.set_discrete(c->where == DISCRETE);
    shim.set_fault(c->fn, n, 0, c->code);
    infer(cache, &r);
    long hit = shim.injected();
    shim.set_fault(NULL, 0, 0, 0);
    shim.set_discrete(0);
    if (c->where != WARM) remove_dir(dir);
    check_balance(what);
    if (hit != 1)
        FAIL("%s: the fault was injected %ld times, not once (runs not deterministic?)", what, hit);
    if (r.st == SCL_OK) {
        if (memcmp(clean, r.logits, sizeof clean) != 0)
            FAIL("%s: status OK but the logits differ", what);
        return 0;
    }
    if (!r.msg[0])
        FAIL("%s: %s but scl_last_error is empty", what, scl_status_string(r.st));
    else if (!strstr(r.msg, c->fn) && !strstr(r.msg, scl_status_string(c->code)))
        FAIL("%s: the message names neither the call nor %s: %s", what, scl_status_string(c->code),
             r.msg);
    return 1;
}

/* Whether case i is among the entry points named on the command line (all when none is). */
static int selected(int i, int argc, char **argv) {
    for (int a = 1; a < argc; a++)
        if (strcmp(argv[a], cases[i].fn) == 0) return 1;
    return argc < 2;
}

int main(int argc, char **argv) {
    for (int a = 1; a < argc; a++) {
        int known = 0;
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            known |= !strcmp(argv[a], cases[i].fn);
        if (!known) {
            fprintf(stderr, "FAIL: %s is not an entry point this test fails\n", argv[a]);
            return 1;
        }
    }
    if (!load_shim()) {
        fprintf(stderr,
                "FAIL: the clshim functions are not found: run under LD_PRELOAD=libclshim.so\n");
        return 1;
    }
    const char *t = getenv("SCL_TEST_TMPDIR");
    snprintf(tmp_root, sizeof tmp_root, "%s/fault-XXXXXX", t && *t ? t : "/tmp");
    if (!mkdtemp(tmp_root)) {
        fprintf(stderr, "FAIL: cannot make %s\n", tmp_root);
        return 1;
    }
    uint64_t seed = 0x9e3779b97f4a7c15u;
    for (size_t i = 0; i < sizeof input / sizeof input[0]; i++) {
        seed = seed * 6364136223846793005u + 1442695040888963407u;
        input[i] = (float)((double)(seed >> 40) / (double)(1u << 24) * 4.0 - 2.0);
    }
    /* SCL_FAULT_MAX_N lowers the cap (the sanitizer job, where each run is several times slower) */
    const char *cap = getenv("SCL_FAULT_MAX_N");
    long max_n = cap && atol(cap) > 0 && atol(cap) < MAX_N ? atol(cap) : MAX_N;
    enum { NCASES = sizeof cases / sizeof cases[0] };
    long k[NCASES] = {0};
    if (make_dir(warm_dir, sizeof warm_dir) != 0) {
        fprintf(stderr, "FAIL: cannot make a cache directory under %s\n", tmp_root);
        return 1;
    }
    clean_run(COLD, k);
    {
        /* fill the warm directory by one run; the warm counts come from a second */
        static run_result r;
        infer(warm_dir, &r);
        if (r.st != SCL_OK) FAIL("filling the warm cache: %s", r.msg);
    }
    clean_run(WARM, k);
    clean_run(DISCRETE, k);
    if (failures) return 1;

    long total = 0, errors = 0;
    for (int i = 0; i < NCASES; i++) {
        const fault_case *c = &cases[i];
        if (!selected(i, argc, argv)) continue;
        if (k[i] <= 0) {
            FAIL("%s is never called in the clean %s run: nothing to test", c->fn,
                 scenario_names[c->where]);
            continue;
        }
        long upto = k[i] < max_n ? k[i] : max_n, err = 0;
        for (long n = 1; n <= upto; n++)
            err += inject(c, n);
        printf("%-26s %-8s K=%-5ld injected %-3ld: %3ld clear errors, %3ld identical results\n",
               c->fn, scenario_names[c->where], k[i], upto, err, upto - err);
        fflush(stdout);
        total += upto, errors += err;
    }
    printf("%ld faults injected: %ld clear errors, %ld identical results, %d failures\n", total,
           errors, total - errors, failures);
    remove_dir(warm_dir);
    rmdir(tmp_root);
    return failures ? 1 : 0;
}
