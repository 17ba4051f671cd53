/* test_runtime.c: devices, contexts (own and wrapped), tensors, program builds and the
 * in-memory and on-disk program caches, error reporting. */
#include "core/internal.h"
#include "testutil.h"

#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

START_TEST(test_device_list) {
    int count = -1;
    ck_assert_int_eq(scl_device_list(NULL, 0, &count), SCL_OK);
    ck_assert_int_ge(count, 1);
    scl_device_info *infos = calloc((size_t)count, sizeof *infos);
    int again = 0;
    /* unversioned entries are refused: a caller must say which layout it was built with */
    ck_assert_int_eq(scl_device_list(infos, count, &again), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(NULL), "sizeof(scl_device_info)"));
    for (int i = 0; i < count; i++)
        infos[i].size = sizeof *infos;
    ck_assert_int_eq(scl_device_list(infos, count, &again), SCL_OK);
    ck_assert_int_eq(again, count);
    for (int i = 0; i < count; i++) {
        ck_assert_str_ne(infos[i].name, "");
        ck_assert_uint_gt(infos[i].compute_units, 0);
        ck_assert_uint_gt(infos[i].global_mem_bytes, 0);
        ck_assert_uint_gt(infos[i].max_work_group_size, 0);
        ck_assert_msg(strstr(infos[i].opencl_c_version, "OpenCL C") != NULL, "%s",
                      infos[i].opencl_c_version);
    }
    free(infos);
    ck_assert_int_eq(scl_device_list(NULL, 0, NULL), SCL_ERROR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_device_select) {
    scl_device_info first = {.size = sizeof(scl_device_info)},
                    by_index = {.size = sizeof(scl_device_info)},
                    by_name = {.size = sizeof(scl_device_info)},
                    by_type = {.size = sizeof(scl_device_info)};
    int count = 0;
    ck_assert_int_eq(scl_device_list(&first, 1, &count), SCL_OK);
    ck_assert_int_eq(scl_device_find("0:0", &by_index), SCL_OK);
    ck_assert_str_eq(by_index.name, first.name);
    /* a name substring, in another case */
    char sub[8] = {0};
    for (int i = 0; i < 4 && first.name[i]; i++)
        sub[i] = (char)((first.name[i] >= 'a' && first.name[i] <= 'z') ? first.name[i] - 32
                                                                       : first.name[i]);
    ck_assert_int_eq(scl_device_find(sub, &by_name), SCL_OK);
    ck_assert_str_eq(by_name.name, first.name);
    const char *type = first.type == SCL_DEVICE_CPU   ? "cpu"
                       : first.type == SCL_DEVICE_GPU ? "gpu"
                                                      : NULL;
    if (type) {
        ck_assert_int_eq(scl_device_find(type, &by_type), SCL_OK);
        ck_assert_int_eq(by_type.type, first.type);
    }
    /* a bad index names the request and says how to list devices */
    ck_assert_int_eq(scl_device_find("7:3", &by_index), SCL_ERROR_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(scl_last_error(NULL), "'7:3'"));
    ck_assert_ptr_nonnull(strstr(scl_last_error(NULL), "shufflecl devices"));
    ck_assert_int_eq(scl_device_find("1:x", &by_index), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_device_find("no such device xyz", &by_name), SCL_ERROR_NO_DEVICE);
    scl_context *ctx = (scl_context *)1;
    ck_assert_int_eq(scl_context_create("9:9", &ctx), SCL_ERROR_NO_DEVICE);
    ck_assert_ptr_null(ctx);
    /* SHUFFLECL_DEVICE steers the default */
    setenv("SHUFFLECL_DEVICE", "5:5", 1);
    ck_assert_int_eq(scl_device_find(NULL, &by_index), SCL_ERROR_NO_DEVICE);
    ck_assert_ptr_nonnull(strstr(scl_last_error(NULL), "SHUFFLECL_DEVICE"));
    unsetenv("SHUFFLECL_DEVICE");
}
END_TEST

/* Versioned structs: an unset size is refused with a message saying what to do; a caller built
 * against newer headers (a bigger struct) gets the fields this library knows and the rest of its
 * struct untouched; an older or unset scl_op_args is refused before anything launches. */
START_TEST(test_struct_sizes) {
    scl_context *ctx = tu_context();
    scl_network *net = NULL;
    TU_OK(ctx, scl_network_create(ctx, "v2_x0_5", &net));
    scl_network_stats unset = {0};
    ck_assert_int_eq(scl_network_get_stats(net, 1, 64, 64, &unset), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "sizeof(scl_network_stats)"));
    struct {
        scl_network_stats s;
        unsigned char later[64]; /* fields a later release might add */
    } big;
    memset(&big, 0xab, sizeof big);
    big.s.size = sizeof big;
    TU_OK(ctx, scl_network_get_stats(net, 1, 64, 64, &big.s));
    ck_assert_uint_eq(big.s.size, sizeof big);
    ck_assert_int_eq(big.s.launches, scl_network_launch_count(net));
    for (size_t i = 0; i < sizeof big.later; i++)
        ck_assert_uint_eq(big.later[i], 0xab);
    scl_layer_info li = {.size = sizeof li - 1};
    ck_assert_int_eq(scl_network_layer_info(net, 0, 64, 64, &li), SCL_ERROR_INVALID_ARGUMENT);
    scl_cache_stats cs = {0};
    ck_assert_int_eq(scl_context_cache_stats(ctx, &cs), SCL_ERROR_INVALID_ARGUMENT);
    scl_device_info di = {0};
    ck_assert_int_eq(scl_context_device_info(ctx, &di), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl_device_find(NULL, &di), SCL_ERROR_INVALID_ARGUMENT);
    /* an op refuses unversioned arguments without launching */
    scl_tensor *in = tu_tensor(ctx, 1, 4, 6, 6, NULL), *out = tu_tensor(ctx, 1, 4, 3, 3, NULL);
    scl_op *op = NULL;
    TU_OK(ctx, scl_op_maxpool_create(ctx, 4, &op));
    scl_op_args a = {.in = in, .out = out}; /* no size */
    ck_assert_int_eq(scl_op_enqueue(op, &a), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "sizeof(scl_op_args)"));
    a.size = sizeof a;
    TU_OK(ctx, scl_op_enqueue(op, &a));
    scl_op_destroy(op);
    scl_tensor_destroy(in);
    scl_tensor_destroy(out);
    scl_network_destroy(net);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_status_strings) {
    for (int s = 0; s >= -70; s--)
        ck_assert_ptr_nonnull(scl_status_string(s));
    ck_assert_str_eq(scl_status_string(CL_OUT_OF_RESOURCES), "CL_OUT_OF_RESOURCES");
    ck_assert_str_eq(scl_status_string(CL_BUILD_PROGRAM_FAILURE), "CL_BUILD_PROGRAM_FAILURE");
    const int lib[] = {SCL_ERROR_INVALID_ARGUMENT,  SCL_ERROR_SHAPE_MISMATCH,
                       SCL_ERROR_FILE_IO,           SCL_ERROR_FILE_FORMAT,
                       SCL_ERROR_UNSUPPORTED_MODEL, SCL_ERROR_OUT_OF_MEMORY,
                       SCL_ERROR_NO_DEVICE,         SCL_ERROR_BUILD_FAILED,
                       SCL_ERROR_UNSUPPORTED,       SCL_ERROR_WEIGHTS};
    for (size_t i = 0; i < SCL_ARRAY_LEN(lib); i++) {
        const char *s = scl_status_string(lib[i]);
        ck_assert_str_ne(s, "unknown status");
        for (size_t j = 0; j < i; j++)
            ck_assert_str_ne(s, scl_status_string(lib[j]));
    }
    ck_assert_str_eq(scl_status_string(-99999), "unknown status");
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", SCL_VERSION_MAJOR, SCL_VERSION_MINOR,
             SCL_VERSION_PATCH);
    ck_assert_str_eq(scl_version(), want);
    ck_assert_int_eq(scl_version_number(), SCL_VERSION_NUMBER);
    ck_assert_int_eq(SCL_VERSION_NUMBER, 200); /* 0.2.0: bump with the project's VERSION */
}
END_TEST

START_TEST(test_tensor_roundtrip) {
    scl_context *ctx = tu_context();
    uint64_t seed = 1;
    const int n = 2, c = 3, h = 5, w = 7; /* 35 floats a plane: padded to 48 */
    float *x = tu_random((size_t)n * c * h * w, &seed);
    scl_tensor *t = tu_tensor(ctx, n, c, h, w, x);
    ck_assert_uint_eq(scl_tensor_pitch(t), 48);
    float *y = tu_download(t);
    ck_assert_int_eq(memcmp(x, y, sizeof(float) * n * c * h * w), 0);
    /* shape checks name the sizes */
    ck_assert_int_eq(scl_tensor_upload(t, x, 5), SCL_ERROR_SHAPE_MISMATCH);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "2x3x5x7"));
    ck_assert_int_eq(scl_tensor_download(t, NULL, 210), SCL_ERROR_INVALID_ARGUMENT);
    scl_tensor *bad = NULL;
    ck_assert_int_eq(scl_tensor_create(ctx, 1, 0, 4, 4, &bad), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_null(bad);
    /* fill poisons padding and data alike */
    TU_OK(ctx, scl_tensor_fill(t, NAN));
    free(y);
    y = tu_download(t);
    for (int i = 0; i < n * c * h * w; i++)
        ck_assert(isnan(y[i]));
    scl_tensor_destroy(t);
    scl_tensor_destroy(NULL);
    free(x);
    free(y);
    scl_context_destroy(ctx);
}
END_TEST

START_TEST(test_wrap_context) {
    scl_device_info info = {.size = sizeof(scl_device_info)};
    ck_assert_int_eq(scl_device_find(NULL, &info), SCL_OK);
    cl_platform_id plats[16];
    cl_uint np;
    ck_assert_int_eq(clGetPlatformIDs(16, plats, &np), CL_SUCCESS);
    cl_device_id devs[64];
    cl_uint nd;
    ck_assert_int_eq(clGetDeviceIDs(plats[info.platform_index], CL_DEVICE_TYPE_ALL, 64, devs, &nd),
                     CL_SUCCESS);
    cl_device_id dev = devs[info.device_index];
    cl_int e;
    cl_context clctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_command_queue q = clCreateCommandQueue(clctx, dev, 0, &e); /* no profiling: still works */
    ck_assert_int_eq(e, CL_SUCCESS);
    scl_context *ctx = NULL;
    ck_assert_int_eq(scl_context_wrap(clctx, q, &ctx), SCL_OK);
    ck_assert_ptr_eq(scl_context_cl_context(ctx), clctx);
    ck_assert_ptr_eq(scl_context_cl_queue(ctx), q);
    ck_assert_ptr_eq(scl_context_cl_device(ctx), dev);
    scl_device_info got = {.size = sizeof(scl_device_info)};
    ck_assert_int_eq(scl_context_device_info(ctx, &got), SCL_OK);
    ck_assert_str_eq(got.name, info.name);
    ck_assert_int_eq(got.platform_index, info.platform_index);
    /* work through the wrapped queue: a pool op on the caller's queue */
    uint64_t seed = 5;
    float *x = tu_random(4 * 6 * 6, &seed);
    scl_tensor *in = tu_tensor(ctx, 1, 4, 6, 6, x), *out = tu_tensor(ctx, 1, 4, 3, 3, NULL);
    scl_op *op = NULL;
    TU_OK(ctx, scl_op_maxpool_create(ctx, 4, &op));
    scl_op_args a = {.size = sizeof(scl_op_args), .in = in, .out = out};
    TU_OK(ctx, scl_op_enqueue(op, &a));
    float *y = tu_download(out);
    ck_assert_float_eq(y[0], fmaxf(fmaxf(x[0], x[1]), fmaxf(x[6], x[7])));
    scl_op_destroy(op);
    scl_tensor_destroy(in);
    scl_tensor_destroy(out);
    scl_context_destroy(ctx);
    /* The caller's objects outlive the wrapper: its queue still takes and finishes work. (The
     * reference count is not asserted: the spec calls it stale on arrival, and PoCL releases
     * asynchronously, so it can read 2 under load. The retain/release balance is checked by
     * the fault-injection shim instead.) */
    cl_event marker = NULL;
    ck_assert_int_eq(clEnqueueMarkerWithWaitList(q, 0, NULL, &marker), CL_SUCCESS);
    ck_assert_int_eq(clFinish(q), CL_SUCCESS);
    cl_int done = 0;
    ck_assert_int_eq(
        clGetEventInfo(marker, CL_EVENT_COMMAND_EXECUTION_STATUS, sizeof done, &done, NULL),
        CL_SUCCESS);
    ck_assert_int_eq(done, CL_COMPLETE);
    ck_assert_int_eq(clReleaseEvent(marker), CL_SUCCESS);
    ck_assert_int_eq(clReleaseCommandQueue(q), CL_SUCCESS);
    ck_assert_int_eq(clReleaseContext(clctx), CL_SUCCESS);
    ck_assert_int_eq(scl_context_wrap(NULL, NULL, &ctx), SCL_ERROR_INVALID_ARGUMENT);
    free(x);
    free(y);
}
END_TEST

/* A fresh, empty cache directory per test. */
static void fresh_cache_dir(const char *name, char *dir, size_t cap) {
    snprintf(dir, cap, "%s/cache-%s-%ld", tu_tmpdir(), name, (long)getpid());
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        char path[4096];
        while ((e = readdir(d)))
            if (e->d_name[0] != '.')
                snprintf(path, sizeof path, "%s/%s", dir, e->d_name), remove(path);
        closedir(d);
    }
}

static int cache_files(const char *dir, char *first, size_t cap) {
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".bin") && !strstr(e->d_name, ".tmp")) {
            if (n++ == 0 && first) snprintf(first, cap, "%s/%s", dir, e->d_name);
        }
    closedir(d);
    return n;
}

START_TEST(test_program_cache) {
    char dir[2048];
    fresh_cache_dir("hit", dir, sizeof dir);
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    cl_program p1, p2;
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "-DUNUSED=1", &p1));
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "-DUNUSED=1", &p2));
    ck_assert_ptr_eq(p1, p2);
    scl_cache_stats s = {.size = sizeof(scl_cache_stats)};
    scl_context_cache_stats(ctx, &s);
    ck_assert_uint_eq(s.compiles, 1);
    ck_assert_uint_eq(s.memory_hits, 1);
    /* the binary is written when the program is saved (after the runs), not when it is built */
    ck_assert_uint_eq(s.disk_writes, 0);
    ck_assert_int_eq(cache_files(dir, NULL, 0), 0);
    TU_OK(ctx, scl_context_save_programs(ctx));
    scl_context_cache_stats(ctx, &s);
    ck_assert_uint_eq(s.disk_writes, 1);
    ck_assert_int_eq(cache_files(dir, NULL, 0), 1);
    /* each program once */
    TU_OK(ctx, scl_context_save_programs(ctx));
    scl_context_cache_stats(ctx, &s);
    ck_assert_uint_eq(s.disk_writes, 1);
    /* other options are another program, saved when the context is destroyed */
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "-DUNUSED=2", &p2));
    ck_assert_ptr_ne(p1, p2);
    scl_context_destroy(ctx);
    ck_assert_int_eq(cache_files(dir, NULL, 0), 2);

    /* a second context (as a second process would) loads the binary instead of compiling */
    ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "-DUNUSED=1", &p1));
    scl_context_cache_stats(ctx, &s);
    ck_assert_uint_eq(s.disk_hits, 1);
    ck_assert_uint_eq(s.compiles, 0);
    cl_kernel k = clCreateKernel(p1, "maxpool3x3s2", NULL);
    ck_assert_ptr_nonnull(k);
    clReleaseKernel(k);
    scl_context_destroy(ctx);

    /* with the cache off nothing is read or written */
    ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, NULL));
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "-DUNUSED=1", &p1));
    scl_context_cache_stats(ctx, &s);
    ck_assert_uint_eq(s.disk_hits, 0);
    ck_assert_uint_eq(s.compiles, 1);
    ck_assert_uint_eq(s.disk_writes, 0);
    scl_context_destroy(ctx);
}
END_TEST

/* Size of the one cache file in dir that is not `except` (its name gets copied there). */
static long new_cache_file(const char *dir, char *except, size_t cap) {
    DIR *d = opendir(dir);
    long size = -1;
    char found[4096] = "";
    struct dirent *e;
    while (d && (e = readdir(d))) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        struct stat sb;
        if (!strstr(e->d_name, ".bin") || strstr(e->d_name, ".tmp") || strcmp(path, except) == 0 ||
            stat(path, &sb) != 0)
            continue;
        size = (long)sb.st_size;
        snprintf(found, sizeof found, "%s", path);
    }
    if (d) closedir(d);
    if (size >= 0) snprintf(except, cap, "%s", found);
    return size;
}

/* Launches maxpool3x3s2 of prog once on a 1 x 1 x 8 x 8 input, with a work-group of 1 x 4. */
static void launch_maxpool(scl_context *ctx, cl_program prog) {
    cl_int e;
    cl_kernel k = clCreateKernel(prog, "maxpool3x3s2", &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    float host[64] = {0};
    int map = 0;
    cl_mem in = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE | CL_MEM_COPY_HOST_PTR, sizeof host,
                               host, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_mem out = clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_WRITE, sizeof host, NULL, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    cl_mem m =
        clCreateBuffer(ctx->cl_ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof map, &map, &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    const cl_int i64 = 64, h = 8, w = 8, o16 = 16, o = 4, one = 1, seg = 4;
    const void *vals[] = {&in,  &m,   &i64, &i64, &h,   &w,   &out, &m,
                          &o16, &o16, &o,   &o,   &one, &one, &seg};
    const size_t sizes[] = {sizeof in, sizeof m, 4, 4, 4, 4, sizeof out, sizeof m,
                            4,         4,        4, 4, 4, 4, 4};
    for (cl_uint i = 0; i < 15; i++)
        ck_assert_int_eq(clSetKernelArg(k, i, sizes[i], vals[i]), CL_SUCCESS);
    const size_t global[3] = {1, 4, 1}, local[3] = {1, 4, 1};
    ck_assert_int_eq(clEnqueueNDRangeKernel(ctx->queue, k, 3, NULL, global, local, 0, NULL, NULL),
                     CL_SUCCESS);
    ck_assert_int_eq(clFinish(ctx->queue), CL_SUCCESS);
    clReleaseKernel(k);
    clReleaseMemObject(in), clReleaseMemObject(out), clReleaseMemObject(m);
}

/* The finding: binaries were written when the program was built, before any launch, so on PoCL
 * they held no work-group function of a launch and every process compiled those again when
 * PoCL's own cache was off (seconds per network). A program saved after a launch now carries
 * the launch's machine code: on PoCL its binary is larger than one of a program never
 * launched (other drivers may keep the same binary either way). */
START_TEST(test_program_saved_after_launch) {
    char dir[2048], seen[4096] = "", opt[64];
    fresh_cache_dir("launched", dir, sizeof dir);
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    /* options of this run only (PoCL's own cache outlives processes, and pids are reused): it
     * has no work-group function for them yet */
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    long long run = (long long)now.tv_sec * 1000000000ll + now.tv_nsec;
    cl_program idle, ran;
    snprintf(opt, sizeof opt, "-DSAVE_TEST=%lld%ld0 -DVW=8", run, (long)getpid());
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", opt, &idle));
    TU_OK(ctx, scl_context_save_programs(ctx));
    long idle_size = new_cache_file(dir, seen, sizeof seen);
    snprintf(opt, sizeof opt, "-DSAVE_TEST=%lld%ld1 -DVW=8", run, (long)getpid());
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", opt, &ran));
    launch_maxpool(ctx, ran);
    TU_OK(ctx, scl_context_save_programs(ctx));
    long ran_size = new_cache_file(dir, seen, sizeof seen);
    ck_assert_msg(idle_size > 0 && ran_size > 0, "cache files: %ld, %ld bytes", idle_size,
                  ran_size);
    if (strstr(ctx->info.platform_name, "Portable Computing Language"))
        /* the launch's work-group function is tens of KB; the two programs' binaries differ
         * by about a hundred bytes otherwise */
        ck_assert_msg(ran_size > idle_size + 8192, "launched %ld bytes, not launched %ld", ran_size,
                      idle_size);
    scl_context_destroy(ctx);
    /* and it loads: a second context finds it */
    ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", opt, &ran));
    scl_cache_stats s = {.size = sizeof(scl_cache_stats)};
    scl_context_cache_stats(ctx, &s);
    ck_assert_uint_eq(s.disk_hits, 1);
    launch_maxpool(ctx, ran);
    scl_context_destroy(ctx);
}
END_TEST

static void corrupt_and_rebuild(const char *how) {
    char dir[2048], file[4096];
    fresh_cache_dir(how, dir, sizeof dir);
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    cl_program p;
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "", &p));
    scl_context_destroy(ctx);
    ck_assert_int_eq(cache_files(dir, file, sizeof file), 1);
    struct stat sb;
    ck_assert_int_eq(stat(file, &sb), 0);
    if (strcmp(how, "truncate") == 0) {
        ck_assert_int_eq(truncate(file, sb.st_size / 2), 0);
    } else if (strcmp(how, "flip") == 0) {
        FILE *f = fopen(file, "r+b");
        ck_assert_ptr_nonnull(f);
        fseek(f, sb.st_size / 2, SEEK_SET);
        int c = fgetc(f);
        fseek(f, sb.st_size / 2, SEEK_SET);
        fputc(c ^ 0x5a, f);
        fclose(f);
    } else { /* garbage */
        FILE *f = fopen(file, "wb");
        fputs("not a program binary", f);
        fclose(f);
    }
    ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "", &p));
    TU_OK(ctx, scl_context_save_programs(ctx));
    scl_cache_stats s = {.size = sizeof(scl_cache_stats)};
    scl_context_cache_stats(ctx, &s);
    ck_assert_msg(s.disk_rejects == 1 && s.compiles == 1 && s.disk_hits == 0 && s.disk_writes == 1,
                  "%s: rejects %u compiles %u hits %u writes %u", how, s.disk_rejects, s.compiles,
                  s.disk_hits, s.disk_writes);
    /* the rebuilt program works */
    cl_kernel k = clCreateKernel(p, "avgpool3x3s2", NULL);
    ck_assert_ptr_nonnull(k);
    clReleaseKernel(k);
    scl_context_destroy(ctx);
    /* and the cache file was replaced by a good one */
    ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, dir));
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "", &p));
    scl_context_cache_stats(ctx, &s);
    ck_assert_uint_eq(s.disk_hits, 1);
    scl_context_destroy(ctx);
}

START_TEST(test_cache_corrupt) {
    corrupt_and_rebuild("truncate");
    corrupt_and_rebuild("flip");
    corrupt_and_rebuild("garbage");
}
END_TEST

START_TEST(test_build_errors) {
    scl_context *ctx = tu_context();
    cl_program p = NULL;
    scl_status st = scl_context_build_source(
        ctx, "broken.cl", "__kernel void k(__global float *x) { x[0] = undeclared_name; }", "", &p);
    ck_assert_int_eq(st, SCL_ERROR_BUILD_FAILED);
    const char *msg = scl_last_error(ctx);
    ck_assert_ptr_nonnull(strstr(msg, "broken.cl"));
    ck_assert_ptr_nonnull(strstr(msg, "CL_BUILD_PROGRAM_FAILURE"));
    ck_assert_msg(strstr(msg, "undeclared_name") != NULL, "compiler message missing: %s", msg);
    ck_assert_int_eq(scl_context_build(ctx, "no_such_file.cl", "", &p), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(scl_last_error(ctx), "no_such_file.cl"));
    /* bad options reach the driver and come back named */
    st = scl_context_build(ctx, "pool.cl", "-DX=\"", &p);
    ck_assert_int_ne(st, SCL_OK);
    ck_assert_int_eq(scl_context_build_source(ctx, "ok.cl",
                                              "__kernel void k(__global float *x) { x[0] = 1; }",
                                              NULL, &p),
                     SCL_OK);
    scl_context_destroy(ctx);
}
END_TEST

/* Writes `text` to dir/name, or appends it. */
static void put_file(const char *dir, const char *name, const char *text, size_t len, int append) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, append ? "ab" : "wb");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    ck_assert_uint_eq(fwrite(text, 1, len, f), len);
    ck_assert_int_eq(fclose(f), 0);
}

START_TEST(test_cl_dir_override) {
    /* SHUFFLECL_CL_DIR reads kernels from disk: a file only there can be built, after the
     * common.cl found there (which defines TWO) */
    char dir[2048];
    snprintf(dir, sizeof dir, "%s/cldir-%ld", tu_tmpdir(), (long)getpid());
    mkdir(dir, 0755);
    const char *pool = "__kernel void from_disk(__global float *x) { x[0] = TWO; }\n";
    const char *common = "#define TWO 2.0f\n";
    put_file(dir, "pool.cl", pool, strlen(pool), 0);
    put_file(dir, "common.cl", common, strlen(common), 0);
    setenv("SHUFFLECL_CL_DIR", dir, 1);
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, NULL));
    cl_program p;
    TU_OK(ctx, scl_context_build(ctx, "pool.cl", "", &p));
    cl_int e;
    cl_kernel k = clCreateKernel(p, "from_disk", &e);
    ck_assert_int_eq(e, CL_SUCCESS);
    clReleaseKernel(k);
    unsetenv("SHUFFLECL_CL_DIR");
    scl_context_destroy(ctx);
}
END_TEST

/* Builds `file` in a fresh context over the disk cache `cache`; returns its cache stats. */
static scl_cache_stats build_once(const char *cache, const char *file) {
    scl_context *ctx = tu_context();
    TU_OK(ctx, scl_context_set_cache_dir(ctx, cache));
    cl_program p;
    TU_OK(ctx, scl_context_build(ctx, file, "", &p));
    scl_cache_stats s = {.size = sizeof s};
    TU_OK(ctx, scl_context_cache_stats(ctx, &s));
    scl_context_destroy(ctx);
    return s;
}

START_TEST(test_prelude_in_cache_key) {
    /* The files built ahead of a family (common.cl, stencil.cl) are part of its program: an edit
     * there must not load the binary built before it. A copy of the embedded kernels on disk
     * (SHUFFLECL_CL_DIR), edited in place between builds. */
    char dir[2048], cache[2048];
    snprintf(dir, sizeof dir, "%s/cldir-key-%ld", tu_tmpdir(), (long)getpid());
    mkdir(dir, 0755);
    static const char *const files[] = {"common.cl", "stencil.cl", "pool.cl", "stem.cl"};
    scl_context *ctx = tu_context();
    for (size_t i = 0; i < SCL_ARRAY_LEN(files); i++) {
        const char *text;
        size_t len;
        int owned;
        TU_OK(ctx, scl__cl_source(ctx, files[i], &text, &len, &owned));
        put_file(dir, files[i], text, len, 0);
        if (owned) free((void *)text);
    }
    scl_context_destroy(ctx);
    fresh_cache_dir("prelude", cache, sizeof cache);
    setenv("SHUFFLECL_CL_DIR", dir, 1);

    scl_cache_stats s = build_once(cache, "pool.cl");
    ck_assert_uint_eq(s.compiles, 1);
    s = build_once(cache, "stem.cl");
    ck_assert_uint_eq(s.compiles, 1);
    /* unchanged: both from the disk cache */
    s = build_once(cache, "pool.cl");
    ck_assert_msg(s.disk_hits == 1 && s.compiles == 0, "pool.cl: hits %u compiles %u", s.disk_hits,
                  s.compiles);
    s = build_once(cache, "stem.cl");
    ck_assert_msg(s.disk_hits == 1 && s.compiles == 0, "stem.cl: hits %u compiles %u", s.disk_hits,
                  s.compiles);
    ck_assert_int_eq(cache_files(cache, NULL, 0), 2);

    /* common.cl edited (a comment: the same kernels, another source): every family rebuilds */
    const char *edit = "// edited\n";
    put_file(dir, "common.cl", edit, strlen(edit), 1);
    s = build_once(cache, "pool.cl");
    ck_assert_msg(s.disk_hits == 0 && s.compiles == 1,
                  "pool.cl after common.cl: hits %u compiles %u", s.disk_hits, s.compiles);
    s = build_once(cache, "stem.cl");
    ck_assert_msg(s.disk_hits == 0 && s.compiles == 1,
                  "stem.cl after common.cl: hits %u compiles %u", s.disk_hits, s.compiles);
    ck_assert_int_eq(cache_files(cache, NULL, 0), 4);

    /* stencil.cl edited: stem.cl rebuilds, pool.cl (which does not use it) still hits */
    put_file(dir, "stencil.cl", edit, strlen(edit), 1);
    s = build_once(cache, "pool.cl");
    ck_assert_msg(s.disk_hits == 1 && s.compiles == 0,
                  "pool.cl after stencil.cl: hits %u compiles %u", s.disk_hits, s.compiles);
    s = build_once(cache, "stem.cl");
    ck_assert_msg(s.disk_hits == 0 && s.compiles == 1,
                  "stem.cl after stencil.cl: hits %u compiles %u", s.disk_hits, s.compiles);
    ck_assert_int_eq(cache_files(cache, NULL, 0), 5);
    unsetenv("SHUFFLECL_CL_DIR");
}
END_TEST

int main(void) {
    Suite *s = suite_create("runtime");
    TCase *tc = tcase_create("runtime");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_device_list);
    tcase_add_test(tc, test_device_select);
    tcase_add_test(tc, test_status_strings);
    tcase_add_test(tc, test_struct_sizes);
    tcase_add_test(tc, test_tensor_roundtrip);
    tcase_add_test(tc, test_wrap_context);
    tcase_add_test(tc, test_program_cache);
    tcase_add_test(tc, test_program_saved_after_launch);
    tcase_add_test(tc, test_cache_corrupt);
    tcase_add_test(tc, test_build_errors);
    tcase_add_test(tc, test_cl_dir_override);
    tcase_add_test(tc, test_prelude_in_cache_key);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
