/* json.c: a strict JSON parser for the safetensors header: a flat node array, every decoded
 * string in one buffer, errors with the byte offset of what is wrong. */
#include "io/json.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A safetensors header is three levels deep; anything much deeper is garbage or an attack on
 * the recursive parser's stack. */
#define ST_MAX_DEPTH 64

#if defined(__GNUC__)
#define ST_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define ST_PRINTF(a, b)
#endif

/* ---- UTF-8 --------------------------------------------------------------------------------- */

size_t scl__utf8_len(const unsigned char *s, size_t n) {
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

static int j_fail(scl__json *p, size_t pos, const char *fmt, ...) ST_PRINTF(3, 4);
static int j_fail(scl__json *p, size_t pos, const char *fmt, ...) {
    if (p->err[0] || p->oom) return -1;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err, sizeof p->err, fmt, ap);
    va_end(ap);
    p->errpos = pos;
    return -1;
}

/* A readable name for the byte at the cursor, for "unexpected ..." messages. */
static void j_describe(const scl__json *p, char *buf, size_t cap) {
    if (p->i >= p->n)
        snprintf(buf, cap, "end of header");
    else if (p->s[p->i] >= 0x20 && p->s[p->i] < 0x7f)
        snprintf(buf, cap, "'%c'", p->s[p->i]);
    else
        snprintf(buf, cap, "byte 0x%02x", p->s[p->i]);
}

static int j_unexpected(scl__json *p, const char *wanted) {
    char what[32];
    j_describe(p, what, sizeof what);
    return j_fail(p, p->i, "expected %s, found %s", wanted, what);
}

static void j_ws(scl__json *p) {
    while (p->i < p->n &&
           (p->s[p->i] == ' ' || p->s[p->i] == '\t' || p->s[p->i] == '\n' || p->s[p->i] == '\r'))
        p->i++;
}

static int j_new(scl__json *p, int type, size_t pos) {
    if (p->nnodes == p->capnodes) {
        if (p->capnodes > INT_MAX / 2) {
            p->oom = 1;
            return -1;
        }
        int cap = p->capnodes ? p->capnodes * 2 : 64;
        scl__json_node *nodes = realloc(p->nodes, (size_t)cap * sizeof *nodes);
        if (!nodes) {
            p->oom = 1;
            return -1;
        }
        p->nodes = nodes;
        p->capnodes = cap;
    }
    scl__json_node *nd = &p->nodes[p->nnodes];
    memset(nd, 0, sizeof *nd);
    nd->type = type;
    nd->first = nd->next = -1;
    nd->pos = pos;
    nd->key = SIZE_MAX;
    return p->nnodes++;
}

static int j_putc(scl__json *p, char c) {
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

static int j_hex4(scl__json *p, unsigned *out) {
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

static int j_put_utf8(scl__json *p, unsigned cp) {
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
static int j_string(scl__json *p, size_t *off) {
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
        size_t len = scl__utf8_len(p->s + p->i, p->n - p->i);
        if (len == 0) return j_fail(p, p->i, "invalid UTF-8 in string");
        for (size_t k = 0; k < len; k++)
            if (j_putc(p, (char)p->s[p->i + k]) < 0) return -1;
        p->i += len;
    }
}

static int j_digit(const scl__json *p) {
    return p->i < p->n && p->s[p->i] >= '0' && p->s[p->i] <= '9';
}

static int j_number(scl__json *p) {
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

static int j_literal(scl__json *p, const char *word, int type) {
    size_t len = strlen(word);
    size_t start = p->i;
    if (p->n - p->i < len || memcmp(p->s + p->i, word, len) != 0)
        return j_unexpected(p, "a JSON value");
    p->i += len;
    return j_new(p, type, start);
}

static int j_value(scl__json *p, int depth);

/* Parses the members or items after '{' or '[' and links them under node k. */
static int j_container(scl__json *p, int k, int depth, int object) {
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

static int j_value(scl__json *p, int depth) {
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

int scl__json_parse(scl__json *p) {
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
