/* test_safetensors.c: the safetensors reader and writer: round trips, exact F16/BF16 conversion,
 * refusal of non-finite weights, and a precise message for every kind of malformed file. */
#include "io/safetensors.h"
#include "st_writer.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------------------------- */

/* Scratch files go through testutil, named with this test's prefix. */
static const char *tmp_path(const char *name) {
    return tu_tmp_path("scl__st_", name);
}

/* A safetensors file from a header text and a raw data region. */
static const char *write_st(const char *name, const char *header, const void *data, size_t ndata) {
    const char *path = tmp_path(name);
    size_t hlen = strlen(header);
    unsigned char *buf = malloc(8 + hlen + ndata + 1);
    ck_assert_ptr_nonnull(buf);
    for (int k = 0; k < 8; k++)
        buf[k] = (unsigned char)((uint64_t)hlen >> (8 * k));
    memcpy(buf + 8, header, hlen);
    if (ndata) memcpy(buf + 8 + hlen, data, ndata);
    tu_write_bytes(path, buf, 8 + hlen + ndata);
    free(buf);
    return path;
}

/* A file with header length field `hlen` followed by `rest` bytes of anything. */
static const char *write_hlen(const char *name, uint64_t hlen, size_t rest) {
    const char *path = tmp_path(name);
    unsigned char buf[8 + 512];
    ck_assert_uint_le(rest, 512);
    for (int k = 0; k < 8; k++)
        buf[k] = (unsigned char)(hlen >> (8 * k));
    memset(buf + 8, ' ', rest);
    tu_write_bytes(path, buf, 8 + rest);
    return path;
}

/* Opens a file expected to fail; checks the status, that the message starts with the path and
 * that it contains `what`. */
static void expect_open_fail(const char *path, scl_status want, const char *what) {
    char msg[1024];
    scl__safetensors *st = (scl__safetensors *)&st; /* must be reset to NULL */
    scl_status s = scl__safetensors_open(path, &st, msg, sizeof msg);
    ck_assert_msg(s == want, "%s: status %d, wanted %d (%s)", path, s, want, msg);
    ck_assert_ptr_null(st);
    ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "message does not start with the path: %s",
                  msg);
    ck_assert_msg(strstr(msg, what) != NULL, "message lacks \"%s\": %s", what, msg);
}

/* Opens a header-only file (no data region unless given) that must be malformed. */
static void expect_bad_header(const char *header, const char *what) {
    const char *path = write_st("bad.safetensors", header, NULL, 0);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT, what);
}

static scl__safetensors *open_ok(const char *path) {
    char msg[1024];
    scl__safetensors *st = NULL;
    scl_status s = scl__safetensors_open(path, &st, msg, sizeof msg);
    ck_assert_msg(s == SCL_OK, "open %s: %d: %s", path, s, msg);
    ck_assert_ptr_nonnull(st);
    return st;
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float float_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* ---- round trip -------------------------------------------------------------------------- */

START_TEST(test_round_trip) {
    float w[24 * 3 * 3 * 3], b[24], scalar = -0.0f;
    for (int i = 0; i < 24 * 27; i++)
        w[i] = (float)i * 0.25f - 80.0f;
    for (int i = 0; i < 24; i++)
        b[i] = (float)i / 7.0f;
    b[3] = float_of(0x00000001u); /* a float subnormal survives bit for bit */
    const char *names[4] = {"conv1.0.weight", "conv1.0.bias", "scale", "empty"};
    const int ranks[4] = {4, 1, 0, 2};
    const int64_t shapes[4][8] = {{24, 3, 3, 3}, {24}, {0}, {0, 5}};
    const float *data[4] = {w, b, &scalar, NULL};
    const char *path = tmp_path("round.safetensors");
    char msg[512];
    ck_assert_int_eq(scl__st_write_f32(path, 4, names, ranks, shapes, data, msg, sizeof msg),
                     SCL_OK);

    scl__safetensors *st = open_ok(path);
    ck_assert_str_eq(scl__safetensors_path(st), path);
    ck_assert_int_eq(scl__safetensors_count(st), 4);
    for (int i = 0; i < 4; i++) {
        const scl__st_tensor *t = scl__safetensors_at(st, i);
        ck_assert_ptr_nonnull(t);
        ck_assert_str_eq(t->name, names[i]); /* header order is kept */
        ck_assert_ptr_eq(scl__safetensors_find(st, names[i]), t);
        ck_assert_str_eq(t->dtype, "F32");
        ck_assert_int_eq(t->rank, ranks[i]);
        for (int d = 0; d < ranks[i]; d++)
            ck_assert_int_eq(t->shape[d], shapes[i][d]);
    }
    ck_assert_ptr_null(scl__safetensors_at(st, 4));
    ck_assert_ptr_null(scl__safetensors_at(st, -1));
    ck_assert_ptr_null(scl__safetensors_find(st, "conv1.0"));
    ck_assert_ptr_null(scl__safetensors_find(st, "zzz"));

    const scl__st_tensor *tw = scl__safetensors_find(st, "conv1.0.weight");
    ck_assert_uint_eq(tw->begin, 0);
    ck_assert_uint_eq(tw->end, sizeof w);
    ck_assert_uint_eq(scl__st_tensor_elements(tw), 648);
    float got[648];
    ck_assert_int_eq(scl__safetensors_read_f32(st, tw, got, 648, msg, sizeof msg), SCL_OK);
    ck_assert_int_eq(memcmp(got, w, sizeof w), 0);
    ck_assert_int_eq(scl__safetensors_read_f32(st, scl__safetensors_find(st, "conv1.0.bias"), got,
                                               24, msg, sizeof msg),
                     SCL_OK);
    ck_assert_int_eq(memcmp(got, b, sizeof b), 0);
    const scl__st_tensor *ts = scl__safetensors_find(st, "scale");
    ck_assert_uint_eq(scl__st_tensor_elements(ts), 1);
    ck_assert_int_eq(scl__safetensors_read_f32(st, ts, got, 1, msg, sizeof msg), SCL_OK);
    ck_assert_uint_eq(bits_of(got[0]), 0x80000000u);
    const scl__st_tensor *te = scl__safetensors_find(st, "empty");
    ck_assert_uint_eq(scl__st_tensor_elements(te), 0);
    ck_assert_int_eq(scl__safetensors_read_f32(st, te, NULL, 0, msg, sizeof msg), SCL_OK);
    scl__safetensors_close(st);
}
END_TEST

START_TEST(test_writer_layout) {
    /* The reference writer pads the header so the data region is 8-byte aligned. */
    const char *names[1] = {"a\"b\\c\n"};
    const int ranks[1] = {1};
    const int64_t shapes[1][8] = {{2}};
    const float v[2] = {1.0f, -2.0f};
    const float *data[1] = {v};
    const char *path = tmp_path("layout.safetensors");
    ck_assert_int_eq(scl__st_write_f32(path, 1, names, ranks, shapes, data, NULL, 0), SCL_OK);
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    unsigned char buf[256];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    uint64_t hlen = 0;
    for (int k = 7; k >= 0; k--)
        hlen = hlen << 8 | buf[k];
    ck_assert_uint_eq(hlen % 8, 0);
    ck_assert_uint_eq(n, 8 + hlen + 8);
    const unsigned char le[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0};
    ck_assert_int_eq(memcmp(buf + 8 + hlen, le, 8), 0);
    /* the name needed JSON escapes; they decode back to the same bytes */
    scl__safetensors *st = open_ok(path);
    ck_assert_ptr_nonnull(scl__safetensors_find(st, "a\"b\\c\n"));
    scl__safetensors_close(st);
}
END_TEST

START_TEST(test_writer_refuses) {
    const char *path = tmp_path("refused.safetensors");
    const float v[2] = {1, 2};
    const float *data[2] = {v, v};
    const int ranks[2] = {1, 1};
    int64_t shapes[2][8] = {{2}, {2}};
    const char *dup[2] = {"x", "x"};
    char msg[512];
    ck_assert_int_eq(
        scl__st_write_f32(path, 2, dup, ranks, (const int64_t(*)[8])shapes, data, msg, sizeof msg),
        SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "used twice"));
    const char *names[2] = {"x", "y"};
    shapes[1][0] = -2;
    ck_assert_int_eq(scl__st_write_f32(path, 2, names, ranks, (const int64_t(*)[8])shapes, data,
                                       msg, sizeof msg),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "negative"));
    shapes[1][0] = 2;
    const float *nodata[2] = {v, NULL};
    ck_assert_int_eq(scl__st_write_f32(path, 2, names, ranks, (const int64_t(*)[8])shapes, nodata,
                                       msg, sizeof msg),
                     SCL_ERROR_INVALID_ARGUMENT);
    const char *meta[1] = {"__metadata__"};
    ck_assert_int_eq(
        scl__st_write_f32(path, 1, meta, ranks, (const int64_t(*)[8])shapes, data, msg, sizeof msg),
        SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl__st_write_f32("/nonexistent-dir/x.safetensors", 2, names, ranks,
                                       (const int64_t(*)[8])shapes, data, msg, sizeof msg),
                     SCL_ERROR_FILE_IO);
    ck_assert_ptr_nonnull(strstr(msg, "/nonexistent-dir/x.safetensors: cannot create"));
}
END_TEST

/* ---- conversion -------------------------------------------------------------------------- */

START_TEST(test_f16_exact) {
    static const struct {
        uint16_t h;
        uint32_t f;
    } cases[] = {
        {0x0000, 0x00000000u}, /* +0 */
        {0x8000, 0x80000000u}, /* -0 */
        {0x3c00, 0x3f800000u}, /* 1 */
        {0xc000, 0xc0000000u}, /* -2 */
        {0x7bff, 0x477fe000u}, /* 65504, the largest half */
        {0x0400, 0x38800000u}, /* 2^-14, the smallest normal half */
        {0x0001, 0x33800000u}, /* 2^-24, the smallest subnormal half */
        {0x8001, 0xb3800000u}, /* -2^-24 */
        {0x03ff, 0x387fc000u}, /* 1023 * 2^-24, the largest subnormal half */
        {0x0200, 0x38000000u}, /* 2^-15 */
        {0x0155, 0x37aa8000u}, /* 341 * 2^-24 = 1.01010101b * 2^-16 */
        {0x3555, 0x3eaaa000u}, /* 0.333251953125 */
    };
    enum { N = sizeof cases / sizeof cases[0] };
    unsigned char raw[2 * N];
    for (int i = 0; i < N; i++) {
        raw[2 * i] = (unsigned char)(cases[i].h & 0xff);
        raw[2 * i + 1] = (unsigned char)(cases[i].h >> 8);
    }
    char header[128];
    snprintf(header, sizeof header,
             "{\"h\":{\"dtype\":\"F16\",\"shape\":[%d],\"data_offsets\":[0,%d]}}", N, 2 * N);
    scl__safetensors *st = open_ok(write_st("f16.safetensors", header, raw, sizeof raw));
    float got[N];
    char msg[256];
    ck_assert_int_eq(
        scl__safetensors_read_f32(st, scl__safetensors_find(st, "h"), got, N, msg, sizeof msg),
        SCL_OK);
    for (int i = 0; i < N; i++)
        ck_assert_msg(bits_of(got[i]) == cases[i].f, "half 0x%04x gave 0x%08x, wanted 0x%08x",
                      cases[i].h, bits_of(got[i]), cases[i].f);
    /* and as numbers, so the table itself is checked */
    ck_assert(got[6] == ldexpf(1.0f, -24));
    ck_assert(got[8] == 1023.0f * ldexpf(1.0f, -24));
    ck_assert(got[4] == 65504.0f);
    ck_assert(signbit(got[1]));
    scl__safetensors_close(st);
}
END_TEST

START_TEST(test_f16_every_value) {
    /* All 63488 finite halves against an independent formula: (-1)^s * m * 2^e. */
    enum { N = 65536 };
    unsigned char *raw = malloc(2 * N);
    float *got = malloc(N * sizeof *got);
    ck_assert(raw && got);
    int n = 0;
    for (unsigned h = 0; h < N; h++) {
        if ((h & 0x7c00) == 0x7c00) continue;
        raw[2 * n] = (unsigned char)(h & 0xff);
        raw[2 * n + 1] = (unsigned char)(h >> 8);
        n++;
    }
    char header[128];
    snprintf(header, sizeof header,
             "{\"all\":{\"dtype\":\"F16\",\"shape\":[%d],\"data_offsets\":[0,%d]}}", n, 2 * n);
    scl__safetensors *st = open_ok(write_st("f16all.safetensors", header, raw, 2 * (size_t)n));
    ck_assert_int_eq(
        scl__safetensors_read_f32(st, scl__safetensors_at(st, 0), got, (size_t)n, NULL, 0), SCL_OK);
    for (int i = 0; i < n; i++) {
        unsigned h = raw[2 * i] | raw[2 * i + 1] << 8;
        unsigned e = (h >> 10) & 0x1f, m = h & 0x3ff;
        double v = e ? ldexp(1024 + m, (int)e - 25) : ldexp(m, -24);
        if (h & 0x8000) v = -v;
        ck_assert_msg((double)got[i] == v && !signbit(got[i]) == !(h & 0x8000),
                      "half 0x%04x: got %a, wanted %a", h, (double)got[i], v);
    }
    scl__safetensors_close(st);
    free(raw);
    free(got);
}
END_TEST

START_TEST(test_bf16_exact) {
    static const uint16_t in[] = {0x3f80, 0xc040, 0x0001, 0x8080, 0x7f7f, 0x3eaa, 0x0000, 0x8000};
    enum { N = sizeof in / sizeof in[0] };
    unsigned char raw[2 * N];
    for (int i = 0; i < N; i++) {
        raw[2 * i] = (unsigned char)(in[i] & 0xff);
        raw[2 * i + 1] = (unsigned char)(in[i] >> 8);
    }
    scl__safetensors *st = open_ok(write_st(
        "bf16.safetensors", "{\"b\":{\"dtype\":\"BF16\",\"shape\":[2,4],\"data_offsets\":[0,16]}}",
        raw, sizeof raw));
    float got[N];
    ck_assert_int_eq(scl__safetensors_read_f32(st, scl__safetensors_find(st, "b"), got, N, NULL, 0),
                     SCL_OK);
    for (int i = 0; i < N; i++)
        ck_assert_uint_eq(bits_of(got[i]), (uint32_t)in[i] << 16);
    ck_assert(got[0] == 1.0f && got[1] == -3.0f);
    ck_assert(got[2] == ldexpf(1.0f, -133)); /* the smallest bf16 subnormal */
    ck_assert(got[3] == -ldexpf(1.0f, -126));
    scl__safetensors_close(st);
}
END_TEST

/* A two-by-two tensor of 16-bit values with one special value at index 3. */
static void expect_nonfinite16(const char *dtype, uint16_t bad, const char *what) {
    uint16_t v[4] = {0x3c00, 0x3c00, 0x3c00, bad};
    if (strcmp(dtype, "BF16") == 0) v[0] = v[1] = v[2] = 0x3f80;
    unsigned char raw[8];
    for (int i = 0; i < 4; i++) {
        raw[2 * i] = (unsigned char)(v[i] & 0xff);
        raw[2 * i + 1] = (unsigned char)(v[i] >> 8);
    }
    char header[128];
    snprintf(header, sizeof header,
             "{\"layer.w\":{\"dtype\":\"%s\",\"shape\":[2,2],\"data_offsets\":[0,8]}}", dtype);
    const char *path = write_st("nonfinite.safetensors", header, raw, sizeof raw);
    scl__safetensors *st = open_ok(path);
    float dst[4] = {7, 7, 7, 7};
    char msg[512];
    ck_assert_int_eq(
        scl__safetensors_read_f32(st, scl__safetensors_at(st, 0), dst, 4, msg, sizeof msg),
        SCL_ERROR_WEIGHTS);
    ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "%s", msg);
    ck_assert_msg(strstr(msg, "tensor 'layer.w' element 3 (index [1, 1])") != NULL, "%s", msg);
    ck_assert_msg(strstr(msg, what) != NULL, "%s lacks %s", msg, what);
    for (int i = 0; i < 4; i++)
        ck_assert(dst[i] == 7.0f); /* untouched */
    scl__safetensors_close(st);
}

START_TEST(test_nonfinite_refused) {
    expect_nonfinite16("F16", 0x7c00, "is Inf");
    expect_nonfinite16("F16", 0xfc00, "is -Inf");
    expect_nonfinite16("F16", 0x7e00, "is NaN");
    expect_nonfinite16("F16", 0x7c01, "is NaN");
    expect_nonfinite16("BF16", 0x7f80, "is Inf");
    expect_nonfinite16("BF16", 0x7fc0, "is NaN");

    float v[6] = {1, 2, 3, 4, 5, NAN};
    const float *data[1] = {v};
    const char *names[1] = {"fc.weight"};
    const int ranks[1] = {2};
    const int64_t shapes[1][8] = {{2, 3}};
    const char *path = tmp_path("nan32.safetensors");
    ck_assert_int_eq(scl__st_write_f32(path, 1, names, ranks, shapes, data, NULL, 0), SCL_OK);
    scl__safetensors *st = open_ok(path);
    char msg[512];
    float dst[6];
    ck_assert_int_eq(
        scl__safetensors_read_f32(st, scl__safetensors_at(st, 0), dst, 6, msg, sizeof msg),
        SCL_ERROR_WEIGHTS);
    ck_assert_msg(strstr(msg, "tensor 'fc.weight' element 5 (index [1, 2]) is NaN") != NULL, "%s",
                  msg);
    scl__safetensors_close(st);

    v[5] = 6;
    v[1] = -INFINITY;
    ck_assert_int_eq(scl__st_write_f32(path, 1, names, ranks, shapes, data, NULL, 0), SCL_OK);
    st = open_ok(path);
    ck_assert_int_eq(
        scl__safetensors_read_f32(st, scl__safetensors_at(st, 0), dst, 6, msg, sizeof msg),
        SCL_ERROR_WEIGHTS);
    ck_assert_msg(strstr(msg, "tensor 'fc.weight' element 1 (index [0, 1]) is -Inf") != NULL, "%s",
                  msg);
    /* the largest finite float is fine */
    v[1] = float_of(0x7f7fffffu);
    scl__safetensors_close(st);
    ck_assert_int_eq(scl__st_write_f32(path, 1, names, ranks, shapes, data, NULL, 0), SCL_OK);
    st = open_ok(path);
    ck_assert_int_eq(
        scl__safetensors_read_f32(st, scl__safetensors_at(st, 0), dst, 6, msg, sizeof msg), SCL_OK);
    ck_assert_uint_eq(bits_of(dst[1]), 0x7f7fffffu);
    scl__safetensors_close(st);
}
END_TEST

START_TEST(test_read_refusals) {
    /* Every dtype opens; only the float ones read. */
    static const struct {
        const char *dtype;
        int size;
    } dt[] = {{"F64", 8}, {"I64", 8}, {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U8", 1}, {"BOOL", 1}};
    enum { N = sizeof dt / sizeof dt[0] };
    char header[1024];
    size_t len = (size_t)snprintf(header, sizeof header, "{");
    int off = 0;
    for (int i = 0; i < N; i++) {
        len +=
            (size_t)snprintf(header + len, sizeof header - len,
                             "%s\"t%s\":{\"dtype\":\"%s\",\"shape\":[3],\"data_offsets\":[%d,%d]}",
                             i ? "," : "", dt[i].dtype, dt[i].dtype, off, off + 3 * dt[i].size);
        off += 3 * dt[i].size;
    }
    snprintf(header + len, sizeof header - len, "}");
    unsigned char zeros[128] = {0};
    const char *path = write_st("dtypes.safetensors", header, zeros, (size_t)off);
    scl__safetensors *st = open_ok(path);
    ck_assert_int_eq(scl__safetensors_count(st), N);
    char msg[512], want[128];
    float dst[3];
    for (int i = 0; i < N; i++) {
        const scl__st_tensor *t = scl__safetensors_at(st, i);
        ck_assert_str_eq(t->dtype, dt[i].dtype);
        ck_assert_int_eq(scl__safetensors_read_f32(st, t, dst, 3, msg, sizeof msg),
                         SCL_ERROR_WEIGHTS);
        snprintf(want, sizeof want,
                 "tensor 't%s' has dtype %s; shufflecl needs F32 (F16 and BF16 are converted)",
                 dt[i].dtype, dt[i].dtype);
        ck_assert_msg(strstr(msg, want) != NULL, "%s", msg);
        ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "%s", msg);
    }
    scl__safetensors_close(st);

    /* wrong element count, a tensor from elsewhere, NULL arguments */
    const float v[6] = {0};
    const float *data[1] = {v};
    const char *names[1] = {"stage2.0.branch2.3.weight"};
    const int ranks[1] = {4};
    const int64_t shapes[1][8] = {{6, 1, 1, 1}};
    const char *p2 = tmp_path("count.safetensors");
    ck_assert_int_eq(scl__st_write_f32(p2, 1, names, ranks, shapes, data, NULL, 0), SCL_OK);
    scl__safetensors *a = open_ok(p2), *b = open_ok(p2);
    float out[8];
    ck_assert_int_eq(
        scl__safetensors_read_f32(a, scl__safetensors_at(a, 0), out, 8, msg, sizeof msg),
        SCL_ERROR_WEIGHTS);
    ck_assert_msg(strstr(msg, "tensor 'stage2.0.branch2.3.weight' has 6 elements (shape [6, 1, 1, "
                              "1]) but 8 were expected") != NULL,
                  "%s", msg);
    ck_assert_int_eq(
        scl__safetensors_read_f32(a, scl__safetensors_at(b, 0), out, 6, msg, sizeof msg),
        SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl__safetensors_read_f32(a, NULL, out, 6, msg, sizeof msg),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(
        scl__safetensors_read_f32(a, scl__safetensors_at(a, 0), NULL, 6, msg, sizeof msg),
        SCL_ERROR_INVALID_ARGUMENT);
    scl__safetensors_close(a);
    scl__safetensors_close(b);
    scl__safetensors_close(NULL);
}
END_TEST

/* ---- header structure -------------------------------------------------------------------- */

START_TEST(test_metadata_escapes_whitespace) {
    /* Escapes of every kind, surrogate pairs, padding spaces after the object as the reference
     * writer leaves them, and whitespace between every token. */
    const char *header =
        " {\n\t\"__metadata__\" : { \"format\" : \"pt\", \"note\": \"a\\\"b\\\\c\\/"
        "\\b\\f\\n\\r\\t\\u00e9\\u20AC\\ud83d\\ude00\" } ,\r\n"
        "  \"caf\\u00e9.w\" : { \"shape\" : [ 1 ] , \"dtype\" : \"F32\" ,"
        " \"data_offsets\" : [ 0 , 4 ] , \"extra\": [1.5e3, true, null, {}] }"
        "}        ";
    const float one = 1.0f;
    scl__safetensors *st = open_ok(write_st("meta.safetensors", header, &one, 4));
    ck_assert_str_eq(scl__safetensors_metadata(st, "format"), "pt");
    ck_assert_str_eq(scl__safetensors_metadata(st, "note"),
                     "a\"b\\c/\b\f\n\r\t\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    ck_assert_ptr_null(scl__safetensors_metadata(st, "missing"));
    ck_assert_int_eq(scl__safetensors_count(st), 1);
    const scl__st_tensor *t = scl__safetensors_find(st, "caf\xc3\xa9.w");
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->rank, 1);
    scl__safetensors_close(st);

    /* no tensors at all is a valid (if useless) file */
    st = open_ok(write_st("empty.safetensors", "{}", NULL, 0));
    ck_assert_int_eq(scl__safetensors_count(st), 0);
    ck_assert_ptr_null(scl__safetensors_find(st, "x"));
    ck_assert_ptr_null(scl__safetensors_metadata(st, "x"));
    scl__safetensors_close(st);
}
END_TEST

START_TEST(test_file_level_errors) {
    char msg[256];
    scl__safetensors *st = NULL;
    const char *path = tmp_path("short.safetensors");
    tu_write_bytes(path, "\x10\x00\x00\x00\x00", 5);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT, ": file is 5 bytes, shorter than the 8-byte");
    tu_write_bytes(path, "", 0);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT, ": file is 0 bytes");

    expect_open_fail(write_hlen("past.safetensors", 9999999, 404), SCL_ERROR_FILE_FORMAT,
                     ": header length 9999999 runs past the end of the file (412 bytes)");
    expect_open_fail(write_hlen("absurd.safetensors", UINT64_MAX, 16), SCL_ERROR_FILE_FORMAT,
                     ": header length 18446744073709551615 is absurd");
    expect_open_fail(write_hlen("zero.safetensors", 0, 16), SCL_ERROR_FILE_FORMAT,
                     ": header length is 0");

    expect_open_fail(tmp_path("does-not-exist.safetensors"), SCL_ERROR_FILE_IO, ": cannot open");
    const char *dir = getenv("SCL_TEST_TMPDIR");
    expect_open_fail(dir && *dir ? dir : "/tmp", SCL_ERROR_FILE_IO, ": cannot read");

    ck_assert_int_eq(scl__safetensors_open(NULL, &st, msg, sizeof msg), SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl__safetensors_open(path, NULL, msg, sizeof msg),
                     SCL_ERROR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_malformed_json) {
    /* Where the parser stops, and why. */
    expect_bad_header("{\"a\" 1}", "malformed JSON header at byte 5 (file offset 13): expected ':' "
                                   "after an object key, found '1'");
    expect_bad_header("{\"a\":{},}", "at byte 8 (file offset 16): trailing comma before '}'");
    expect_bad_header("{\"a\":[1,]}", "at byte 8 (file offset 16): trailing comma before ']'");
    expect_bad_header("{\"a\":{}", "at byte 7 (file offset 15): expected ',' or '}' after an "
                                   "object member, found end of header");
    expect_bad_header("{\"a", "at byte 1 (file offset 9): unterminated string");
    expect_bad_header("{\"a\\x\":1}", "at byte 4 (file offset 12): expected an escape character");
    expect_bad_header("{\"\\u12g4\":1}", "expected four hex digits after \\u, found 'g'");
    expect_bad_header("{\"\\udc00\":1}", "at byte 2 (file offset 10): unpaired low surrogate");
    expect_bad_header("{\"\\ud800x\":1}", "high surrogate \\uD800 not followed by a low one");
    expect_bad_header("{\"\\ud800\\u0041\":1}", "high surrogate \\uD800 not followed by a low one");
    expect_bad_header("{\"\\u0000\":1}", "\\u0000 (NUL) is not allowed in strings");
    expect_bad_header("{\"a\tb\":1}",
                      "at byte 3 (file offset 11): unescaped control character 0x09");
    expect_bad_header("{\"\xc3\x28\":1}", "at byte 2 (file offset 10): invalid UTF-8 in string");
    expect_bad_header("{\"\xed\xa0\x80\":1}", "invalid UTF-8 in string"); /* encoded surrogate */
    expect_bad_header("{\"\xc0\xaf\":1}", "invalid UTF-8 in string");     /* overlong */
    expect_bad_header("{\"a\":01}", "at byte 5 (file offset 13): number with a leading zero");
    expect_bad_header("{\"a\":-}", "expected a digit, found '}'");
    expect_bad_header("{\"a\":1.}", "expected a digit after the decimal point");
    expect_bad_header("{\"a\":1e}", "expected a digit in the exponent");
    expect_bad_header("{\"a\":tru}", "expected a JSON value, found 't'");
    expect_bad_header("{\"a\":'x'}", "expected a JSON value, found '''");
    expect_bad_header("{a:1}", "at byte 1 (file offset 9): expected a string key, found 'a'");
    expect_bad_header("{} x", "at byte 3 (file offset 11): unexpected 'x' after the end");
    expect_bad_header("{}}", "unexpected '}' after the end of the JSON value");
    expect_bad_header("{}\x01", "unexpected byte 0x01 after the end");
    expect_bad_header("   ",
                      "at byte 3 (file offset 11): expected a JSON value, found end of header");
    expect_bad_header("[]", ": the JSON header is not an object");
    char deep[256];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = '\0';
    expect_bad_header(deep, "nesting deeper than 64 levels");
}
END_TEST

START_TEST(test_bad_entries) {
    expect_bad_header("{\"w\":{\"shape\":[1],\"data_offsets\":[0,4]}}",
                      ": tensor 'w': entry has no \"dtype\"");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}",
                      ": tensor 'w': entry has no \"shape\"");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1]}}",
                      ": tensor 'w': entry has no \"data_offsets\"");
    expect_bad_header("{\"w\":[1]}", ": tensor 'w': entry is not a JSON object");
    expect_bad_header("{\"w\":{\"dtype\":32,\"shape\":[1],\"data_offsets\":[0,4]}}",
                      ": tensor 'w': dtype is not a string");
    expect_bad_header("{\"w\":{\"dtype\":\"F8\",\"shape\":[1],\"data_offsets\":[0,1]}}",
                      ": tensor 'w': unknown dtype 'F8'");
    expect_bad_header("{\"w\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
                      ": tensor 'w': unknown dtype 'f32'");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],"
                      "\"data_offsets\":[0,4]}}",
                      ": tensor 'w': duplicate key 'dtype'");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":{},\"data_offsets\":[0,4]}}",
                      ": tensor 'w': shape is not an array");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,-3],\"data_offsets\":[0,0]}}",
                      ": tensor 'w': shape [2, -3] has a negative dimension");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[2,1.5],\"data_offsets\":[0,0]}}",
                      ": tensor 'w': shape item 1 is not an integer");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[99999999999999999999],"
                      "\"data_offsets\":[0,0]}}",
                      ": tensor 'w': shape item 0 is not an integer in int64 range");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],"
                      "\"data_offsets\":[0,4]}}",
                      ": tensor 'w': shape has 9 dimensions (at most 8 are supported)");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,8]}}",
                      ": tensor 'w': data_offsets is not an array of two non-negative integers");
    expect_bad_header("{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}",
                      ": tensor 'w': data_offsets is not an array of two non-negative integers");
    expect_bad_header("{\"__metadata__\":{\"a\":1}}",
                      ": __metadata__ value of 'a' is not a string");
    expect_bad_header("{\"__metadata__\":[]}", ": __metadata__ is not a JSON object");
    expect_bad_header("{\"__metadata__\":{\"a\":\"1\",\"a\":\"2\"}}",
                      ": __metadata__ has the key 'a' twice");
    expect_bad_header("{\"__metadata__\":{},\"__metadata__\":{}}", ": __metadata__ appears twice");
}
END_TEST

START_TEST(test_bad_offsets) {
    unsigned char data[2600] = {0};
    const char *path =
        write_st("off1.safetensors",
                 "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", data, 4);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT,
                     ": tensor 'w': data_offsets [0, 8] run past the end of the data region (4 "
                     "bytes)");
    path = write_st("off2.safetensors",
                    "{\"w\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[8,4]}}", data, 16);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT,
                     ": tensor 'w': data_offsets [8, 4] begin after they end");
    path = write_st("off3.safetensors",
                    "{\"conv1.0.weight\":{\"dtype\":\"F32\",\"shape\":[24,3,3,3],"
                    "\"data_offsets\":[0,100]}}",
                    data, 2600);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT,
                     ": tensor 'conv1.0.weight': data_offsets [0, 100] do not match dtype F32 and "
                     "shape [24, 3, 3, 3] (2592 bytes)");
    path = write_st("off4.safetensors",
                    "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,12]}}", data, 12);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT,
                     "data_offsets [0, 12] do not match dtype F16 and shape [3] (6 bytes)");
    path = write_st("off5.safetensors",
                    "{\"w\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],"
                    "\"data_offsets\":[0,16]}}",
                    data, 16);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT, "shape [4611686018427387904, 4] is too large");
    path = write_st("overlap.safetensors",
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[16,32]},"
                    "\"c\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}",
                    data, 32);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT, ": tensors 'a' [0, 16] and 'c' [8, 16] overlap");
    /* a range inside a long one that ended earlier in the sort still overlaps it */
    path = write_st("overlap2.safetensors",
                    "{\"big\":{\"dtype\":\"U8\",\"shape\":[32],\"data_offsets\":[0,32]},"
                    "\"x\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[4,8]},"
                    "\"y\":{\"dtype\":\"U8\",\"shape\":[4],\"data_offsets\":[20,24]}}",
                    data, 32);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT, ": tensors 'big' [0, 32] and 'x' [4, 8] overlap");
    path = write_st("dup.safetensors",
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
                    "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
                    data, 8);
    expect_open_fail(path, SCL_ERROR_FILE_FORMAT, ": duplicate tensor name 'a'");

    /* Empty tensors own no bytes, and gaps and trailing bytes are harmless. */
    path = write_st("fine.safetensors",
                    "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]},"
                    "\"e\":{\"dtype\":\"F32\",\"shape\":[0,7],\"data_offsets\":[8,8]},"
                    "\"b\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[20,24]}}",
                    data, 40);
    scl__safetensors *st = open_ok(path);
    ck_assert_int_eq(scl__safetensors_count(st), 3);
    ck_assert_int_eq(scl__safetensors_find(st, "b")->rank, 0);
    scl__safetensors_close(st);
}
END_TEST

int main(void) {
    Suite *s = suite_create("safetensors");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, tu_remove_tmp);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_writer_layout);
    tcase_add_test(tc, test_writer_refuses);
    tcase_add_test(tc, test_f16_exact);
    tcase_add_test(tc, test_f16_every_value);
    tcase_add_test(tc, test_bf16_exact);
    tcase_add_test(tc, test_nonfinite_refused);
    tcase_add_test(tc, test_read_refusals);
    tcase_add_test(tc, test_metadata_escapes_whitespace);
    tcase_add_test(tc, test_file_level_errors);
    tcase_add_test(tc, test_malformed_json);
    tcase_add_test(tc, test_bad_entries);
    tcase_add_test(tc, test_bad_offsets);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
