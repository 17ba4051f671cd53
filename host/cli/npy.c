/* npy.c: NumPy .npy float32 reader (versions 1.0-3.0, either byte order, either memory order)
 * and a writer whose output is byte-identical to numpy.save. */
#include "npy.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Real headers are about a hundred bytes; the cap stops a corrupt length field from making us
 * allocate gigabytes before noticing the file is short. */
#define NPY_MAX_HEADER (1u << 20)
/* numpy.save leaves room after the dict so the leading dimension can grow to this many digits
 * in place; reproducing it is part of being byte-identical. */
#define NPY_GROWTH_DIGITS 21
#define NPY_ALIGN 64

#if defined(__GNUC__)
#define NPY_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define NPY_PRINTF(a, b)
#endif

static void npy_msg(char *msg, size_t cap, const char *fmt, ...) NPY_PRINTF(3, 4);
static void npy_msg(char *msg, size_t cap, const char *fmt, ...) {
    if (!msg || cap == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

/* Python's repr of a shape tuple: "()", "(5,)", "(2, 1000)". */
static void npy_fmt_shape(char *buf, size_t cap, const int64_t *shape, int rank) {
    size_t len = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, rank == 1 ? ",)" : ")");
}

/* Element count; *overflow set when it (or its size in bytes) does not fit in size_t. */
static size_t npy_elements(const int64_t *shape, int rank, int *overflow) {
    size_t n = 1;
    *overflow = 0;
    for (int i = 0; i < rank; i++)
        if (shape[i] == 0) return 0;
    for (int i = 0; i < rank; i++) {
        if ((uint64_t)shape[i] > SIZE_MAX / 4 / n) {
            *overflow = 1;
            return 0;
        }
        n *= (size_t)shape[i];
    }
    return n;
}

/* ---- the header dict --------------------------------------------------------------------- */

/* The header is a Python literal (numpy reads it with ast.literal_eval), so this parses the
 * small subset numpy writes: a dict of quoted keys to strings, True/False and int tuples. */
enum { NV_STRING, NV_BOOL, NV_TUPLE, NV_LIST, NV_INT };

typedef struct npy_value {
    int type;
    char str[64]; /* NV_STRING, truncated if longer (only descr strings matter) */
    int truth;    /* NV_BOOL */
    int rank;     /* NV_TUPLE: item count (dims holds the first SCL_NPY_MAX_RANK) */
    int64_t dims[SCL_NPY_MAX_RANK];
} npy_value;

typedef struct npy_parser {
    const char *s;
    size_t n, i;
    size_t errpos;
    char err[160];
} npy_parser;

static int np_fail(npy_parser *p, const char *fmt, ...) NPY_PRINTF(2, 3);
static int np_fail(npy_parser *p, const char *fmt, ...) {
    if (p->err[0]) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->errpos = p->i;
    return -1;
}

static int np_unexpected(npy_parser *p, const char *wanted) {
    if (p->i >= p->n) return np_fail(p, "expected %s, found the end of the header", wanted);
    unsigned char c = (unsigned char)p->s[p->i];
    if (c >= 0x20 && c < 0x7f) return np_fail(p, "expected %s, found '%c'", wanted, c);
    return np_fail(p, "expected %s, found byte 0x%02x", wanted, c);
}

static void np_ws(npy_parser *p) {
    while (p->i < p->n && strchr(" \t\r\n\f\v", p->s[p->i]) && p->s[p->i] != '\0')
        p->i++;
}

static int np_peek(const npy_parser *p, char c) {
    return p->i < p->n && p->s[p->i] == c;
}

static int np_isdigit(const npy_parser *p) {
    return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

static int np_string(npy_parser *p, char *out, size_t cap) {
    char q = p->s[p->i];
    size_t len = 0;
    p->i++;
    for (;;) {
        if (p->i >= p->n || p->s[p->i] == '\n') return np_fail(p, "unterminated string");
        char c = p->s[p->i];
        if (c == '\\') return np_fail(p, "escape sequences are not supported in header strings");
        if (c == '\0') return np_fail(p, "NUL byte in a header string");
        p->i++;
        if (c == q) break;
        if (len + 1 < cap) out[len++] = c;
    }
    out[len] = '\0';
    return 0;
}

static int np_int(npy_parser *p, int64_t *out) {
    if (np_peek(p, '-')) return np_fail(p, "negative dimension in shape");
    if (!np_isdigit(p)) return np_unexpected(p, "an integer");
    int64_t v = 0;
    while (np_isdigit(p)) {
        int d = p->s[p->i] - '0';
        if (v > (INT64_MAX - d) / 10) return np_fail(p, "dimension too large");
        v = v * 10 + d;
        p->i++;
    }
    if (np_peek(p, 'L') || np_peek(p, 'l'))
        p->i++; /* Python 2 long literals, which old numpy versions wrote */
    *out = v;
    return 0;
}

static int np_tuple(npy_parser *p, npy_value *v) {
    size_t open = p->i;
    int commas = 0;
    p->i++;
    v->type = NV_TUPLE;
    v->rank = 0;
    np_ws(p);
    while (!np_peek(p, ')')) {
        int64_t d;
        if (np_int(p, &d) < 0) return -1;
        if (v->rank < SCL_NPY_MAX_RANK) v->dims[v->rank] = d;
        v->rank++;
        np_ws(p);
        if (np_peek(p, ',')) {
            commas++;
            p->i++;
            np_ws(p);
        } else if (!np_peek(p, ')')) {
            return np_unexpected(p, "',' or ')' in the shape tuple");
        }
    }
    p->i++;
    if (v->rank == 1 && commas == 0) {
        p->i = open;
        return np_fail(p, "(%lld) is an integer, not a tuple: a 1-d shape is written (%lld,)",
                       (long long)v->dims[0], (long long)v->dims[0]);
    }
    return 0;
}

static int np_word(npy_parser *p, const char *w) {
    size_t len = strlen(w);
    if (p->n - p->i < len || memcmp(p->s + p->i, w, len) != 0) return 0;
    if (p->i + len < p->n) {
        char c = p->s[p->i + len];
        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')
            return 0;
    }
    p->i += len;
    return 1;
}

static int np_value(npy_parser *p, npy_value *v) {
    memset(v, 0, sizeof *v);
    if (np_peek(p, '\'') || np_peek(p, '"')) {
        v->type = NV_STRING;
        return np_string(p, v->str, sizeof v->str);
    }
    if (np_peek(p, '(')) return np_tuple(p, v);
    if (np_peek(p, '[')) {
        /* A list descr is a structured dtype; the caller reports it, so skip to its end. */
        int depth = 0;
        v->type = NV_LIST;
        do {
            if (p->i >= p->n) return np_fail(p, "unterminated list");
            if (np_peek(p, '\'') || np_peek(p, '"')) {
                char skip[2];
                if (np_string(p, skip, sizeof skip) < 0) return -1;
                continue;
            }
            depth += np_peek(p, '[') - np_peek(p, ']');
            p->i++;
        } while (depth > 0);
        return 0;
    }
    if (np_peek(p, '-') || np_isdigit(p)) {
        v->type = NV_INT;
        if (np_peek(p, '-')) p->i++;
        return np_int(p, &v->dims[0]);
    }
    if (np_word(p, "True") || np_word(p, "False")) {
        v->type = NV_BOOL;
        v->truth = p->s[p->i - 1] == 'e' && p->s[p->i - 2] == 'u';
        return 0;
    }
    return np_unexpected(p, "a string, True, False or a tuple");
}

typedef struct npy_header {
    char descr[64];
    int fortran;
    int rank;
    int64_t shape[SCL_NPY_MAX_RANK];
} npy_header;

static const char *const npy_keys[3] = {"descr", "fortran_order", "shape"};

/* Parses the dict; returns 0, or -1 with p->err set. */
static int np_dict(npy_parser *p, npy_header *h) {
    npy_value vals[3];
    int seen[3] = {0, 0, 0};
    np_ws(p);
    if (!np_peek(p, '{')) return np_unexpected(p, "'{'");
    p->i++;
    np_ws(p);
    while (!np_peek(p, '}')) {
        char key[32];
        if (!np_peek(p, '\'') && !np_peek(p, '"')) return np_unexpected(p, "a quoted key");
        size_t at = p->i;
        if (np_string(p, key, sizeof key) < 0) return -1;
        int k = 0;
        while (k < 3 && strcmp(key, npy_keys[k]) != 0)
            k++;
        if (k == 3 || seen[k]) {
            p->i = at;
            return np_fail(p,
                           k == 3 ? "unexpected key '%s' (a .npy header has exactly descr, "
                                    "fortran_order and shape)"
                                  : "key '%s' appears twice",
                           key);
        }
        seen[k] = 1;
        np_ws(p);
        if (!np_peek(p, ':')) return np_unexpected(p, "':' after a key");
        p->i++;
        np_ws(p);
        at = p->i;
        if (np_value(p, &vals[k]) < 0) return -1;
        int want = k == 0 ? NV_STRING : k == 1 ? NV_BOOL : NV_TUPLE;
        if (vals[k].type != want) {
            p->i = at;
            if (k == 0 && vals[k].type == NV_LIST)
                return np_fail(p, "structured dtypes (a list descr) are not supported; "
                                  "save a plain array with x.astype(np.float32)");
            return np_fail(p, k == 0   ? "descr is not a string"
                              : k == 1 ? "fortran_order is not True or False"
                                       : "shape is not a tuple of integers");
        }
        np_ws(p);
        if (np_peek(p, ',')) {
            p->i++;
            np_ws(p);
        } else if (!np_peek(p, '}')) {
            return np_unexpected(p, "',' or '}' after a value");
        }
    }
    p->i++;
    np_ws(p);
    if (p->i < p->n) return np_unexpected(p, "only padding after the dict");
    for (int k = 0; k < 3; k++)
        if (!seen[k]) return np_fail(p, "the dict has no '%s'", npy_keys[k]);
    snprintf(h->descr, sizeof h->descr, "%s", vals[0].str);
    h->fortran = vals[1].truth;
    h->rank = vals[2].rank;
    memcpy(h->shape, vals[2].dims, sizeof h->shape);
    return 0;
}

/* 0 little-endian, 1 big-endian, 2 native, or -1 when descr is not a float32 descr. */
static int npy_f4_order(const char *d) {
    int order = 2;
    if (d[0] == '<')
        order = 0;
    else if (d[0] == '>')
        order = 1;
    if (d[0] == '<' || d[0] == '>' || d[0] == '=' || d[0] == '|') d++;
    return strcmp(d, "f4") == 0 ? order : -1;
}

/* numpy's name for a descr, for messages: "float64", "int32", ... ("" when unknown). */
static void npy_dtype_name(const char *d, char *out, size_t cap) {
    if (d[0] == '<' || d[0] == '>' || d[0] == '=' || d[0] == '|') d++;
    char kind = d[0];
    /* The item size in bytes, digits only and bounded (numpy's largest is 32): a descr such as
     * '<f99999999999999999999' is unknown, never a wrapped "float-8". */
    long size = 0;
    const char *q = d[0] ? d + 1 : d;
    while (*q >= '0' && *q <= '9' && size <= 1024)
        size = size * 10 + (*q++ - '0');
    int sized = d[0] && d[1] && *q == '\0' && size > 0 && size <= 1024;
    out[0] = '\0';
    if (sized && kind == 'f')
        snprintf(out, cap, "float%ld", size * 8);
    else if (sized && kind == 'i')
        snprintf(out, cap, "int%ld", size * 8);
    else if (sized && kind == 'u')
        snprintf(out, cap, "uint%ld", size * 8);
    else if (sized && kind == 'c')
        snprintf(out, cap, "complex%ld", size * 8);
    else if (sized && kind == 'b' && size == 1)
        snprintf(out, cap, "bool");
    else if (kind == 'U')
        snprintf(out, cap, "str");
    else if (kind == 'S')
        snprintf(out, cap, "bytes");
    else if (kind == 'O')
        snprintf(out, cap, "object");
    else if (kind == 'V')
        snprintf(out, cap, "void");
    else if (kind == 'M')
        snprintf(out, cap, "datetime64");
    else if (kind == 'm')
        snprintf(out, cap, "timedelta64");
}

/* ---- reading ----------------------------------------------------------------------------- */

static int npy_host_little(void) {
    const uint32_t one = 1;
    unsigned char b;
    memcpy(&b, &one, 1);
    return b == 1;
}

/* Turns file-order bytes into host floats in place. */
static void npy_decode(float *v, size_t n, int order) {
    if (order == 2 || order == (npy_host_little() ? 0 : 1)) return;
    unsigned char *b = (unsigned char *)v;
    for (size_t i = 0; i < n; i++, b += 4) {
        unsigned char t = b[0];
        b[0] = b[3];
        b[3] = t;
        t = b[1];
        b[1] = b[2];
        b[2] = t;
    }
}

/* Fortran order to C order; n > 0, so every dimension is positive. */
static void npy_f_to_c(const float *src, float *dst, size_t n, const int64_t *shape, int rank) {
    size_t stride[SCL_NPY_MAX_RANK], idx[SCL_NPY_MAX_RANK] = {0}, off = 0;
    for (int d = 0; d < rank; d++)
        stride[d] = d ? stride[d - 1] * (size_t)shape[d - 1] : 1;
    for (size_t i = 0; i < n; i++) {
        dst[i] = src[off];
        /* advance the C-order index odometer, moving the Fortran offset along with it */
        for (int d = rank - 1; d >= 0; d--) {
            idx[d]++;
            off += stride[d];
            if (idx[d] < (size_t)shape[d]) break;
            off -= idx[d] * stride[d];
            idx[d] = 0;
        }
    }
}

/* Bytes left in f after the current position, or -1 when the stream cannot tell. */
static long long npy_remaining(FILE *f) {
    long here = ftell(f);
    if (here < 0 || fseek(f, 0, SEEK_END) != 0) return -1;
    long end = ftell(f);
    if (fseek(f, here, SEEK_SET) != 0 || end < here) return -1;
    return (long long)end - here;
}

scl_status scl__npy_read_f32(const char *path, int *rank, int64_t shape[8], float **data, char *msg,
                             size_t msgcap) {
    if (msg && msgcap) msg[0] = '\0';
    if (data) *data = NULL;
    if (!path || !rank || !shape || !data) {
        npy_msg(msg, msgcap, "scl__npy_read_f32: %s is NULL",
                !path    ? "path"
                : !rank  ? "rank"
                : !shape ? "shape"
                         : "data");
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    scl_status s = SCL_ERROR_FILE_FORMAT;
    char *header = NULL;
    float *raw = NULL, *out = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) {
        npy_msg(msg, msgcap, "%s: cannot open: %s", path, strerror(errno));
        return SCL_ERROR_FILE_IO;
    }

    unsigned char pre[12];
    size_t got = fread(pre, 1, 8, f);
    if (ferror(f)) goto io_error;
    if (got < 6 || memcmp(pre, "\x93NUMPY", 6) != 0) {
        npy_msg(msg, msgcap, "%s: not a .npy file (bad magic)", path);
        goto done;
    }
    if (got < 8) {
        npy_msg(msg, msgcap, "%s: file ends inside the format version", path);
        goto done;
    }
    unsigned major = pre[6], minor = pre[7];
    if (major < 1 || major > 3 || minor != 0) {
        npy_msg(msg, msgcap,
                "%s: unsupported .npy format version %u.%u (shufflecl reads 1.0, 2.0 and 3.0)",
                path, major, minor);
        goto done;
    }
    size_t lenbytes = major == 1 ? 2 : 4;
    got = fread(pre + 8, 1, lenbytes, f);
    if (ferror(f)) goto io_error;
    if (got < lenbytes) {
        npy_msg(msg, msgcap, "%s: file ends inside the header length", path);
        goto done;
    }
    size_t hlen = 0;
    for (size_t k = lenbytes; k-- > 0;)
        hlen = (hlen << 8) | pre[8 + k];
    if (hlen > NPY_MAX_HEADER) {
        npy_msg(msg, msgcap, "%s: header length %zu is absurd (the limit is %u bytes)", path, hlen,
                NPY_MAX_HEADER);
        goto done;
    }
    header = malloc(hlen + 1);
    if (!header) goto oom;
    got = fread(header, 1, hlen, f);
    if (ferror(f)) goto io_error;
    if (got < hlen) {
        npy_msg(msg, msgcap, "%s: header length %zu runs past the end of the file", path, hlen);
        goto done;
    }
    header[hlen] = '\0';

    npy_parser p = {header, hlen, 0, 0, {0}};
    npy_header h;
    if (np_dict(&p, &h) < 0) {
        npy_msg(msg, msgcap, "%s: malformed header dict at header byte %zu: %s", path, p.errpos,
                p.err);
        goto done;
    }
    int order = npy_f4_order(h.descr);
    if (order < 0) {
        char name[32];
        npy_dtype_name(h.descr, name, sizeof name);
        npy_msg(msg, msgcap, "%s: unsupported dtype '%s'%s%s%s; save it with x.astype(np.float32)",
                path, h.descr, name[0] ? " (" : "", name, name[0] ? ")" : "");
        goto done;
    }
    if (h.rank > SCL_NPY_MAX_RANK) {
        npy_msg(msg, msgcap, "%s: rank %d exceeds the limit of %d", path, h.rank, SCL_NPY_MAX_RANK);
        goto done;
    }
    char dims[256];
    npy_fmt_shape(dims, sizeof dims, h.shape, h.rank);
    int overflow;
    size_t n = npy_elements(h.shape, h.rank, &overflow);
    if (overflow) {
        npy_msg(msg, msgcap, "%s: shape %s is too large", path, dims);
        goto done;
    }
    size_t want = n * 4;
    /* Knowing the size up front avoids allocating for a shape the file cannot hold. */
    long long left = npy_remaining(f);
    if (left >= 0 && (unsigned long long)left != (unsigned long long)want) {
        npy_msg(msg, msgcap, "%s: %s: expected %zu bytes of data for shape %s, found %lld", path,
                (unsigned long long)left < want ? "data truncated"
                                                : "trailing bytes after the data",
                want, dims, left);
        goto done;
    }
    raw = malloc(want ? want : 4);
    if (!raw) goto oom;
    got = fread(raw, 1, want, f);
    if (ferror(f)) goto io_error;
    if (got < want) {
        npy_msg(msg, msgcap,
                "%s: data truncated: expected %zu bytes of data for shape %s, found %zu", path,
                want, dims, got);
        goto done;
    }
    if (fgetc(f) != EOF) {
        npy_msg(msg, msgcap, "%s: trailing bytes after the %zu bytes of data for shape %s", path,
                want, dims);
        goto done;
    }
    npy_decode(raw, n, order);
    if (h.fortran && h.rank > 1 && n > 1) {
        out = malloc(want);
        if (!out) goto oom;
        npy_f_to_c(raw, out, n, h.shape, h.rank);
        free(raw);
        raw = NULL;
    } else {
        out = raw;
        raw = NULL;
    }
    *rank = h.rank;
    for (int d = 0; d < SCL_NPY_MAX_RANK; d++)
        shape[d] = d < h.rank ? h.shape[d] : 0;
    *data = out;
    out = NULL;
    s = SCL_OK;
    goto done;

io_error:
    npy_msg(msg, msgcap, "%s: cannot read: %s", path, strerror(errno));
    s = SCL_ERROR_FILE_IO;
    goto done;
oom:
    npy_msg(msg, msgcap, "%s: out of memory", path);
    s = SCL_ERROR_OUT_OF_MEMORY;
done:
    fclose(f);
    free(header);
    free(raw);
    free(out);
    return s;
}

/* ---- writing ----------------------------------------------------------------------------- */

scl_status scl__npy_write_f32(const char *path, int rank, const int64_t *shape, const float *data,
                              char *msg, size_t msgcap) {
    if (msg && msgcap) msg[0] = '\0';
    const char *why = !path                                 ? "path is NULL"
                      : rank < 0 || rank > SCL_NPY_MAX_RANK ? "rank is not in [0, 8]"
                      : rank > 0 && !shape                  ? "shape is NULL"
                                                            : NULL;
    for (int d = 0; !why && d < rank; d++)
        if (shape[d] < 0) why = "the shape has a negative dimension";
    int overflow = 0;
    size_t n = why ? 0 : npy_elements(shape, rank, &overflow);
    if (!why && overflow) why = "the shape is too large";
    if (!why && n > 0 && !data) why = "data is NULL";
    if (why) {
        npy_msg(msg, msgcap, "%s: scl__npy_write_f32: %s", path ? path : "(null)", why);
        return SCL_ERROR_INVALID_ARGUMENT;
    }

    /* magic, version 1.0, u16 length, dict, growth room, padding, '\n' (numpy's layout) */
    char pre[512], dims[256];
    npy_fmt_shape(dims, sizeof dims, shape, rank);
    size_t len = 10;
    len += (size_t)snprintf(pre + len, sizeof pre - len,
                            "{'descr': '<f4', 'fortran_order': False, 'shape': %s, }", dims);
    if (rank > 0) {
        char first[24];
        size_t digits = (size_t)snprintf(first, sizeof first, "%lld", (long long)shape[0]);
        for (size_t k = digits; k < NPY_GROWTH_DIGITS; k++)
            pre[len++] = ' ';
    }
    size_t pad = NPY_ALIGN - (len + 1) % NPY_ALIGN; /* numpy pads a full 64 when aligned */
    memset(pre + len, ' ', pad);
    len += pad;
    pre[len++] = '\n';
    size_t hlen = len - 10;
    memcpy(pre, "\x93NUMPY\x01\x00", 8);
    pre[8] = (char)(hlen & 0xff);
    pre[9] = (char)(hlen >> 8);

    FILE *f = fopen(path, "wb");
    if (!f) {
        npy_msg(msg, msgcap, "%s: cannot create: %s", path, strerror(errno));
        return SCL_ERROR_FILE_IO;
    }
    int ok = fwrite(pre, 1, len, f) == len;
    unsigned char chunk[4096];
    for (size_t i = 0; ok && i < n;) {
        size_t m = 0;
        for (; i < n && m + 4 <= sizeof chunk; i++, m += 4) {
            uint32_t u;
            memcpy(&u, &data[i], 4);
            chunk[m] = (unsigned char)u;
            chunk[m + 1] = (unsigned char)(u >> 8);
            chunk[m + 2] = (unsigned char)(u >> 16);
            chunk[m + 3] = (unsigned char)(u >> 24);
        }
        ok = fwrite(chunk, 1, m, f) == m;
    }
    int err = ok ? 0 : errno;
    if (fclose(f) != 0 && ok) {
        ok = 0;
        err = errno;
    }
    if (!ok) {
        remove(path);
        npy_msg(msg, msgcap, "%s: cannot write: %s", path, strerror(err));
        return SCL_ERROR_FILE_IO;
    }
    return SCL_OK;
}
