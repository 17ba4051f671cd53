/* json.h: the strict JSON parser behind the safetensors reader (the header is untrusted input,
 * so every malformation gets a precise message and a byte offset). */
#ifndef SCL_IO_JSON_H
#define SCL_IO_JSON_H

#include <stddef.h>
#include <stdint.h>

/* The parsed header is a flat array of nodes linked by index (first child, next sibling), and
 * every decoded string lives in one character buffer addressed by offset: both buffers may
 * move while growing, and freeing the whole tree is two free() calls. */
enum { J_OBJECT, J_ARRAY, J_STRING, J_INT, J_NUMBER, J_BOOL, J_NULL };

typedef struct scl__json_node {
    int type;
    int first, next; /* children of objects and arrays; -1 = none */
    int count;
    size_t pos;   /* byte offset in the header where the value starts */
    size_t key;   /* member name (offset into chars) for members of objects */
    size_t str;   /* J_STRING: offset into chars */
    int64_t ival; /* J_INT */
    int big;      /* J_INT that does not fit in int64_t */
} scl__json_node;

typedef struct scl__json {
    /* the text, s[0 .. n): set s and n, zero the rest, then call scl__json_parse */
    const unsigned char *s;
    size_t n, i;
    scl__json_node *nodes;
    int nnodes, capnodes;
    char *chars;
    size_t nchars, capchars;
    int oom;
    size_t errpos;
    char err[192];
} scl__json;

/* Parses the whole text p->s[0 .. p->n); returns the root node or -1, with p->err and p->errpos
 * (malformed) or p->oom set. The caller frees p->nodes and p->chars either way (or keeps
 * p->chars, into which every decoded string points). */
int scl__json_parse(scl__json *p);

/* Length of the well-formed UTF-8 sequence at s (at most n bytes), or 0 when it is malformed:
 * overlong forms, surrogates and code points above U+10FFFF are refused, as JSON requires. */
size_t scl__utf8_len(const unsigned char *s, size_t n);

#endif /* SCL_IO_JSON_H */
