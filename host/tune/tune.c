/* tune.c: the per-device tuning table (see tune.h).
 *
 * A text file in the cache directory, one per device. Line 1 "shufflecl-tune <format>", line 2
 * "source <hash of every kernel source>": a table of another format, or measured with other
 * kernels, is stale and ignored whole. Then one entry per line (docs/kernels.md, "Tuning"):
 *   pointwise f32 28x28 : 0 116 116 1 1 1 : 16 8 # 0.1000 0.0900
 * Everything read is untrusted: lines that do not parse (bad numbers, too many, out of int
 * range) are skipped with a warning naming the file; whether the values make a valid
 * configuration is checked by op creation against the family's descriptor. */
#include "tune/tune.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define TUNE_MAX_BYTES ((int64_t)16 << 20) /* a table is a few KiB; larger is not ours */

static void hex(const unsigned char *d, int n, char *out) {
    for (int i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", d[i]);
}

void scl__tune_path(const scl_context *ctx, char *path, size_t cap) {
    scl__sha256 s;
    unsigned char d[32];
    char h[33];
    scl__sha256_init(&s);
    scl__sha256_update(&s, ctx->info.name, strlen(ctx->info.name) + 1);
    scl__sha256_update(&s, ctx->info.driver_version, strlen(ctx->info.driver_version) + 1);
    scl__sha256_update(&s, ctx->info.platform_version, strlen(ctx->info.platform_version) + 1);
    scl__sha256_final(&s, d);
    hex(d, 16, h);
    snprintf(path, cap, "%s/tune-%s.txt", ctx->cache_dir ? ctx->cache_dir : ".", h);
}

scl_status scl__tune_source_hash(scl_context *ctx, char out[65]) {
    scl__sha256 s;
    scl__sha256_init(&s);
    scl__sha256_update(&s, scl_version(), strlen(scl_version()));
    for (size_t i = 0; i < scl__embedded_count; i++) {
        const char *src;
        size_t len;
        int owned;
        scl_status st = scl__cl_source(ctx, scl__embedded_files[i].name, &src, &len, &owned);
        if (st != SCL_OK) return st;
        scl__sha256_update(&s, scl__embedded_files[i].name,
                           strlen(scl__embedded_files[i].name) + 1);
        scl__sha256_update(&s, src, len);
        if (owned) free((void *)src);
    }
    unsigned char d[32];
    scl__sha256_final(&s, d);
    hex(d, 32, out);
    return SCL_OK;
}

scl__tune_table *scl__tune_new(void) {
    return calloc(1, sizeof(scl__tune_table));
}

void scl__tune_free(scl__tune_table *t) {
    if (t) free(t->e);
    free(t);
}

static int same_key(const scl__tune_entry *a, const scl__tune_entry *b) {
    return strcmp(a->family, b->family) == 0 && strcmp(a->precision, b->precision) == 0 &&
           a->nkey == b->nkey && memcmp(a->key, b->key, (size_t)a->nkey * sizeof a->key[0]) == 0;
}

static scl__tune_entry *find_exact(const scl__tune_table *t, const scl__tune_entry *e) {
    for (int i = 0; t && i < t->n; i++)
        if (same_key(&t->e[i], e) && t->e[i].h == e->h && t->e[i].w == e->w) return &t->e[i];
    return NULL;
}

scl_status scl__tune_put(scl_context *ctx, scl__tune_table *t, const scl__tune_entry *e) {
    scl__tune_entry *old = find_exact(t, e);
    if (old) {
        *old = *e;
        return SCL_OK;
    }
    if (t->n == t->cap) {
        int cap = t->cap ? 2 * t->cap : 32;
        scl__tune_entry *ne = realloc(t->e, (size_t)cap * sizeof *ne);
        if (!ne)
            return scl__fail(ctx, SCL_ERROR_OUT_OF_MEMORY, "out of host memory for a tuning table");
        t->e = ne, t->cap = cap;
    }
    t->e[t->n++] = *e;
    return SCL_OK;
}

scl_status scl__tune_merge(scl_context *ctx, scl__tune_table *dst, const scl__tune_table *src) {
    for (int i = 0; src && i < src->n; i++) {
        if (find_exact(dst, &src->e[i])) continue;
        scl_status st = scl__tune_put(ctx, dst, &src->e[i]);
        if (st != SCL_OK) return st;
    }
    return SCL_OK;
}

const scl__tune_entry *scl__tune_find(const scl__tune_table *t, const char *family,
                                      const char *precision, const int *key, int nkey, int h,
                                      int w) {
    const scl__tune_entry *best = NULL;
    for (int i = 0; t && i < t->n; i++) {
        const scl__tune_entry *e = &t->e[i];
        if (strcmp(e->family, family) != 0 || strcmp(e->precision, precision) != 0 ||
            e->nkey != nkey || memcmp(e->key, key, (size_t)nkey * sizeof *key) != 0)
            continue;
        if (h || w) {
            if (e->h == h && e->w == w) return e;
            continue;
        }
        if (!e->h && !e->w) return e; /* written for any size */
        if (!best || (double)e->h * e->w > (double)best->h * best->w) best = e;
    }
    return best;
}

/* ---- reading ------------------------------------------------------------------------------ */

/* One whitespace-delimited word of at most cap - 1 characters into out; 0 if none or too long. */
static int word(const char **p, char *out, size_t cap) {
    while (**p == ' ' || **p == '\t')
        (*p)++;
    size_t n = 0;
    while ((*p)[n] && !isspace((unsigned char)(*p)[n]))
        n++;
    if (n == 0 || n >= cap) return 0;
    memcpy(out, *p, n);
    out[n] = '\0';
    *p += n;
    return 1;
}

/* Integers up to the word ":" or "#" or the end; 0 if any is not a whole int or there are more
 * than max. */
static int ints(const char **p, int *out, int max, int *count) {
    *count = 0;
    for (;;) {
        while (**p == ' ' || **p == '\t')
            (*p)++;
        if (**p == ':' || **p == '#' || **p == '\0' || **p == '\n' || **p == '\r') return 1;
        char *end;
        errno = 0;
        long v = strtol(*p, &end, 10);
        if (end == *p || errno || v < INT_MIN || v > INT_MAX ||
            !(isspace((unsigned char)*end) || !*end))
            return 0;
        if (*count == max) return 0;
        out[(*count)++] = (int)v;
        *p = end;
    }
}

static int parse_size(const char *s, int *h, int *w) {
    if (strcmp(s, "*") == 0) return *h = *w = 0, 1;
    char x;
    long a, b;
    char rest;
    if (sscanf(s, "%ld%c%ld%c", &a, &x, &b, &rest) != 3 || x != 'x') return 0;
    if (a < 1 || b < 1 || a > 65536 || b > 65536) return 0;
    *h = (int)a, *w = (int)b;
    return 1;
}

/* Parses one entry line; 0 if it is malformed. */
static int parse_entry(const char *line, scl__tune_entry *e) {
    const char *p = line;
    char size[32], sep[4];
    memset(e, 0, sizeof *e);
    e->default_ms = e->tuned_ms = -1;
    if (!word(&p, e->family, sizeof e->family) || !word(&p, e->precision, sizeof e->precision) ||
        !word(&p, size, sizeof size) || !parse_size(size, &e->h, &e->w))
        return 0;
    for (const char *c = e->family; *c; c++)
        if (!(islower((unsigned char)*c) || isdigit((unsigned char)*c) || *c == '_')) return 0;
    if (!word(&p, sep, sizeof sep) || strcmp(sep, ":") != 0) return 0;
    if (!ints(&p, e->key, SCL__TUNE_MAX_INTS, &e->nkey) || e->nkey == 0 || *p != ':') return 0;
    p++;
    if (!ints(&p, e->val, SCL__TUNE_MAX_INTS, &e->nval) || e->nval == 0) return 0;
    if (*p == '#') {
        double a, b;
        if (sscanf(p + 1, "%lf %lf", &a, &b) == 2) e->default_ms = a, e->tuned_ms = b;
    } else if (*p && *p != '\n' && *p != '\r') {
        return 0;
    }
    return 1;
}

/* Reads the table at path; NULL (with a warning) when it is stale, of another format or cannot
 * be read; NULL silently when there is no such file. */
scl__tune_table *scl__tune_load(scl_context *ctx, const char *path) {
    /* a regular file of bounded size, opened without blocking (a FIFO there must not hang) */
    char why[160];
    FILE *f = scl__open_regular_read(path, TUNE_MAX_BYTES, NULL, why, sizeof why);
    if (!f) {
        if (why[0]) scl__log(ctx, SCL_LOG_WARN, "ignoring the tuning file %s: %s", path, why);
        return NULL;
    }
    char want[65], line[1024], got[128] = "";
    int fmt = 0;
    scl__tune_table *t = scl__tune_new();
    int ok = t && scl__tune_source_hash(ctx, want) == SCL_OK;
    if (ok && !(fgets(line, sizeof line, f) && sscanf(line, "shufflecl-tune %d", &fmt) == 1 &&
                fmt == SCL__TUNE_FORMAT)) {
        scl__log(ctx, SCL_LOG_WARN,
                 "ignoring the tuning file %s: not a shufflecl tuning table "
                 "of format %d",
                 path, SCL__TUNE_FORMAT);
        ok = 0;
    } else if (ok && !(fgets(line, sizeof line, f) && sscanf(line, "source %127s", got) == 1 &&
                       strcmp(got, want) == 0)) {
        scl__log(ctx, SCL_LOG_WARN,
                 "ignoring the tuning file %s: stale (measured with other "
                 "kernel sources); run shufflecl tune again",
                 path);
        ok = 0;
    }
    for (int no = 3; ok && fgets(line, sizeof line, f); no++) {
        size_t len = strlen(line);
        if (len == sizeof line - 1 && line[len - 1] != '\n') {
            scl__log(ctx, SCL_LOG_WARN, "%s:%d: line too long, skipped", path, no);
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n') {
            }
            continue;
        }
        const char *p = line;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p == '#' || *p == '\n' || *p == '\r' || *p == '\0' || strncmp(p, "device ", 7) == 0)
            continue;
        scl__tune_entry e;
        if (!parse_entry(p, &e)) {
            scl__log(ctx, SCL_LOG_WARN, "%s:%d: malformed tuning entry skipped: %.*s", path, no,
                     (int)strcspn(p, "\r\n"), p);
            continue;
        }
        e.line = no;
        if (scl__tune_put(ctx, t, &e) != SCL_OK) ok = 0;
    }
    fclose(f);
    if (!ok) {
        scl__tune_free(t);
        return NULL;
    }
    snprintf(t->path, sizeof t->path, "%s", path);
    return t;
}

const scl__tune_table *scl__tune_get(scl_context *ctx) {
    if (ctx->tune_loaded) return ctx->tune;
    ctx->tune_loaded = 1;
    if (!ctx->cache_dir) return NULL;
    char path[4200];
    scl__tune_path(ctx, path, sizeof path);
    ctx->tune = scl__tune_load(ctx, path);
    return ctx->tune;
}

void scl__tune_release(scl_context *ctx) {
    scl__tune_free(ctx->tune);
    ctx->tune = NULL;
    ctx->tune_loaded = 0;
}

/* ---- writing ------------------------------------------------------------------------------ */

static void write_ints(FILE *f, const int *v, int n) {
    for (int i = 0; i < n; i++)
        fprintf(f, " %d", v[i]);
}

scl_status scl__tune_save(scl_context *ctx, const scl__tune_table *t, char *path, size_t cap) {
    if (!ctx->cache_dir)
        return scl__fail(ctx, SCL_ERROR_UNSUPPORTED, "the cache directory is off: no tuning file");
    char hash[65], tmp[4300];
    scl_status st = scl__tune_source_hash(ctx, hash);
    if (st != SCL_OK) return st;
    scl__tune_path(ctx, path, cap);
    /* the cache directory exists once a program was saved; a tuning run may come first */
    if (scl__mkdirs(ctx->cache_dir) != 0)
        return scl__fail(ctx, SCL_ERROR_FILE_IO, "cannot make the cache directory %s: %s",
                         ctx->cache_dir, strerror(errno));
    /* a temporary name of this writer's own, renamed over the table when complete */
    FILE *f = scl__atomic_create(path, tmp, sizeof tmp);
    if (!f) return scl__fail(ctx, SCL_ERROR_FILE_IO, "cannot write the tuning file %s", path);
    fprintf(f, "shufflecl-tune %d\nsource %s\ndevice %s | %s | %s\n", SCL__TUNE_FORMAT, hash,
            ctx->info.name, ctx->info.driver_version, ctx->info.platform_version);
    fprintf(f, "# family precision HxW : key (kind cin cout groups stride flags) : values # "
               "default_ms tuned_ms\n");
    for (int i = 0; t && i < t->n; i++) {
        const scl__tune_entry *e = &t->e[i];
        if (e->h)
            fprintf(f, "%s %s %dx%d :", e->family, e->precision, e->h, e->w);
        else
            fprintf(f, "%s %s * :", e->family, e->precision);
        write_ints(f, e->key, e->nkey);
        fputs(" :", f);
        write_ints(f, e->val, e->nval);
        if (e->default_ms >= 0) fprintf(f, " # %.4f %.4f", e->default_ms, e->tuned_ms);
        fputc('\n', f);
    }
    if (scl__atomic_commit(f, tmp, path, !ferror(f)) != 0)
        return scl__fail(ctx, SCL_ERROR_FILE_IO, "cannot write the tuning file %s", path);
    scl__tune_release(ctx);
    return SCL_OK;
}
