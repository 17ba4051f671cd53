/* safetensors.c: the safetensors reader: the file read whole, its JSON header (io/json.c)
 * validated entry by entry, tensors found by name and converted to float32. */
#include "io/safetensors.h"

#include "core/internal.h"

#include "io/json.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The reference implementation refuses headers above this size; so do we, so that a corrupt
 * length cannot make us parse (or allocate for) gigabytes. */
#define ST_MAX_HEADER 100000000u

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

size_t scl__st_tensor_elements(const scl__st_tensor *t) {
    int overflow;
    return t ? st_elements(t->shape, t->rank, &overflow) : 0;
}

/* ---- the file ---------------------------------------------------------------------------- */

typedef struct st_meta {
    const char *key, *value;
} st_meta;

struct scl__safetensors {
    char *path;
    unsigned char *bytes; /* the whole file */
    size_t size;
    const unsigned char *data; /* the data region */
    size_t data_size;
    char *chars; /* every decoded header string: tensor names and metadata point here */
    scl__st_tensor *tensors;
    int count;
    const scl__st_tensor **by_name; /* sorted by name, for find */
    st_meta *meta;                  /* sorted by key */
    int nmeta;
};

void scl__safetensors_close(scl__safetensors *st) {
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
    const scl__st_tensor *x = *(const scl__st_tensor *const *)a;
    const scl__st_tensor *y = *(const scl__st_tensor *const *)b;
    return strcmp(x->name, y->name);
}

static int st_cmp_meta(const void *a, const void *b) {
    return strcmp(((const st_meta *)a)->key, ((const st_meta *)b)->key);
}

static int st_cmp_range(const void *a, const void *b) {
    const scl__st_tensor *x = *(const scl__st_tensor *const *)a;
    const scl__st_tensor *y = *(const scl__st_tensor *const *)b;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

/* Finds the members dtype, shape and data_offsets of one tensor entry. */
/* Finds the three members of a tensor entry; unknown members are ignored, as the reference
 * reader does, for forward compatibility. */
static scl_status st_entry_members(const scl__safetensors *st, const scl__json *p,
                                   const scl__json_node *entry, const char *name,
                                   const scl__json_node *found[3], char *msg, size_t cap) {
    static const char *const keys[3] = {"dtype", "shape", "data_offsets"};
    if (entry->type != J_OBJECT) {
        st_msg(msg, cap, "%s: tensor '%s': entry is not a JSON object", st->path, name);
        return SCL_ERROR_FILE_FORMAT;
    }
    found[0] = found[1] = found[2] = NULL;
    for (int k = entry->first; k >= 0; k = p->nodes[k].next) {
        const scl__json_node *m = &p->nodes[k];
        const char *key = p->chars + m->key;
        for (int i = 0; i < 3; i++) {
            if (strcmp(key, keys[i]) != 0) continue;
            if (found[i]) {
                st_msg(msg, cap, "%s: tensor '%s': duplicate key '%s'", st->path, name, key);
                return SCL_ERROR_FILE_FORMAT;
            }
            found[i] = m;
        }
    }
    for (int i = 0; i < 3; i++)
        if (!found[i]) {
            st_msg(msg, cap, "%s: tensor '%s': entry has no \"%s\"", st->path, name, keys[i]);
            return SCL_ERROR_FILE_FORMAT;
        }
    return SCL_OK;
}

/* The dtype member: sets t->dtype and *esize, its element size. */
static scl_status st_entry_dtype(const scl__safetensors *st, const scl__json *p,
                                 const scl__json_node *dtype, scl__st_tensor *t, size_t *esize,
                                 char *msg, size_t cap) {
    if (dtype->type != J_STRING) {
        st_msg(msg, cap, "%s: tensor '%s': dtype is not a string", st->path, t->name);
        return SCL_ERROR_FILE_FORMAT;
    }
    const char *dt = p->chars + dtype->str;
    *esize = st_dtype_size(dt);
    if (*esize == 0) {
        st_msg(msg, cap,
               "%s: tensor '%s': unknown dtype '%s' (known: F32, F16, BF16, F64, I64, I32, I16, "
               "I8, U8, BOOL)",
               st->path, t->name, dt);
        return SCL_ERROR_FILE_FORMAT;
    }
    snprintf(t->dtype, sizeof t->dtype, "%s", dt);
    return SCL_OK;
}

/* The shape member: sets t->rank, t->shape and dims, the shape as text for messages. */
static scl_status st_entry_shape(const scl__safetensors *st, const scl__json *p,
                                 const scl__json_node *shape, scl__st_tensor *t, char *dims,
                                 size_t dimscap, char *msg, size_t cap) {
    const char *path = st->path, *name = t->name;
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
        const scl__json_node *d = &p->nodes[k];
        if (d->type != J_INT || d->big) {
            st_msg(msg, cap, "%s: tensor '%s': shape item %d is not an integer in int64 range",
                   path, name, t->rank);
            return SCL_ERROR_FILE_FORMAT;
        }
        negative |= d->ival < 0;
        t->shape[t->rank++] = d->ival;
    }
    st_fmt_dims(dims, dimscap, t->shape, t->rank);
    if (negative) {
        st_msg(msg, cap, "%s: tensor '%s': shape %s has a negative dimension", path, name, dims);
        return SCL_ERROR_FILE_FORMAT;
    }
    return SCL_OK;
}

/* The data_offsets member: sets t->begin and t->end, inside the data region. */
static scl_status st_entry_offsets(const scl__safetensors *st, const scl__json *p,
                                   const scl__json_node *offsets, scl__st_tensor *t, char *msg,
                                   size_t cap) {
    const char *path = st->path, *name = t->name;
    int64_t off[2] = {0, 0};
    int noff = 0, offsets_ok = offsets->type == J_ARRAY && offsets->count == 2;
    for (int k = offsets_ok ? offsets->first : -1; k >= 0; k = p->nodes[k].next) {
        const scl__json_node *o = &p->nodes[k];
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
    return SCL_OK;
}

/* One tensor entry of the header, checked member by member and against the data region. */
static scl_status st_tensor_entry(scl__safetensors *st, const scl__json *p,
                                  const scl__json_node *entry, scl__st_tensor *t, char *msg,
                                  size_t cap) {
    const scl__json_node *m[3]; /* dtype, shape, data_offsets */
    size_t esize = 0;
    char dims[256];
    scl_status s = st_entry_members(st, p, entry, t->name, m, msg, cap);
    if (s == SCL_OK) s = st_entry_dtype(st, p, m[0], t, &esize, msg, cap);
    if (s == SCL_OK) s = st_entry_shape(st, p, m[1], t, dims, sizeof dims, msg, cap);
    if (s == SCL_OK) s = st_entry_offsets(st, p, m[2], t, msg, cap);
    if (s != SCL_OK) return s;
    int overflow;
    size_t elems = st_elements(t->shape, t->rank, &overflow);
    if (overflow || elems > SIZE_MAX / esize) {
        st_msg(msg, cap, "%s: tensor '%s': shape %s is too large", st->path, t->name, dims);
        return SCL_ERROR_FILE_FORMAT;
    }
    if (elems * esize != t->end - t->begin) {
        st_msg(msg, cap,
               "%s: tensor '%s': data_offsets [%zu, %zu] do not match dtype %s and shape %s "
               "(%zu bytes)",
               st->path, t->name, t->begin, t->end, t->dtype, dims, elems * esize);
        return SCL_ERROR_FILE_FORMAT;
    }
    return SCL_OK;
}

static scl_status st_metadata(scl__safetensors *st, const scl__json *p, const scl__json_node *m,
                              char *msg, size_t cap) {
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
        const scl__json_node *v = &p->nodes[k];
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
static scl_status st_cross_check(scl__safetensors *st, char *msg, size_t cap) {
    if (st->count == 0) return SCL_OK;
    const scl__st_tensor **v = malloc((size_t)st->count * sizeof *v);
    if (!v) {
        st_msg(msg, cap, "%s: out of memory", st->path);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < st->count; i++)
        v[i] = &st->tensors[i];

    qsort(v, (size_t)st->count, sizeof *v, st_cmp_range);
    const scl__st_tensor *reach = NULL; /* the tensor reaching furthest so far */
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

/* The 8-byte header length, checked against the file; sets st->data and st->data_size. */
static scl_status st_header_len(scl__safetensors *st, uint64_t *out, char *msg, size_t cap) {
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
    *out = hlen;
    return SCL_OK;
}

/* Parses and validates the header of st->bytes. */
static scl_status st_parse(scl__safetensors *st, char *msg, size_t cap) {
    const char *path = st->path;
    uint64_t hlen;
    scl_status s = st_header_len(st, &hlen, msg, cap);
    if (s != SCL_OK) return s;
    scl__json p;
    memset(&p, 0, sizeof p);
    p.s = st->bytes + 8;
    p.n = (size_t)hlen;
    int root = scl__json_parse(&p);
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
    const scl__json_node *r = &p.nodes[root];
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
        const scl__json_node *m = &p.nodes[k];
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
        scl__st_tensor *t = &st->tensors[st->count];
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

scl_status scl__safetensors_open(const char *path, scl__safetensors **out, char *msg,
                                 size_t msgcap) {
    if (msg && msgcap) msg[0] = '\0';
    if (!out) {
        st_msg(msg, msgcap, "scl__safetensors_open: out is NULL");
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    *out = NULL;
    if (!path) {
        st_msg(msg, msgcap, "scl__safetensors_open: path is NULL");
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    scl__safetensors *st = calloc(1, sizeof *st);
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
        scl__safetensors_close(st);
        return s;
    }
    *out = st;
    return SCL_OK;
}

int scl__safetensors_count(const scl__safetensors *st) {
    return st ? st->count : 0;
}

const scl__st_tensor *scl__safetensors_at(const scl__safetensors *st, int i) {
    return st && i >= 0 && i < st->count ? &st->tensors[i] : NULL;
}

const scl__st_tensor *scl__safetensors_find(const scl__safetensors *st, const char *name) {
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

const char *scl__safetensors_path(const scl__safetensors *st) {
    return st ? st->path : NULL;
}

const char *scl__safetensors_metadata(const scl__safetensors *st, const char *key) {
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
    case 1: { /* exact: every half, subnormals included, is a float (core/half.c) */
        float f = scl__half_to_float(st_le16(src + 2 * i));
        uint32_t bits;
        memcpy(&bits, &f, sizeof bits);
        return bits;
    }
    default:
        return (uint32_t)st_le16(src + 2 * i) << 16;
    }
}

scl_status scl__safetensors_read_f32(const scl__safetensors *st, const scl__st_tensor *t,
                                     float *dst, size_t count, char *msg, size_t msgcap) {
    if (msg && msgcap) msg[0] = '\0';
    if (!st || !t) {
        st_msg(msg, msgcap, "scl__safetensors_read_f32: %s is NULL", st ? "tensor" : "file");
        return SCL_ERROR_INVALID_ARGUMENT;
    }
    if (t < st->tensors || t >= st->tensors + st->count) {
        st_msg(msg, msgcap, "%s: scl__safetensors_read_f32: the tensor is not from this file",
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
    size_t n = scl__st_tensor_elements(t);
    if (n != count) {
        char dims[256];
        st_fmt_dims(dims, sizeof dims, t->shape, t->rank);
        st_msg(msg, msgcap, "%s: tensor '%s' has %zu elements (shape %s) but %zu were expected",
               st->path, t->name, n, dims, count);
        return SCL_ERROR_WEIGHTS;
    }
    if (!dst && count > 0) {
        st_msg(msg, msgcap, "%s: scl__safetensors_read_f32: dst is NULL", st->path);
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
