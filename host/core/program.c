/* program.c: builds the embedded cl/ kernels, with an in-memory cache per context keyed by
 * (file, options) and an on-disk binary cache shared by every process.
 *
 * The source of a program is its file with the shared files built ahead of it (common.cl, and
 * stencil.cl for the stencil families), so that every key below covers them too.
 *
 * Disk cache: one file per program, named by the hex SHA-256 of (format version, library
 * version, source, options, device name, driver version, platform version). A context per call
 * therefore still hits the cache: nothing context-specific is in the key. File layout:
 *   "SCLPROG\0" | u32 format | u32 0 | key[32] | u64 size | binary[size] | sha256(binary)[32]
 * It is written to a temporary name unique to the writer (mkstemp) and renamed, so a reader
 * sees a whole file or none and concurrent writers of one key never share a temporary. A file
 * that is short, has another magic/format/key, fails its checksum, is over SCL__CACHE_MAX_BYTES
 * (256 MiB) or is not a regular file (a FIFO must not hang the run) is ignored and rebuilt. */
#include "core/internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define CACHE_MAGIC "SCLPROG"
#define CACHE_FORMAT 1u
#define CACHE_HEADER (8 + 4 + 4 + 32 + 8)

scl_status scl__cl_source(scl_context *ctx, const char *file, const char **text, size_t *len,
                          int *owned) {
    *owned = 0;
    const char *dir = getenv("SHUFFLECL_CL_DIR");
    if (dir && *dir) {
        /* development switch: edit a kernel without rebuilding the library */
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, file);
        char why[160];
        int64_t n = -1;
        FILE *f = scl__open_regular_read(path, 64 << 20, &n, why, sizeof why);
        if (!f)
            return scl__fail(ctx, SCL_ERROR_FILE_IO, "SHUFFLECL_CL_DIR: cannot read %s: %s", path,
                             why[0] ? why : "no such file");
        char *buf = malloc((size_t)n + 1);
        if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
            free(buf);
            fclose(f);
            return scl__fail(ctx, SCL_ERROR_FILE_IO, "SHUFFLECL_CL_DIR: cannot read %s", path);
        }
        fclose(f);
        buf[n] = '\0';
        *text = buf, *len = (size_t)n, *owned = 1;
        return SCL_OK;
    }
    for (size_t i = 0; i < scl__embedded_count; i++) {
        if (strcmp(scl__embedded_files[i].name, file) == 0) {
            *text = (const char *)scl__embedded_files[i].data;
            *len = scl__embedded_files[i].size;
            return SCL_OK;
        }
    }
    return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "no kernel file named '%s' is embedded",
                     file);
}

/* The cl/ files built ahead of a family's own source, in this order: common.cl (vector types,
 * loads, stores, lane shifts) before every file, and stencil.cl (the 3x3 tap loader and row
 * walk) before the two stencil families. */
static const char *const *prelude_of(const char *file) {
    static const char *const none[] = {NULL};
    static const char *const common[] = {"common.cl", NULL};
    static const char *const stencil[] = {"common.cl", "stencil.cl", NULL};
    if (strcmp(file, "common.cl") == 0) return none;
    if (strcmp(file, "depthwise.cl") == 0 || strcmp(file, "stem.cl") == 0) return stencil;
    return common;
}

/* Adds name to the n names unless it is there already; returns the new count. */
static int add_once(const char **names, int n, const char *name) {
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return n;
    names[n] = name;
    return n + 1;
}

/* The files' texts joined, each after a #line naming it, in one malloc'd string. */
static scl_status join_sources(scl_context *ctx, const char *const *names, int n, char **text,
                               size_t *len) {
    const char *parts[SCL__GROUP_MAX + 2];
    size_t lens[SCL__GROUP_MAX + 2], total = 1;
    int owned[SCL__GROUP_MAX + 2], got = 0;
    scl_status st = SCL_OK;
    for (; got < n; got++) {
        if ((st = scl__cl_source(ctx, names[got], &parts[got], &lens[got], &owned[got])) != SCL_OK)
            break;
        /* room for the part, the #line ahead of it and a newline after it (all in memory
         * already, so the sum cannot overflow) */
        total += lens[got] + strlen(names[got]) + 16;
    }
    char *buf = got == n ? malloc(total) : NULL;
    if (got == n && !buf) st = scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    size_t at = 0;
    for (int i = 0; i < got; i++) {
        if (buf) {
            /* the compiler's line numbers restart in each part, so that build logs point into
             * the right file (a name a #line cannot quote goes unnamed) */
            const char *q = strpbrk(names[i], "\"\\\n") ? "" : names[i];
            at += (size_t)snprintf(buf + at, total - at, "#line 1 \"%s\"\n", q);
            memcpy(buf + at, parts[i], lens[i]);
            at += lens[i];
            buf[at++] = '\n';
        }
        if (owned[i]) free((void *)parts[i]);
    }
    if (!buf) return st;
    buf[at] = '\0';
    *text = buf, *len = at;
    return SCL_OK;
}

/* The files of a group, each after its prelude's files not yet among them. */
static int group_files(const char *const *files, int n, const char **names) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        for (const char *const *p = prelude_of(files[i]); *p; p++)
            k = add_once(names, k, *p);
        k = add_once(names, k, files[i]);
    }
    return k;
}

scl_status scl__cl_program_source(scl_context *ctx, const char *file, char **text, size_t *len) {
    const char *names[SCL__GROUP_MAX + 2];
    return join_sources(ctx, names, group_files(&file, 1, names), text, len);
}

static void cache_key(const scl_context *ctx, const char *src, size_t len, const char *options,
                      unsigned char key[32]) {
    scl__sha256 s;
    scl__sha256_init(&s);
    const uint32_t fmt = CACHE_FORMAT;
    scl__sha256_update(&s, &fmt, sizeof fmt);
    /* "saved after launches": binaries written at build time by earlier libraries of the same
     * version lack the launches' machine code; another key leaves them unread */
    const char *parts[] = {"saved after launches",
                           scl_version(),
                           options,
                           ctx->info.name,
                           ctx->info.driver_version,
                           ctx->info.platform_version,
                           ctx->info.device_version};
    for (size_t i = 0; i < SCL_ARRAY_LEN(parts); i++)
        scl__sha256_update(&s, parts[i], strlen(parts[i]) + 1);
    scl__sha256_update(&s, src, len);
    scl__sha256_final(&s, key);
}

static void cache_path(const scl_context *ctx, const unsigned char key[32], char *path,
                       size_t cap) {
    char hex[65];
    for (int i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", key[i]);
    snprintf(path, cap, "%s/%s.bin", ctx->cache_dir, hex);
}

int scl__mkdirs(const char *dir) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(tmp, 0755) != 0 && errno != EEXIST ? -1 : 0;
}

size_t scl__cache_parse(const unsigned char *buf, size_t n, const unsigned char key[32],
                        size_t *offset) {
    if (n < CACHE_HEADER + 32) return 0;
    uint32_t fmt;
    uint64_t len;
    memcpy(&fmt, buf + 8, 4);
    memcpy(&len, buf + 16 + 32, 8);
    if (memcmp(buf, CACHE_MAGIC, 8) != 0 || fmt != CACHE_FORMAT || memcmp(buf + 16, key, 32) != 0 ||
        len == 0 || len != (uint64_t)n - CACHE_HEADER - 32)
        return 0;
    unsigned char sum[32];
    scl__sha256 s;
    scl__sha256_init(&s);
    scl__sha256_update(&s, buf + CACHE_HEADER, (size_t)len);
    scl__sha256_final(&s, sum);
    if (memcmp(sum, buf + CACHE_HEADER + len, 32) != 0) return 0;
    *offset = CACHE_HEADER;
    return (size_t)len;
}

/* Returns a malloc'd binary or NULL (missing or rejected; rejections are counted). */
static unsigned char *cache_read(scl_context *ctx, const unsigned char key[32], size_t *size) {
    char path[4200], why[160];
    cache_path(ctx, key, path, sizeof path);
    int64_t n = -1;
    FILE *f = scl__open_regular_read(path, SCL__CACHE_MAX_BYTES, &n, why, sizeof why);
    if (!f) {
        if (!why[0]) return NULL; /* missing: an ordinary miss */
        ctx->stats.disk_rejects++;
        scl__log(ctx, SCL_LOG_WARN, "ignoring program cache file %s: %s", path, why);
        return NULL;
    }
    unsigned char *buf = NULL, *bin = NULL;
    size_t off = 0, len = 0;
    /* n is the file's size, bounded by scl__open_regular_read; the parse checks the rest */
    if (n >= CACHE_HEADER + 32 && (buf = malloc((size_t)n)) &&
        fread(buf, 1, (size_t)n, f) == (size_t)n &&
        (len = scl__cache_parse(buf, (size_t)n, key, &off)) != 0 && (bin = malloc(len))) {
        memcpy(bin, buf + off, len);
        *size = len;
    }
    fclose(f);
    free(buf);
    if (!bin) {
        ctx->stats.disk_rejects++;
        scl__log(ctx, SCL_LOG_WARN, "ignoring corrupt or stale program cache file %s", path);
    }
    return bin;
}

static void cache_write(scl_context *ctx, const unsigned char key[32], cl_program prog) {
    size_t size = 0;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) != CL_SUCCESS ||
        !size)
        return;
    unsigned char *bin = malloc(size);
    if (!bin) return;
    if (clGetProgramInfo(prog, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) != CL_SUCCESS) {
        free(bin);
        return;
    }
    if (scl__mkdirs(ctx->cache_dir) != 0) {
        if (!ctx->cache_dir_warned)
            scl__log(ctx, SCL_LOG_WARN,
                     "cannot create the program cache directory %s: %s; "
                     "programs will be compiled every run",
                     ctx->cache_dir, strerror(errno));
        ctx->cache_dir_warned = 1;
        free(bin);
        return;
    }
    char path[4200], tmp[4300];
    cache_path(ctx, key, path, sizeof path);
    FILE *f = scl__atomic_create(path, tmp, sizeof tmp);
    int ok = f != NULL;
    if (ok) {
        unsigned char header[CACHE_HEADER] = {0};
        uint32_t fmt = CACHE_FORMAT;
        uint64_t len = size;
        memcpy(header, CACHE_MAGIC, 8);
        memcpy(header + 8, &fmt, 4);
        memcpy(header + 16, key, 32);
        memcpy(header + 48, &len, 8);
        unsigned char sum[32];
        scl__sha256 s;
        scl__sha256_init(&s);
        scl__sha256_update(&s, bin, size);
        scl__sha256_final(&s, sum);
        ok = fwrite(header, 1, sizeof header, f) == sizeof header &&
             fwrite(bin, 1, size, f) == size && fwrite(sum, 1, 32, f) == 32;
        ok = scl__atomic_commit(f, tmp, path, ok) == 0;
    }
    if (ok) {
        ctx->stats.disk_writes++;
    } else {
        scl__log(ctx, SCL_LOG_WARN, "could not write program cache file %s: %s", path,
                 f ? "writing or renaming the temporary failed" : strerror(errno));
    }
    free(bin);
}

/* Builds prog, recording "building NAME with 'OPTIONS': CL_BUILD_PROGRAM_FAILURE" and the build
 * log on failure. */
static scl_status build(scl_context *ctx, cl_program prog, const char *name, const char *options) {
    cl_int e = clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL);
    if (e == CL_SUCCESS) return SCL_OK;
    size_t loglen = 0;
    char *log = NULL;
    if (clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &loglen) ==
            CL_SUCCESS &&
        loglen && (log = malloc(loglen + 1)) &&
        clGetProgramBuildInfo(prog, ctx->device, CL_PROGRAM_BUILD_LOG, loglen, log, NULL) ==
            CL_SUCCESS)
        log[loglen] = '\0';
    scl__fail(ctx, e == CL_BUILD_PROGRAM_FAILURE ? SCL_ERROR_BUILD_FAILED : (scl_status)e,
              "building %s with options '%s': %s (%d)\n%s", name, options, scl_status_string(e),
              (int)e, log ? log : "(no build log)");
    free(log);
    return e == CL_BUILD_PROGRAM_FAILURE ? SCL_ERROR_BUILD_FAILED : (scl_status)e;
}

static scl_status compile_source(scl_context *ctx, const char *name, const char *src, size_t len,
                                 const char *options, cl_program *out) {
    cl_int e;
    cl_program prog = clCreateProgramWithSource(ctx->cl_ctx, 1, &src, &len, &e);
    if (e != CL_SUCCESS) return scl__cl_fail(ctx, e, "clCreateProgramWithSource");
    scl_status st = build(ctx, prog, name, options);
    if (st != SCL_OK) {
        clReleaseProgram(prog);
        return st;
    }
    ctx->stats.compiles++;
    *out = prog;
    return SCL_OK;
}

static scl_status remember(scl_context *ctx, const char *file, const char *options, cl_program prog,
                           const unsigned char *unsaved_key) {
    scl_program_entry *ent = calloc(1, sizeof *ent);
    if (ent) ent->file = scl__strdup(file), ent->options = scl__strdup(options);
    if (!ent || !ent->file || !ent->options) {
        if (ent) free(ent->file), free(ent->options);
        free(ent);
        clReleaseProgram(prog);
        return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory");
    }
    ent->program = prog;
    if (unsaved_key) ent->unsaved = 1, memcpy(ent->key, unsaved_key, sizeof ent->key);
    ent->next = ctx->programs;
    ctx->programs = ent;
    return SCL_OK;
}

/* The program of cache key `key` built from the disk cache's binary, or NULL (no cache, no
 * entry, or a binary the driver refuses, e.g. updated in place: the caller compiles). */
static cl_program from_disk_cache(scl_context *ctx, const unsigned char *key, const char *options) {
    if (!ctx->cache_dir) return NULL;
    size_t size;
    unsigned char *bin = cache_read(ctx, key, &size);
    if (!bin) return NULL;
    cl_int e, binst;
    const unsigned char *bins[1] = {bin};
    cl_program prog =
        clCreateProgramWithBinary(ctx->cl_ctx, 1, &ctx->device, &size, bins, &binst, &e);
    if (e == CL_SUCCESS && binst == CL_SUCCESS &&
        clBuildProgram(prog, 1, &ctx->device, options, NULL, NULL) == CL_SUCCESS) {
        ctx->stats.disk_hits++;
    } else {
        if (prog) clReleaseProgram(prog);
        prog = NULL;
        ctx->stats.disk_rejects++;
    }
    free(bin);
    return prog;
}

scl_status scl_context_build(scl_context *ctx, const char *file, const char *options,
                             cl_program *out) {
    if (!ctx || !file || !out)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT, "scl_context_build: NULL argument");
    if (!options) options = "";
    for (scl_program_entry *p = ctx->programs; p; p = p->next) {
        if (!p->anonymous && strcmp(p->file, file) == 0 && strcmp(p->options, options) == 0) {
            ctx->stats.memory_hits++;
            *out = p->program;
            return SCL_OK;
        }
    }
    char *src;
    size_t len;
    scl_status st = scl__cl_program_source(ctx, file, &src, &len);
    if (st != SCL_OK) return st;
    unsigned char key[32];
    cache_key(ctx, src, len, options, key);
    cl_program prog = from_disk_cache(ctx, key, options);
    /* compiled here: saved later (scl__programs_save), not now */
    int compiled = !prog;
    if (compiled) st = compile_source(ctx, file, src, len, options, &prog);
    free(src);
    if (st != SCL_OK) return st;
    if ((st = remember(ctx, file, options, prog, compiled ? key : NULL)) != SCL_OK) return st;
    *out = prog;
    return SCL_OK;
}

/* 1 when every option of every member is -DNAME or -DNAME=VALUE and no NAME has two values
 * (stem.cl and pool.cl share VW, for one): then the members' options can be one set. Writes the
 * set, each option once, to out. */
static int merge_options(const char *const *options, int n, char *out, size_t cap) {
    size_t at = 0;
    out[0] = '\0';
    for (int i = 0; i < n; i++) {
        for (const char *o = options[i]; *o;) {
            size_t len = strcspn(o, " ");
            if (len == 0) {
                o++;
                continue;
            }
            if (len < 3 || strncmp(o, "-D", 2) != 0) return 0;
            size_t name = strcspn(o, "= ");
            int seen = 0;
            for (const char *m = out; *m; m += strcspn(m, " "), m += *m == ' ') {
                size_t mlen = strcspn(m, " "), mname = strcspn(m, "= ");
                if (mname != name || strncmp(m, o, name) != 0) continue;
                if (mlen != len || strncmp(m, o, len) != 0) return 0; /* another value */
                seen = 1;
            }
            if (!seen) {
                if (at + len + 2 > cap) return 0;
                if (at) out[at++] = ' ';
                memcpy(out + at, o, len);
                out[at += len] = '\0';
            }
            o += len;
        }
    }
    return 1;
}

void scl__context_build_group(scl_context *ctx, int n, const char *const *files,
                              const char *const *options) {
    if (!ctx || n < 1 || n > SCL__GROUP_MAX) return;
    for (scl_program_entry *p = ctx->programs; p; p = p->next)
        for (int i = 0; i < n; i++)
            if (!p->anonymous && strcmp(p->file, files[i]) == 0 &&
                strcmp(p->options, options[i]) == 0)
                return; /* one is built: each is left to its own build */
    char merged[1024];
    if (!merge_options(options, n, merged, sizeof merged)) return;
    const char *names[SCL__GROUP_MAX + 2];
    char *src;
    size_t len;
    if (join_sources(ctx, names, group_files(files, n, names), &src, &len) != SCL_OK) return;
    unsigned char key[32];
    cache_key(ctx, src, len, merged, key);
    cl_program prog = from_disk_cache(ctx, key, merged);
    int compiled = !prog;
    if (compiled) {
        cl_int e;
        const char *text = src;
        prog = clCreateProgramWithSource(ctx->cl_ctx, 1, &text, &len, &e);
        if (e != CL_SUCCESS) {
            prog = NULL;
        } else if (clBuildProgram(prog, 1, &ctx->device, merged, NULL, NULL) != CL_SUCCESS) {
            clReleaseProgram(prog);
            prog = NULL;
        } else {
            ctx->stats.compiles++;
        }
    }
    free(src);
    if (!prog) {
        scl__log(ctx, SCL_LOG_DEBUG, "program group of %s and %d more not built: each alone",
                 files[0], n - 1);
        return;
    }
    /* one reference per entry; the first carries the disk key (saved once, at destruction) */
    for (int i = 1; i < n; i++)
        if (clRetainProgram(prog) != CL_SUCCESS) n = i;
    for (int i = 0; i < n; i++) {
        if (remember(ctx, files[i], options[i], prog, i == 0 && compiled ? key : NULL) == SCL_OK)
            continue;
        while (++i < n) /* out of memory: remember released its reference, these are left */
            clReleaseProgram(prog);
    }
}

scl_status scl_context_build_source(scl_context *ctx, const char *name, const char *source,
                                    const char *options, cl_program *out) {
    if (!ctx || !name || !source || !out)
        return scl__fail(ctx, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_context_build_source: NULL argument");
    if (!options) options = "";
    cl_program prog;
    scl_status st = compile_source(ctx, name, source, strlen(source), options, &prog);
    if (st != SCL_OK) return st;
    /* kept in the list only so that it is released with the context */
    char tag[300];
    snprintf(tag, sizeof tag, "<source>%s", name);
    if ((st = remember(ctx, tag, options, prog, NULL)) != SCL_OK) return st;
    ctx->programs->anonymous = 1;
    *out = prog;
    return SCL_OK;
}

/* A program's binary is written when it is saved, not when it is built: on PoCL the export
 * compiles a generic work-group function for every kernel of the program (seconds for a program,
 * none of it used by a launch, which gets its own function for its work-group size), and it
 * holds the machine code of the launches made so far, then fixed for that program object. So
 * the first run pays none of it, and a binary saved after the runs makes the next process start
 * warm even with PoCL's own cache off. */
void scl__programs_save(scl_context *ctx) {
    for (scl_program_entry *p = ctx->programs; p; p = p->next) {
        if (!p->unsaved) continue;
        p->unsaved = 0;
        if (ctx->cache_dir) cache_write(ctx, p->key, p->program);
    }
}

scl_status scl_context_save_programs(scl_context *ctx) {
    if (!ctx)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "scl_context_save_programs: ctx is NULL");
    /* the launches queued so far have been compiled by the time they finish */
    SCL_CL_TRY(ctx, clFinish(ctx->queue), "scl_context_save_programs: clFinish");
    scl__programs_save(ctx);
    return SCL_OK;
}

void scl__programs_release(scl_context *ctx) {
    scl_program_entry *p = ctx->programs;
    while (p) {
        scl_program_entry *next = p->next;
        clReleaseProgram(p->program);
        free(p->file);
        free(p->options);
        free(p);
        p = next;
    }
    ctx->programs = NULL;
}

scl_status scl__kernel_create(scl_context *ctx, const char *file, const char *options,
                              const char *kernel, cl_kernel *out) {
    cl_program prog;
    scl_status st = scl_context_build(ctx, file, options, &prog);
    if (st != SCL_OK) return st;
    cl_int e;
    *out = clCreateKernel(prog, kernel, &e);
    if (e != CL_SUCCESS) {
        char what[256];
        snprintf(what, sizeof what, "clCreateKernel(%s) from %s", kernel, file);
        return scl__cl_fail(ctx, e, what);
    }
    return SCL_OK;
}
