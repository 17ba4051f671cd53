/* safetensors.c: safetensors reader with its own strict JSON parser (the header is untrusted
 * input, so every malformation gets a precise message), plus a small F32 writer. */
#include "io/safetensors.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference implementation refuses headers above this size; so do we, so that a corrupt
 * length cannot make us parse (or allocate for) gigabytes. */
#define ST_MAX_HEADER 100000000u
/* A safetensors header is three levels deep; anything much deeper is garbage or an attack on
 * the recursive parser's stack. */
#define ST_MAX_DEPTH 64

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ST_PRINTF(a, b)
#endif

static void st_msg(char *msg, size_t cap, const char *fmt, ...) ST_PRINTF(3, 4);
static void st_msg(char *msg, size_t cap, const char *fmt, ...) {
    if (!msg || cap == 0) return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
}

/* ---- dtypes ------------------------------------------------------------------------------ */

static const struct {
    const char *name;
    size_t size;
} st_dtypes[] = {
    {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"F64", 8}, {"I64", 8},
    {"I32", 4}, {"I16", 2}, {"I8", 1},   {"U8", 1},  {"BOOL", 1},
};

static size_t st_dtype_size(const char *name) {
    for (size_t i = 0; i < sizeof st_dtypes / sizeof st_dtypes[0]; i++)
        if (strcmp(st_dtypes[i].name, name) == 0) return st_dtypes[i].size;
    return 0;
}

/* "[24, 3, 3, 3]" */
static void st_fmt_dims(char *buf, size_t cap, const int64_t *dims, int rank) {
    size_t len = 0;
    buf[0] = '\0';
    len += (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < rank && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)dims[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

/* Element count, or 0 with *overflow set when it does not fit in size_t. */
static size_t st_elements(const int64_t *shape, int rank, int *overflow) {
    size_t n = 1;
    *overflow = 0;
    /* a zero anywhere makes the product representable whatever the other dimensions are */
    for (int i = 0; i < rank; i++)
        if (shape[i] == 0) return 0;
    for (int i = 0; i < rank; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d > SIZE_MAX / n) {
            *overflow = 1;
            return 0;
        }
        n *= (size_t)d;
    }
    return n;
}

size_t scl_st_tensor_elements(const scl_st_tensor *t) {
    int overflow;
    return t ? st_elements(t->shape, t->rank, &overflow) : 0;
}

/* ---- UTF-8 --------------------------------------------------------------------------------- */

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0 when it is malformed:
 * overlong forms, surrogates and code points above U+10FFFF are refused, as JSON requires. */
static size_t st_utf8_len(const unsigned char *s, size_t n) {
    unsigned c = s[0];
    size_t len;
    unsigned cp;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len) return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* ---- JSON -------------------------------------------------------------------------------- */

/* The parsed header is a flat array of nodes linked by index (first child, next sibling), and
 * every decoded string lives in one character buffer addressed by offset: both buffers may
 * move while growing, and freeing the whole tree is two free() calls. */
enum { J_OBJECT, J_ARRAY, J_STRING, J_INT, J_NUMBER, J_BOOL, J_NULL };

typedef struct st_jnode {
    int type;
    int first, next; /* children of objects and arrays; -1 = none */
    int count;
    size_t pos;   /* byte offset in the header where the value starts */
    size_t key;   /* member name (offset into chars) for members of objects */
    size_t str;   /* J_STRING: offset into chars */
    int64_t ival; /* J_INT */
    int big;      /* J_INT that does not fit in int64_t */
} st_jnode;

typedef struct st_json {
    const unsigned char *s;
    size_t n, i;
    st_jnode *nodes;
    int nnodes, capnodes;
    char *chars;
    size_t nchars, capchars;
    int oom;
    size_t errpos;
    char err[192];
} st_json;

static int j_fail(st_json *p, size_t pos, const char *fmt, ...) ST_PRINTF(3, 4);
static int j_fail(st_json *p, size_t pos, const char *fmt, ...) {
    if (p->err[0] || p->oom) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->errpos = pos;
    return -1;
}

/* A readable name for the byte at the cursor, for "unexpected ..." messages. */
static void j_describe(const st_json *p, char *buf, size_t cap) {
    if (p->i >= p->n)
        snprintf(buf, cap, "end of header");
    else if (p->s[p->i] >= 0x20 && p->s[p->i] < 0x7f)
        snprintf(buf, cap, "'%c'", p->s[p->i]);
    else
        snprintf(buf, cap, "byte 0x%02x", p->s[p->i]);
}

static int j_unexpected(st_json *p, const char *wanted) {
    char what[32];
    j_describe(p, what, sizeof what);
    return j_fail(p, p->i, "expected %s, found %s", wanted, what);
}

static void j_ws(st_json *p) {
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int j_new(st_json *p, int type, size_t pos) {
    if (p->nnodes == p->capnodes) {
        if (p->capnodes > INT_MAX / 2) {
            p->oom = 1;
            return -1;
        }
        int cap = p->capnodes ? p->capnodes * 2 : 64;
        st_jnode *nodes = realloc(p->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            p->oom = 1;
            return -1;
        }
        p->nodes = nodes;
        p->capnodes = cap;
    }
    st_jnode *nd = &p->nodes[p->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->type = type;
    nd->first = nd->next = -1;
    nd->pos = pos;
    nd->key = SIZE_MAX;
    return p->nnodes++;
}

static int j_putc(st_json *p, char c) {
    if (p->nchars == p->capchars) {
        size_t cap = p->capchars ? p->capchars * 2 : 256;
        char *chars = realloc(p->chars, cap);
        if (!chars) {
            p->oom = 1;
            return -1;
        }
        p->chars = chars;
        p->capchars = cap;
    }
    p->chars[p->nchars++] = c;
    return 0;
}

static int j_hex4(st_json *p, unsigned *out) {
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        if (p->i >= p->n) return j_fail(p, p->i, "unterminated \\u escape");
        unsigned char c = p->s[p->i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if (c >= 'a' && c <= 'f')
            d = c - 'a' + 10u;
        else if (c >= 'A' && c <= 'F')
            d = c - 'A' + 10u;
        else
            return j_unexpected(p, "four hex digits after \\u");
        v = v * 16 + d;
        p->i++;
    }
    *out = v;
    return 0;
}

static int j_put_utf8(st_json *p, unsigned cp) {
    char b[4];
    int n;
    if (cp < 0x80) {
        b[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        b[0] = (char)(0xc0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        b[0] = (char)(0xe0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        b[0] = (char)(0xf0 | (cp >> 18));
        b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        b[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    for (int k = 0; k < n; k++)
        if (j_putc(p, b[k]) < 0) return -1;
    return 0;
}

/* Parses the string at the cursor (which is on the opening quote) into chars; returns its
 * offset there through *off. NUL is refused because names become C strings. */
static int j_string(st_json *p, size_t *off) {
    size_t start = p->i;
    p->i++;
    *off = p->nchars;
    for (;;) {
        if (p->i >= p->n) return j_fail(p, start, "unterminated string");
        unsigned char c = p->s[p->i];
        if (c == '"') {
            p->i++;
            return j_putc(p, '\0');
        }
        if (c < 0x20) return j_fail(p, p->i, "unescaped control character 0x%02x in string", c);
        if (c == '\\') {
            size_t esc = p->i;
            p->i++;
            if (p->i >= p->n) return j_fail(p, start, "unterminated string");
            char e = (char)p->s[p->i++];
            char out;
            switch (e) {
            case '"':
                out = '"';
                break;
            case '\\':
                out = '\\';
                break;
            case '/':
                out = '/';
                break;
            case 'b':
                out = '\b';
                break;
            case 'f':
                out = '\f';
                break;
            case 'n':
                out = '\n';
                break;
            case 'r':
                out = '\r';
                break;
            case 't':
                out = '\t';
                break;
            case 'u': {
                unsigned cp;
                if (j_hex4(p, &cp) < 0) return -1;
                if (cp >= 0xdc00 && cp <= 0xdfff)
                    return j_fail(p, esc, "unpaired low surrogate \\u%04X in string", cp);
                if (cp >= 0xd800 && cp <= 0xdbff) {
                    unsigned lo;
                    if (p->i + 1 >= p->n || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u')
                        return j_fail(p, esc, "high surrogate \\u%04X not followed by a low one",
                                      cp);
                    p->i += 2;
                    if (j_hex4(p, &lo) < 0) return -1;
                    if (lo < 0xdc00 || lo > 0xdfff)
                        return j_fail(p, esc, "high surrogate \\u%04X not followed by a low one",
                                      cp);
                    cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                }
                if (cp == 0) return j_fail(p, esc, "\\u0000 (NUL) is not allowed in strings");
                if (j_put_utf8(p, cp) < 0) return -1;
                continue;
            }
            default:
                p->i--;
                return j_unexpected(p, "an escape character (one of \"\\/bfnrtu)");
            }
            if (j_putc(p, out) < 0) return -1;
            continue;
        }
        size_t len = st_utf8_len(p->s + p->i, p->n - p->i);
        if (len == 0) return j_fail(p, p->i, "invalid UTF-8 in string");
        for (size_t k = 0; k < len; k++)
            if (j_putc(p, (char)p->s[p->i + k]) < 0) return -1;
        p->i += len;
    }
}

static int j_digit(const st_json *p) {
    return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

static int j_number(st_json *p) {
    size_t start = p->i;
    int neg = 0;
    if (p->s[p->i] == '-') {
        neg = 1;
        p->i++;
    }
    if (!j_digit(p)) return j_unexpected(p, "a digit");
    /* magnitude accumulated unsigned so that INT64_MIN is representable */
    uint64_t mag = 0;
    int big = 0;
    if (p->s[p->i] == '0') {
        p->i++;
        if (j_digit(p)) return j_fail(p, start, "number with a leading zero");
    } else {
        while (j_digit(p)) {
            unsigned d = p->s[p->i++] - '0';
            if (mag > (UINT64_MAX - d) / 10)
                big = 1;
            else
                mag = mag * 10 + d;
        }
    }
    int type = J_INT;
    if (p->i < p->n && p->s[p->i] == '.') {
        p->i++;
        if (!j_digit(p)) return j_unexpected(p, "a digit after the decimal point");
        while (j_digit(p))
            p->i++;
        type = J_NUMBER;
    }
    if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
        p->i++;
        if (p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-')) p->i++;
        if (!j_digit(p)) return j_unexpected(p, "a digit in the exponent");
        while (j_digit(p))
            p->i++;
        type = J_NUMBER;
    }
    int k = j_new(p, type, start);
    if (k < 0) return -1;
    if (type == J_INT) {
        if (!neg && mag > (uint64_t)INT64_MAX) big = 1;
        if (neg && mag > (uint64_t)INT64_MAX + 1) big = 1;
        p->nodes[k].big = big;
        if (!big)
            p->nodes[k].ival =
                neg ? (mag == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mag) : (int64_t)mag;
    }
    return k;
}

static int j_literal(st_json *p, const char *word, int type) {
    size_t len = strlen(word);
    size_t start = p->i;
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0)
        return j_unexpected(p, "a JSON value");
    p->i += len;
    return j_new(p, type, start);
}

static int j_value(st_json *p, int depth);

/* Parses the members or items after '{' or '[' and links them under node k. */
static int j_container(st_json *p, int k, int depth, int object) {
    char close = object ? '}' : ']';
    int last = -1;
    p->i++;
    j_ws(p);
    if (p->i < p->n && p->s[p->i] == close) {
        p->i++;
        return k;
    }
    for (;;) {
        size_t key = SIZE_MAX;
        if (object) {
            if (p->i >= p->n || p->s[p->i] != '"') return j_unexpected(p, "a string key");
            if (j_string(p, &key) < 0) return -1;
            j_ws(p);
            if (p->i >= p->n || p->s[p->i] != ':')
                return j_unexpected(p, "':' after an object key");
            p->i++;
            j_ws(p);
        }
        int c = j_value(p, depth + 1);
        if (c < 0) return -1;
        p->nodes[c].key = key;
        if (last < 0)
            p->nodes[k].first = c;
        else
            p->nodes[last].next = c;
        last = c;
        if (p->nodes[k].count == INT_MAX) return j_fail(p, p->nodes[k].pos, "too many entries");
        p->nodes[k].count++;
        j_ws(p);
        if (p->i < p->n && p->s[p->i] == ',') {
            p->i++;
            j_ws(p);
            if (p->i < p->n && p->s[p->i] == close)
                return j_fail(p, p->i, "trailing comma before '%c'", close);
            continue;
        }
        if (p->i < p->n && p->s[p->i] == close) {
            p->i++;
            return k;
        }
        return j_unexpected(p, object ? "',' or '}' after an object member"
                                      : "',' or ']' after an array item");
    }
}

static int j_value(st_json *p, int depth) {
    if (depth > ST_MAX_DEPTH) return j_fail(p, p->i, "nesting deeper than %d levels", ST_MAX_DEPTH);
    if (p->i >= p->n) return j_unexpected(p, "a JSON value");
    unsigned char c = p->s[p->i];
    if (c == '{' || c == '[') {
        int k = j_new(p, c == '{' ? J_OBJECT : J_ARRAY, p->i);
        return k < 0 ? -1 : j_container(p, k, depth, c == '{');
    }
    if (c == '"') {
        int k = j_new(p, J_STRING, p->i);
        size_t off;
        if (k < 0 || j_string(p, &off) < 0) return -1;
        p->nodes[k].str = off;
        return k;
    }
    if (c == '-' || (c >= '0' && c <= '9')) return j_number(p);
    if (c == 't') return j_literal(p, "true", J_BOOL);
    if (c == 'f') return j_literal(p, "false", J_BOOL);
    if (c == 'n') return j_literal(p, "null", J_NULL);
    return j_unexpected(p, "a JSON value");
}

/* Parses the whole text; returns the root node or -1 (p->err or p->oom says why). */
static int j_parse(st_json *p) {
    j_ws(p);
    int root = j_value(p, 0);
    if (root < 0) return -1;
    j_ws(p);
    if (p->i < p->n) {
        char what[32];
        j_describe(p, what, sizeof what);
        return j_fail(p, p->i, "unexpected %s after the end of the JSON value", what);
    }
    return root;
}

/* ---- the file ---------------------------------------------------------------------------- */

typedef struct st_meta {
    const char *key, *value;
} st_meta;

struct scl_safetensors {
    char *path;
    unsigned char *bytes; /* the whole file */
    size_t size;
    const unsigned char *data; /* the data region */
    size_t data_size;
    char *chars; /* every decoded header string: tensor names and metadata point here */
    scl_st_tensor *tensors;
    int count;
    const scl_st_tensor **by_name; /* sorted by name, for find */
    st_meta *meta;                 /* sorted by key */
    int nmeta;
};

void scl_safetensors_close(scl_safetensors *st) {
    if (!st) return;
    free(st->path);
    free(st->bytes);
    free(st->chars);
    free(st->tensors);
    free(st->by_name);
    free(st->meta);
    free(st);
}

static scl_status st_read_file(const char *path, unsigned char **out, size_t *size, char *msg,
                               size_t cap) {
    *out = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) {
        st_msg(msg, cap, "%s: cannot open: %s", path, strerror(errno));
        return SCL_ERROR_FILE_IO;
    }
    /* Read by doubling rather than asking fseek/ftell for the size: they fail on pipes and give
     * nonsense for directories. */
    size_t n = 0, bufcap = 1 << 16;
    unsigned char *buf = malloc(bufcap);
    if (!buf) {
        fclose(f);
        st_msg(msg, cap, "%s: out of memory", path);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    for (;;) {
        if (n == bufcap) {
            unsigned char *bigger = bufcap <= SIZE_MAX / 2 ? realloc(buf, bufcap * 2) : NULL;
            if (!bigger) {
                free(buf);
                fclose(f);
                st_msg(msg, cap, "%s: out of memory reading the file", path);
                return SCL_ERROR_OUT_OF_MEMORY;
            }
            buf = bigger;
            bufcap *= 2;
        }
        size_t got = fread(buf + n, 1, bufcap - n, f);
        n += got;
        if (got == 0 || n < bufcap) {
            if (ferror(f)) {
                int err = errno;
                free(buf);
                fclose(f);
                st_msg(msg, cap, "%s: cannot read: %s", path, strerror(err));
                return SCL_ERROR_FILE_IO;
            }
            if (feof(f)) break;
        }
    }
    fclose(f);
    *out = buf;
    *size = n;
    return SCL_OK;
}

static int st_cmp_tensor_name(const void *a, const void *b) {
    const scl_st_tensor *x = *(const scl_st_tensor *const *)a;
    const scl_st_tensor *y = *(const scl_st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int st_cmp_meta(const void *a, const void *b) {
    return strcmp(((const st_meta *)a)->key, ((const st_meta *)b)->key);
}

static int st_cmp_range(const void *a, const void *b) {
    const scl_st_tensor *x = *(const scl_st_tensor *const *)a;
    const scl_st_tensor *y = *(const scl_st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Finds the members dtype, shape and data_offsets of one tensor entry. */
static scl_status st_tensor_entry(scl_safetensors *st, const st_json *p, const st_jnode *entry,
                                  scl_st_tensor *t, char *msg, size_t cap) {
    const char *path = st->path, *name = t->name;
    if (entry->type != J_OBJECT) {
        st_msg(msg, cap, "%s: tensor '%s': entry is not a JSON object", path, name);
        return SCL_ERROR_FILE_FORMAT;
    }
    const st_jnode *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (int k = entry->first; k >= 0; k = p->nodes[k].next) {
        const st_jnode *m = &p->nodes[k];
        const char *key = p->chars + m->key;
        const st_jnode **slot = strcmp(key, "dtype") == 0          ? &dtype
                                : strcmp(key, "shape") == 0        ? &shape
                                : strcmp(key, "data_offsets") == 0 ? &offsets
                                                                   : NULL;
        /* Unknown members are ignored, as the reference reader does, for forward compatibility. */
        if (!slot) continue;
        if (*slot) {
            st_msg(msg, cap, "%s: tensor '%s': duplicate key '%s'", path, name, key);
            return SCL_ERROR_FILE_FORMAT;
        }
        *slot = m;
    }
    const char *missing = !dtype ? "dtype" : !shape ? "shape" : !offsets ? "data_offsets" : NULL;
    if (missing) {
        st_msg(msg, cap, "%s: tensor '%s': entry has no \"%s\"", path, name, missing);
        return SCL_ERROR_FILE_FORMAT;
    }

    if (dtype->type != J_STRING) {
        st_msg(msg, cap, "%s: tensor '%s': dtype is not a string", path, name);
        return SCL_ERROR_FILE_FORMAT;
    }
    const char *dt = p->chars + dtype->str;
    size_t esize = st_dtype_size(dt);
    if (esize == 0) {
        st_msg(msg, cap,
               "%s: tensor '%s': unknown dtype '%s' (known: F32, F16, BF16, F64, I64, I32, I16, "
               "I8, U8, BOOL)",
               path, name, dt);
        return SCL_ERROR_FILE_FORMAT;
    }
    snprintf(t->dtype, sizeof t->dtype, "%s", dt);

    if (shape->type != J_ARRAY) {
        st_msg(msg, cap, "%s: tensor '%s': shape is not an array", path, name);
        return SCL_ERROR_FILE_FORMAT;
    }
    if (shape->count > SCL_ST_MAX_RANK) {
        st_msg(msg, cap, "%s: tensor '%s': shape has %d dimensions (at most %d are supported)",
               path, name, shape->count, SCL_ST_MAX_RANK);
        return SCL_ERROR_FILE_FORMAT;
    }
    t->rank = 0;
    int negative = 0;
    for (int k = shape->first; k >= 0; k = p->nodes[k].next) {
        const st_jnode *d = &p->nodes[k];
        if (d->type != J_INT || d->big) {
            st_msg(msg, cap, "%s: tensor '%s': shape item %d is not an integer in int64 range",
                   path, name, t->rank);
            return SCL_ERROR_FILE_FORMAT;
        }
        negative |= d->ival < 0;
        t->shape[t->rank++] = d->ival;
    }
    char dims[256];
    st_fmt_dims(dims, sizeof dims, t->shape, t->rank);
    if (negative) {
        st_msg(msg, cap, "%s: tensor '%s': shape %s has a negative dimension", path, name, dims);
        return SCL_ERROR_FILE_FORMAT;
    }

    int64_t off[2] = {0, 0};
    int noff = 0, offsets_ok = offsets->type == J_ARRAY && offsets->count == 2;
    for (int k = offsets_ok ? offsets->first : -1; k >= 0; k = p->nodes[k].next) {
        const st_jnode *o = &p->nodes[k];
        if (o->type != J_INT || o->big || o->ival < 0)
            offsets_ok = 0;
        else
            off[noff++] = o->ival;
    }
    if (!offsets_ok) {
        st_msg(msg, cap,
               "%s: tensor '%s': data_offsets is not an array of two non-negative "
               "integers",
               path, name);
        return SCL_ERROR_FILE_FORMAT;
    }
    if (off[0] > off[1]) {
        st_msg(msg, cap, "%s: tensor '%s': data_offsets [%lld, %lld] begin after they end", path,
               name, (long long)off[0], (long long)off[1]);
        return SCL_ERROR_FILE_FORMAT;
    }
    if ((uint64_t)off[1] > (uint64_t)st->data_size) {
        st_msg(msg, cap,
               "%s: tensor '%s': data_offsets [%lld, %lld] run past the end of the data region "
               "(%zu bytes)",
               path, name, (long long)off[0], (long long)off[1], st->data_size);
        return SCL_ERROR_FILE_FORMAT;
    }
    t->begin = (size_t)off[0];
    t->end = (size_t)off[1];
    int overflow;
    size_t elems = st_elements(t->shape, t->rank, &overflow);
    if (overflow || elems > SIZE_MAX / esize) {
        st_msg(msg, cap, "%s: tensor '%s': shape %s is too large", path, name, dims);
        return SCL_ERROR_FILE_FORMAT;
    }
    if (elems * esize != t->end - t->begin) {
        st_msg(msg, cap,
               "%s: tensor '%s': data_offsets [%zu, %zu] do not match dtype %s and shape %s "
               "(%zu bytes)",
               path, name, t->begin, t->end, t->dtype, dims, elems * esize);
        return SCL_ERROR_FILE_FORMAT;
    }
    return SCL_OK;
}

static scl_status st_metadata(scl_safetensors *st, const st_json *p, const st_jnode *m, char *msg,
                              size_t cap) {
    if (m->type != J_OBJECT) {
        st_msg(msg, cap, "%s: __metadata__ is not a JSON object", st->path);
        return SCL_ERROR_FILE_FORMAT;
    }
    if (m->count == 0) return SCL_OK;
    st->meta = malloc((size_t)m->count * sizeof *st->meta);
    if (!st->meta) {
        st_msg(msg, cap, "%s: out of memory", st->path);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    for (int k = m->first; k >= 0; k = p->nodes[k].next) {
        const st_jnode *v = &p->nodes[k];
        const char *key = p->chars + v->key;
        if (v->type != J_STRING) {
            st_msg(msg, cap, "%s: __metadata__ value of '%s' is not a string", st->path, key);
            return SCL_ERROR_FILE_FORMAT;
        }
        st->meta[st->nmeta].key = key;
        st->meta[st->nmeta].value = p->chars + v->str;
        st->nmeta++;
    }
    qsort(st->meta, (size_t)st->nmeta, sizeof *st->meta, st_cmp_meta);
    for (int i = 1; i < st->nmeta; i++)
        if (strcmp(st->meta[i - 1].key, st->meta[i].key) == 0) {
            st_msg(msg, cap, "%s: __metadata__ has the key '%s' twice", st->path, st->meta[i].key);
            return SCL_ERROR_FILE_FORMAT;
        }
    return SCL_OK;
}

/* Checks names are unique and byte ranges disjoint, and builds the by-name index. */
static scl_status st_cross_check(scl_safetensors *st, char *msg, size_t cap) {
    if (st->count == 0) return SCL_OK;
    const scl_st_tensor **v = malloc((size_t)st->count * sizeof *v);
    if (!v) {
        st_msg(msg, cap, "%s: out of memory", st->path);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < st->count; i++)
        v[i] = &st->tensors[i];

    qsort(v, (size_t)st->count, sizeof *v, st_cmp_range);
    const scl_st_tensor *reach = NULL; /* the tensor reaching furthest so far */
    for (int i = 0; i < st->count; i++) {
        if (v[i]->begin == v[i]->end) continue; /* an empty tensor owns no bytes */
        if (reach && v[i]->begin < reach->end) {
            st_msg(msg, cap, "%s: tensors '%s' [%zu, %zu] and '%s' [%zu, %zu] overlap", st->path,
                   reach->name, reach->begin, reach->end, v[i]->name, v[i]->begin, v[i]->end);
            free(v);
            return SCL_ERROR_FILE_FORMAT;
        }
        if (!reach || v[i]->end > reach->end) reach = v[i];
    }

    qsort(v, (size_t)st->count, sizeof *v, st_cmp_tensor_name);
    for (int i = 1; i < st->count; i++)
        if (strcmp(v[i - 1]->name, v[i]->name) == 0) {
            st_msg(msg, cap, "%s: duplicate tensor name '%s'", st->path, v[i]->name);
            free(v);
            return SCL_ERROR_FILE_FORMAT;
        }
    st->by_name = v;
    return SCL_OK;
}

/* Parses and validates the header of st->bytes. */
static scl_status st_parse(scl_safetensors *st, char *msg, size_t cap) {
    const char *path = st->path;
    if (st->size < 8) {
        st_msg(msg, cap, "%s: file is %zu bytes, shorter than the 8-byte header length", path,
               st->size);
        return SCL_ERROR_FILE_FORMAT;
    }
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--)
        hlen = (hlen << 8) | st->bytes[k];
    if (hlen > ST_MAX_HEADER) {
        st_msg(msg, cap,
               "%s: header length %llu is absurd (the limit is %u bytes; the file is %zu bytes)",
               path, (unsigned long long)hlen, ST_MAX_HEADER, st->size);
        return SCL_ERROR_FILE_FORMAT;
    }
    if (hlen > st->size - 8) {
        st_msg(msg, cap, "%s: header length %llu runs past the end of the file (%zu bytes)", path,
               (unsigned long long)hlen, st->size);
        return SCL_ERROR_FILE_FORMAT;
    }
    if (hlen == 0) {
        st_msg(msg, cap, "%s: header length is 0: there is no JSON header", path);
        return SCL_ERROR_FILE_FORMAT;
    }
    st->data = st->bytes + 8 + hlen;
    st->data_size = st->size - 8 - (size_t)hlen;

    st_json p;
    memset(&p, 0, sizeof p);
    p.s = st->bytes + 8;
    p.n = (size_t)hlen;
    int root = j_parse(&p);
    if (root < 0) {
        free(p.nodes);
        free(p.chars);
        if (p.oom) {
            st_msg(msg, cap, "%s: out of memory parsing the header", path);
            return SCL_ERROR_OUT_OF_MEMORY;
        }
        st_msg(msg, cap, "%s: malformed JSON header at byte %zu (file offset %zu): %s", path,
               p.errpos, p.errpos + 8, p.err);
        return SCL_ERROR_FILE_FORMAT;
    }
    /* From here the strings are final: hand them to st, which frees them with everything else. */
    st->chars = p.chars;
    scl_status s = SCL_OK;
    const st_jnode *r = &p.nodes[root];
    if (r->type != J_OBJECT) {
        st_msg(msg, cap, "%s: the JSON header is not an object", path);
        s = SCL_ERROR_FILE_FORMAT;
        goto done;
    }
    if (r->count > 0) {
        st->tensors = calloc((size_t)r->count, sizeof *st->tensors);
        if (!st->tensors) {
            st_msg(msg, cap, "%s: out of memory", path);
            s = SCL_ERROR_OUT_OF_MEMORY;
            goto done;
        }
    }
    int seen_meta = 0;
    for (int k = r->first; k >= 0; k = p.nodes[k].next) {
        const st_jnode *m = &p.nodes[k];
        char *key = p.chars + m->key;
        if (strcmp(key, "__metadata__") == 0) {
            if (seen_meta++) {
                st_msg(msg, cap, "%s: __metadata__ appears twice", path);
                s = SCL_ERROR_FILE_FORMAT;
                goto done;
            }
            s = st_metadata(st, &p, m, msg, cap);
            if (s != SCL_OK) goto done;
            continue;
        }
        scl_st_tensor *t = &st->tensors[st->count];
        t->name = key;
        s = st_tensor_entry(st, &p, m, t, msg, cap);
        if (s != SCL_OK) goto done;
        st->count++;
    }
    s = st_cross_check(st, msg, cap);
done:
    free(p.nodes);
    return s;
}

scl_status scl_safetensors_open(const char *path, scl_safetensors **out, char *msg, size_t msgcap) {
    if (msg && msgcap) msg[0] = '\0';
    if (!out) {
        st_msg(msg, msgcap, "scl_safetensors_open: out is NULL");
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    *out = NULL;
    if (!path) {
        st_msg(msg, msgcap, "scl_safetensors_open: path is NULL");
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    scl_safetensors *st = calloc(1, sizeof *st);
    size_t plen = strlen(path);
    if (st) st->path = malloc(plen + 1);
    if (!st || !st->path) {
        free(st);
        st_msg(msg, msgcap, "%s: out of memory", path);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    memcpy(st->path, path, plen + 1);
    scl_status s = st_read_file(path, &st->bytes, &st->size, msg, msgcap);
    if (s == SCL_OK) s = st_parse(st, msg, msgcap);
    if (s != SCL_OK) {
        scl_safetensors_close(st);
        return s;
    }
    *out = st;
    return SCL_OK;
}

int scl_safetensors_count(const scl_safetensors *st) {
    return st ? st->count : 0;
}

const scl_st_tensor *scl_safetensors_at(const scl_safetensors *st, int i) {
    return st && i >= 0 && i < st->count ? &st->tensors[i] : NULL;
}

const scl_st_tensor *scl_safetensors_find(const scl_safetensors *st, const char *name) {
    if (!st || !name || st->count == 0) return NULL;
    int lo = 0, hi = st->count - 1;
    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(name, st->by_name[mid]->name);
        if (c == 0) return st->by_name[mid];
        if (c < 0)
            hi = mid - 1;
        else
            lo = mid + 1;
    }
    return NULL;
}

const char *scl_safetensors_path(const scl_safetensors *st) {
    return st ? st->path : NULL;
}

const char *scl_safetensors_metadata(const scl_safetensors *st, const char *key) {
    if (!st || !key || st->nmeta == 0) return NULL;
    st_meta probe = {key, NULL};
    const st_meta *m = bsearch(&probe, st->meta, (size_t)st->nmeta, sizeof *st->meta, st_cmp_meta);
    return m ? m->value : NULL;
}

/* ---- reading as float32 ------------------------------------------------------------------ */

static uint32_t st_le32(const unsigned char *b) {
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static uint16_t st_le16(const unsigned char *b) {
    return (uint16_t)(b[0] | b[1] << 8);
}

/* IEEE half to single, exact: every half (subnormals included) is representable as a float. */
static uint32_t st_half_bits(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
    if (exp == 0x1f) return sign | 0x7f800000u | mant << 13;
    if (exp != 0) return sign | (exp + 112) << 23 | mant << 13; /* rebias 15 -> 127 */
    if (mant == 0) return sign;
    /* A subnormal half is mant * 2^-24: normalise it, since it is a normal float. */
    int e = -14;
    while (!(mant & 0x400)) {
        mant <<= 1;
        e--;
    }
    return sign | (uint32_t)(e + 127) << 23 | (mant & 0x3ff) << 13;
}

static float st_bits_float(uint32_t bits) {
    float f;
    memcpy(&f, &bits, sizeof f);
    return f;
}

/* Element i of an F32 (kind 0), F16 (1) or BF16 (2) tensor, as float bits. */
static uint32_t st_elem_bits(const unsigned char *src, int kind, size_t i) {
    switch (kind) {
    case 0:
        return st_le32(src + 4 * i);
    case 1:
        return st_half_bits(st_le16(src + 2 * i));
    default:
        return (uint32_t)st_le16(src + 2 * i) << 16;
    }
}

scl_status scl_safetensors_read_f32(const scl_safetensors *st, const scl_st_tensor *t, float *dst,
                                    size_t count, char *msg, size_t msgcap) {
    if (msg && msgcap) msg[0] = '\0';
    if (!st || !t) {
        st_msg(msg, msgcap, "scl_safetensors_read_f32: %s is NULL", st ? "tensor" : "file");
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    if (t < st->tensors || t >= st->tensors + st->count) {
        st_msg(msg, msgcap, "%s: scl_safetensors_read_f32: the tensor is not from this file",
               st->path);
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    int kind = strcmp(t->dtype, "F32") == 0    ? 0
               : strcmp(t->dtype, "F16") == 0  ? 1
               : strcmp(t->dtype, "BF16") == 0 ? 2
                                               : -1;
    if (kind < 0) {
        st_msg(msg, msgcap,
               "%s: tensor '%s' has dtype %s; shufflecl needs F32 (F16 and BF16 are converted)",
               st->path, t->name, t->dtype);
        return SCL_ERROR_WEIGHTS;
    }
    size_t n = scl_st_tensor_elements(t);
    if (n != count) {
        char dims[256];
        st_fmt_dims(dims, sizeof dims, t->shape, t->rank);
        st_msg(msg, msgcap, "%s: tensor '%s' has %zu elements (shape %s) but %zu were expected",
               st->path, t->name, n, dims, count);
        return SCL_ERROR_WEIGHTS;
    }
    if (!dst && count > 0) {
        st_msg(msg, msgcap, "%s: scl_safetensors_read_f32: dst is NULL", st->path);
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    const unsigned char *src = st->data + t->begin;
    /* Scan before converting so that a refused tensor leaves dst untouched. */
    for (size_t i = 0; i < n; i++) {
        uint32_t bits = st_elem_bits(src, kind, i);
        if ((bits & 0x7f800000u) != 0x7f800000u) continue;
        char idx[256];
        int64_t at[SCL_ST_MAX_RANK];
        size_t rest = i;
        for (int d = t->rank - 1; d >= 0; d--) {
            at[d] = (int64_t)(rest % (size_t)t->shape[d]);
            rest /= (size_t)t->shape[d];
        }
        st_fmt_dims(idx, sizeof idx, at, t->rank);
        st_msg(msg, msgcap, "%s: tensor '%s' element %zu (index %s) is %s; weights must be finite",
               st->path, t->name, i, idx,
               (bits & 0x007fffffu) ? "NaN"
               : (bits >> 31)       ? "-Inf"
                                    : "Inf");
        return SCL_ERROR_WEIGHTS;
    }
    for (size_t i = 0; i < n; i++)
        dst[i] = st_bits_float(st_elem_bits(src, kind, i));
    return SCL_OK;
}

/* ---- writing ----------------------------------------------------------------------------- */

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
        size_t len = st_utf8_len((const unsigned char *)s + i, n - i);
        if (len == 0) return 0;
        i += len;
    }
    return 1;
}

static int st_write_all(FILE *f, const void *p, size_t n) {
    return fwrite(p, 1, n, f) == n;
}

scl_status scl_safetensors_write_f32(const char *path, int count, const char *const *names,
                                     const int *ranks, const int64_t (*shapes)[8],
                                     const float *const *data, char *msg, size_t msgcap) {
    if (msg && msgcap) msg[0] = '\0';
    if (!path || count < 0 || (count > 0 && (!names || !ranks || !shapes || !data))) {
        st_msg(msg, msgcap, "scl_safetensors_write_f32: %s",
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
        const char *why = NULL;
        int overflow = 0;
        size_t n = 0;
        if (!names[i])
            why = "its name is NULL";
        else if (strcmp(names[i], "__metadata__") == 0)
            why = "the name __metadata__ is reserved";
        else if (!st_valid_utf8(names[i]))
            why = "its name is not valid UTF-8";
        else if (ranks[i] < 0 || ranks[i] > SCL_ST_MAX_RANK)
            why = "its rank is not in [0, 8]";
        for (int d = 0; !why && d < ranks[i]; d++)
            if (shapes[i][d] < 0) why = "its shape has a negative dimension";
        if (!why) {
            n = st_elements(shapes[i], ranks[i], &overflow);
            if (overflow || n > SIZE_MAX / 4)
                why = "its shape is too large";
            else if (n > 0 && !data[i])
                why = "its data is NULL";
        }
        for (int j = 0; !why && j < i; j++)
            if (strcmp(names[i], names[j]) == 0) why = "its name is used twice";
        if (why) {
            st_msg(msg, msgcap, "%s: tensor %d ('%s'): %s", path, i, names[i] ? names[i] : "", why);
            free(bytes);
            return SCL_ERROR_INVALID_ARGUMENT;
        }
        bytes[i] = n * 4;
    }

    st_buf h = {0};
    size_t offset = 0;
    sb_str(&h, "{");
    for (int i = 0; i < count; i++) {
        char num[48];
        sb_str(&h, i ? "," : "");
        sb_json_string(&h, names[i]);
        sb_str(&h, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < ranks[i]; d++) {
            snprintf(num, sizeof num, "%s%lld", d ? "," : "", (long long)shapes[i][d]);
            sb_str(&h, num);
        }
        snprintf(num, sizeof num, "],\"data_offsets\":[%zu,%zu]}", offset, offset + bytes[i]);
        sb_str(&h, num);
        offset += bytes[i];
    }
    sb_str(&h, "}");
    /* Pad so that the data region starts 8-byte aligned, as the reference writer does. */
    while (!h.oom && h.n % 8 != 0)
        sb_str(&h, " ");
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
    unsigned char len8[8];
    for (int k = 0; k < 8; k++)
        len8[k] = (unsigned char)((uint64_t)h.n >> (8 * k));
    int ok = st_write_all(f, len8, 8) && st_write_all(f, h.p, h.n);
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
