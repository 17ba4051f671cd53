/* st_writer.c: a small safetensors writer (F32 only) for the tests: an 8-byte little-endian
 * header length, the JSON header, then the data, as the reference implementation writes them. */
#include "st_writer.h"

#include "io/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void
st_msg(char *msg, size_t cap, const char *fmt, ...) {
    if (!msg || cap == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

typedef struct st_buf {
    char *p;
    size_t n, cap;
    int oom;
} st_buf;

static void sb_put(st_buf *b, const char *s, size_t len) {
    if (b->oom) return;
    if (len > SIZE_MAX - b->n - 1) {
        b->oom = 1;
        return;
    }
    if (b->n + len + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->n + len + 1)
            cap = cap > SIZE_MAX / 2 ? b->n + len + 1 : cap * 2;
        char *p = realloc(b->p, cap);
        if (!p) {
            b->oom = 1;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = '\0';
}

static void sb_str(st_buf *b, const char *s) {
    sb_put(b, s, strlen(s));
}

static void sb_json_string(st_buf *b, const char *s) {
    sb_put(b, "\"", 1);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        char esc[8];
        if (c == '"' || c == '\\') {
            esc[0] = '\\';
            esc[1] = (char)c;
            sb_put(b, esc, 2);
        } else if (c < 0x20) {
            snprintf(esc, sizeof esc, "\\u%04x", c);
            sb_put(b, esc, 6);
        } else {
            sb_put(b, s, 1);
        }
    }
    sb_put(b, "\"", 1);
}

static int st_valid_utf8(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t len = scl__utf8_len((const unsigned char *)s + i, n - i);
        if (len == 0) return 0;
        i += len;
    }
    return 1;
}

static int st_write_all(FILE *f, const void *p, size_t n) {
    return fwrite(p, 1, n, f) == n;
}

/* Why tensor i cannot be written, or NULL; *bytes gets its size. */
static const char *st_check_tensor(int i, const char *const *names, const int *ranks,
                                   const int64_t (*shapes)[8], const float *const *data,
                                   size_t *bytes) {
    if (!names[i]) return "its name is NULL";
    if (strcmp(names[i], "__metadata__") == 0) return "the name __metadata__ is reserved";
    if (!st_valid_utf8(names[i])) return "its name is not valid UTF-8";
    if (ranks[i] < 0 || ranks[i] > 8) return "its rank is not in [0, 8]";
    size_t n = 1;
    int zero = 0, overflow = 0;
    for (int d = 0; d < ranks[i]; d++) {
        if (shapes[i][d] < 0) return "its shape has a negative dimension";
        zero |= shapes[i][d] == 0;
    }
    for (int d = 0; !zero && d < ranks[i]; d++) {
        if ((uint64_t)shapes[i][d] > SIZE_MAX / n) overflow = 1;
        if (!overflow) n *= (size_t)shapes[i][d];
    }
    if (zero) n = 0;
    if (overflow || n > SIZE_MAX / 4) return "its shape is too large";
    if (n > 0 && !data[i]) return "its data is NULL";
    for (int j = 0; j < i; j++)
        if (strcmp(names[i], names[j]) == 0) return "its name is used twice";
    *bytes = n * 4;
    return NULL;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes; h->oom on failure. */
static void st_header(st_buf *h, int count, const char *const *names, const int *ranks,
                      const int64_t (*shapes)[8], const size_t *bytes) {
    size_t offset = 0;
    sb_str(h, "{");
    for (int i = 0; i < count; i++) {
        char num[48];
        sb_str(h, i ? "," : "");
        sb_json_string(h, names[i]);
        sb_str(h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < ranks[i]; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)shapes[i][d]);
            sb_str(h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes[i]);
        sb_str(h, num);
        offset += bytes[i];
    }
    sb_str(h, "}");
    /* Pad so that the data region starts 8-byte aligned, as the reference writer does. */
    while (!h->oom && h->n % 8 != 0)
        sb_str(h, " ");
}

/* The length, the header and the little-endian data; 0 on a write error. */
static int st_write_body(FILE *f, const st_buf *h, int count, const size_t *bytes,
                         const float *const *data) {
    unsigned char len8[8];
    for (int k = 0; k < 8; k++)
        len8[k] = (unsigned char)((uint64_t)h->n >> (8 * k));
    int ok = st_write_all(f, len8, 8) && st_write_all(f, h->p, h->n);
    unsigned char chunk[4096];
    for (int i = 0; ok && i < count; i++) {
        size_t n = bytes[i] / 4;
        for (size_t j = 0; ok && j < n;) {
            size_t m = 0;
            for (; j < n && m + 4 <= sizeof chunk; j++, m += 4) {
                uint32_t u;
                memcpy(&u, &data[i][j], 4);
                chunk[m] = (unsigned char)u;
                chunk[m + 1] = (unsigned char)(u >> 8);
                chunk[m + 2] = (unsigned char)(u >> 16);
                chunk[m + 3] = (unsigned char)(u >> 24);
            }
            ok = st_write_all(f, chunk, m);
        }
    }
    return ok;
}

scl_status scl__st_write_f32(const char *path, int count, const char *const *names,
                             const int *ranks, const int64_t (*shapes)[8], const float *const *data,
                             char *msg, size_t msgcap) {
    if (msg && msgcap) msg[0] = '\0';
    if (!path || count < 0 || (count > 0 && (!names || !ranks || !shapes || !data))) {
        st_msg(msg, msgcap, "scl__st_write_f32: %s",
               !path       ? "path is NULL"
               : count < 0 ? "count is negative"
                           : "an array is NULL");
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    size_t *bytes = count > 0 ? malloc((size_t)count * sizeof *bytes) : NULL;
    if (count > 0 && !bytes) {
        st_msg(msg, msgcap, "%s: out of memory", path);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < count; i++) {
        const char *why = st_check_tensor(i, names, ranks, shapes, data, &bytes[i]);
        if (why) {
            st_msg(msg, msgcap, "%s: tensor %d ('%s'): %s", path, i, names[i] ? names[i] : "", why);
            free(bytes);
            return SCL_ERROR_INVALID_ARGUMENT;
        }
    }
    st_buf h = {0};
    st_header(&h, count, names, ranks, shapes, bytes);
    if (h.oom) {
        free(h.p);
        free(bytes);
        st_msg(msg, msgcap, "%s: out of memory", path);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    FILE *f = fopen(path, "wb");
    if (!f) {
        st_msg(msg, msgcap, "%s: cannot create: %s", path, strerror(errno));
        free(h.p);
        free(bytes);
        return SCL_ERROR_FILE_IO;
    }
    int ok = st_write_body(f, &h, count, bytes, data);
    int err = ok ? 0 : errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    free(h.p);
    free(bytes);
    if (!ok) {
        remove(path);
        st_msg(msg, msgcap, "%s: cannot write: %s", path, strerror(err));
        return SCL_ERROR_FILE_IO;
    }
    return SCL_OK;
}
