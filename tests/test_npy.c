/* test_npy.c: the .npy reader and writer: round trips, byte-identity with numpy.save, Fortran
 * order, byte orders, header versions, and the message for each kind of bad file. */
#include "cli/npy.h"
#include "testutil.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ----------------------------------------------------------------------------- */

/* Scratch files go through testutil, named with this test's prefix. */
static const char *tmp_path(const char *name) {
    return tu_tmp_path("scl__npy_", name);
}

static unsigned char *read_bytes(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    ck_assert_ptr_nonnull(f);
    size_t cap = 1 << 20;
    unsigned char *buf = malloc(cap);
    ck_assert_ptr_nonnull(buf);
    *n = fread(buf, 1, cap, f);
    ck_assert(feof(f));
    fclose(f);
    return buf;
}

/* A .npy file with the given version, header text (used verbatim) and data bytes. */
static const char *write_npy(const char *name, int major, const char *header, const void *data,
                             size_t ndata) {
    const char *path = tmp_path(name);
    size_t hlen = strlen(header), pre = major == 1 ? 10 : 12;
    unsigned char *buf = malloc(pre + hlen + ndata + 1);
    ck_assert_ptr_nonnull(buf);
    memcpy(buf, "\x93NUMPY", 6);
    buf[6] = (unsigned char)major;
    buf[7] = 0;
    for (size_t k = 8; k < pre; k++)
        buf[k] = (unsigned char)(hlen >> (8 * (k - 8)));
    memcpy(buf + pre, header, hlen);
    if (ndata) memcpy(buf + pre + hlen, data, ndata);
    tu_write_bytes(path, buf, pre + hlen + ndata);
    free(buf);
    return path;
}

static void put_le32(unsigned char *b, uint32_t u) {
    b[0] = (unsigned char)u;
    b[1] = (unsigned char)(u >> 8);
    b[2] = (unsigned char)(u >> 16);
    b[3] = (unsigned char)(u >> 24);
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* Little-endian bytes of n floats. */
static unsigned char *le_bytes(const float *v, size_t n) {
    unsigned char *b = malloc(4 * n + 1);
    ck_assert_ptr_nonnull(b);
    for (size_t i = 0; i < n; i++)
        put_le32(b + 4 * i, bits_of(v[i]));
    return b;
}

static void expect_fail(const char *path, scl_status want, const char *what) {
    int rank = -1;
    int64_t shape[8];
    float *data = (float *)&rank; /* must be reset to NULL */
    char msg[1024];
    scl_status s = scl__npy_read_f32(path, &rank, shape, &data, msg, sizeof msg);
    ck_assert_msg(s == want, "%s: status %d, wanted %d (%s)", path, s, want, msg);
    ck_assert_ptr_null(data);
    ck_assert_msg(strncmp(msg, path, strlen(path)) == 0, "message does not start with the path: %s",
                  msg);
    ck_assert_msg(strstr(msg, what) != NULL, "message lacks \"%s\": %s", what, msg);
}

static void expect_bad_header(int major, const char *header, const char *what) {
    const float zero[8] = {0};
    const char *path = write_npy("bad.npy", major, header, zero, sizeof zero);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, what);
}

static float *read_ok(const char *path, int *rank, int64_t shape[8]) {
    float *data = NULL;
    char msg[1024];
    scl_status s = scl__npy_read_f32(path, rank, shape, &data, msg, sizeof msg);
    ck_assert_msg(s == SCL_OK, "%s: %d: %s", path, s, msg);
    ck_assert_ptr_nonnull(data);
    return data;
}

/* ---- round trip and byte identity -------------------------------------------------------- */

START_TEST(test_round_trip) {
    static const int64_t shapes[][8] = {
        {0}, {7}, {3, 5}, {2, 3, 4, 5}, {0}, {3, 0, 2}, {1, 1, 1, 1, 1, 1, 1, 2}};
    static const int ranks[] = {0, 1, 2, 4, 1, 3, 8};
    float v[256];
    for (int i = 0; i < 256; i++)
        v[i] = (float)i * 0.37f - 20.0f;
    v[1] = -0.0f;
    v[2] = NAN;
    v[3] = -INFINITY;
    memcpy(&v[4], &(uint32_t){0x7fc12345u}, 4); /* a NaN payload is kept bit for bit */
    memcpy(&v[5], &(uint32_t){0x00000001u}, 4);
    for (size_t c = 0; c < sizeof ranks / sizeof ranks[0]; c++) {
        const char *path = tmp_path("round.npy");
        char msg[512];
        ck_assert_int_eq(scl__npy_write_f32(path, ranks[c], shapes[c], v, msg, sizeof msg), SCL_OK);
        int rank;
        int64_t shape[8];
        float *got = read_ok(path, &rank, shape);
        ck_assert_int_eq(rank, ranks[c]);
        size_t n = 1;
        for (int d = 0; d < 8; d++) {
            ck_assert_int_eq(shape[d], d < rank ? shapes[c][d] : 0);
            n *= d < rank ? (size_t)shapes[c][d] : 1;
        }
        ck_assert_int_eq(memcmp(got, v, n * 4), 0);
        free(got);
    }
}
END_TEST

/* The preamble numpy 1.24 writes, as printed by numpy: the dict, the spaces after it (room to
 * grow the first axis, then alignment) and the total preamble length. */
static const struct {
    int rank;
    int64_t shape[8];
    const char *dict;
    size_t total;
} numpy_cases[] = {
    {2, {2, 1000}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 1000), }", 128},
    {1, {5}, "{'descr': '<f4', 'fortran_order': False, 'shape': (5,), }", 128},
    {4,
     {1, 3, 224, 224},
     "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 3, 224, 224), }",
     128},
    {0, {0}, "{'descr': '<f4', 'fortran_order': False, 'shape': (), }", 128},
    {2, {2, 3}, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 128},
    {8,
     {0, 100000000000, 100000000000, 100000000000, 100000000000, 100000000000, 100000000000,
      100000000000},
     "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 100000000000, 100000000000, "
     "100000000000, 100000000000, 100000000000, 100000000000, 100000000000), }",
     192},
    /* exactly aligned before padding, where numpy still adds a full 64 spaces */
    {8,
     {0, 1000000000000, 1000000000000, 1000000000000, 1000000000000, 1000000000000, 1000000000000,
      1000000000000},
     "{'descr': '<f4', 'fortran_order': False, 'shape': (0, 1000000000000, 1000000000000, "
     "1000000000000, 1000000000000, 1000000000000, 1000000000000, 1000000000000), }",
     256},
};

START_TEST(test_numpy_identical) {
    for (size_t c = 0; c < sizeof numpy_cases / sizeof numpy_cases[0]; c++) {
        size_t n = 1;
        for (int d = 0; d < numpy_cases[c].rank; d++)
            n *= (size_t)numpy_cases[c].shape[d];
        float *v = malloc((n ? n : 1) * sizeof *v);
        ck_assert_ptr_nonnull(v);
        for (size_t i = 0; i < n; i++)
            v[i] = (float)(i % 97) * 0.125f - 3.0f;
        const char *path = tmp_path("numpy.npy");
        ck_assert_int_eq(
            scl__npy_write_f32(path, numpy_cases[c].rank, numpy_cases[c].shape, v, NULL, 0),
            SCL_OK);

        size_t total = numpy_cases[c].total, dlen = strlen(numpy_cases[c].dict);
        unsigned char *want = malloc(total + 4 * n);
        ck_assert_ptr_nonnull(want);
        memcpy(want, "\x93NUMPY\x01\x00", 8);
        want[8] = (unsigned char)((total - 10) & 0xff);
        want[9] = (unsigned char)((total - 10) >> 8);
        memcpy(want + 10, numpy_cases[c].dict, dlen);
        memset(want + 10 + dlen, ' ', total - 11 - dlen);
        want[total - 1] = '\n';
        for (size_t i = 0; i < n; i++)
            put_le32(want + total + 4 * i, bits_of(v[i]));

        size_t got_n;
        unsigned char *got = read_bytes(path, &got_n);
        ck_assert_uint_eq(got_n, total + 4 * n);
        ck_assert_msg(memcmp(got, want, got_n) == 0, "case %zu (%s) differs from numpy", c,
                      numpy_cases[c].dict);
        free(got);
        free(want);
        free(v);
    }

    /* numpy.save(np.arange(1, 7, dtype=np.float32).reshape(2, 3)): the data bytes themselves */
    const float v[6] = {1, 2, 3, 4, 5, 6};
    const int64_t shape[2] = {2, 3};
    const char *path = tmp_path("arange.npy");
    ck_assert_int_eq(scl__npy_write_f32(path, 2, shape, v, NULL, 0), SCL_OK);
    static const unsigned char data[24] = {0, 0, 0x80, 0x3f, 0, 0, 0,    0x40, 0, 0, 0x40, 0x40,
                                           0, 0, 0x80, 0x40, 0, 0, 0xa0, 0x40, 0, 0, 0xc0, 0x40};
    size_t got_n;
    unsigned char *got = read_bytes(path, &got_n);
    ck_assert_uint_eq(got_n, 152);
    ck_assert_int_eq(memcmp(got, "\x93NUMPY\x01\x00\x76\x00{'descr': '<f4'", 25), 0);
    ck_assert_int_eq(memcmp(got + 128, data, 24), 0);
    free(got);
}
END_TEST

START_TEST(test_writer_refuses) {
    char msg[256];
    const float v[4] = {0};
    const int64_t neg[2] = {2, -2}, ok[2] = {2, 2};
    ck_assert_int_eq(scl__npy_write_f32(tmp_path("w.npy"), 2, neg, v, msg, sizeof msg),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_ptr_nonnull(strstr(msg, "negative"));
    ck_assert_int_eq(scl__npy_write_f32(tmp_path("w.npy"), 9, ok, v, msg, sizeof msg),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl__npy_write_f32(tmp_path("w.npy"), 2, ok, NULL, msg, sizeof msg),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl__npy_write_f32(NULL, 2, ok, v, msg, sizeof msg),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl__npy_write_f32("/nonexistent-dir/w.npy", 2, ok, v, msg, sizeof msg),
                     SCL_ERROR_FILE_IO);
    ck_assert_ptr_nonnull(strstr(msg, "/nonexistent-dir/w.npy: cannot create"));
}
END_TEST

/* ---- layouts and versions ---------------------------------------------------------------- */

START_TEST(test_fortran_order) {
    /* x = np.arange(24).reshape(2, 3, 4) saved in Fortran order stores x[i][j][k] at
     * i + 2 * j + 6 * k; reading must give back C order, x[i][j][k] = 12 i + 4 j + k. */
    float f[24];
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 3; j++)
            for (int k = 0; k < 4; k++)
                f[i + 2 * j + 6 * k] = (float)(12 * i + 4 * j + k);
    unsigned char *b = le_bytes(f, 24);
    const char *path = write_npy("fortran.npy", 1,
                                 "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), "
                                 "}                   \n",
                                 b, 96);
    int rank;
    int64_t shape[8];
    float *got = read_ok(path, &rank, shape);
    ck_assert_int_eq(rank, 3);
    ck_assert_int_eq(shape[0], 2);
    ck_assert_int_eq(shape[1], 3);
    ck_assert_int_eq(shape[2], 4);
    for (int i = 0; i < 24; i++)
        ck_assert_msg(got[i] == (float)i, "element %d is %g", i, (double)got[i]);
    free(got);

    /* a 2-d Fortran array, the common case (np.asfortranarray of a (2, 3) matrix) */
    const float m[6] = {1, 4, 2, 5, 3, 6};
    unsigned char *mb = le_bytes(m, 6);
    path = write_npy("fortran2.npy", 1,
                     "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }\n", mb, 24);
    got = read_ok(path, &rank, shape);
    ck_assert_int_eq(rank, 2);
    for (int i = 0; i < 6; i++)
        ck_assert(got[i] == (float)(i + 1));
    free(got);

    /* Fortran order of a 1-d or empty array is no different from C order */
    path = write_npy("fortran1.npy", 1, "{'descr': '<f4', 'fortran_order': True, 'shape': (6,), }",
                     mb, 24);
    got = read_ok(path, &rank, shape);
    ck_assert(rank == 1 && got[1] == 4.0f);
    free(got);
    path = write_npy("fortran0.npy", 1,
                     "{'descr': '<f4', 'fortran_order': True, 'shape': (3, 0), }", NULL, 0);
    got = read_ok(path, &rank, shape);
    ck_assert(rank == 2 && shape[0] == 3 && shape[1] == 0);
    free(got);
    free(mb);
    free(b);
}
END_TEST

START_TEST(test_byte_orders_and_versions) {
    const float v[3] = {1.5f, -2.0f, 3.0e-40f};
    unsigned char le[12], be[12];
    for (int i = 0; i < 3; i++) {
        uint32_t u = bits_of(v[i]);
        put_le32(le + 4 * i, u);
        be[4 * i] = (unsigned char)(u >> 24);
        be[4 * i + 1] = (unsigned char)(u >> 16);
        be[4 * i + 2] = (unsigned char)(u >> 8);
        be[4 * i + 3] = (unsigned char)u;
    }
    unsigned char native[12];
    memcpy(native, v, 12);
    static const struct {
        int major;
        const char *header;
        int which; /* 0 le, 1 be, 2 native */
    } cases[] = {
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 0},
        {1, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }\n", 1},
        {1, "{'descr': '=f4', 'fortran_order': False, 'shape': (3,), }\n", 2},
        {1, "{'descr': '|f4', 'fortran_order': False, 'shape': (3,), }\n", 2},
        {1, "{'descr': 'f4', 'fortran_order': False, 'shape': (3,), }\n", 2},
        {2, "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }\n", 0},
        {3, "{'descr': '>f4', 'fortran_order': False, 'shape': (3,), }\n", 1},
        /* key order, quotes, spacing and a trailing-comma-free dict are all free in Python */
        {1, "{\"shape\":(3 ,),'fortran_order':False,'descr':\"<f4\"}", 0},
        {1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3L,), }\n", 0},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const unsigned char *bytes = cases[c].which == 0 ? le : cases[c].which == 1 ? be : native;
        const char *path = write_npy("order.npy", cases[c].major, cases[c].header, bytes, 12);
        int rank;
        int64_t shape[8];
        float *got = read_ok(path, &rank, shape);
        ck_assert_int_eq(rank, 1);
        ck_assert_int_eq(shape[0], 3);
        for (int i = 0; i < 3; i++)
            ck_assert_msg(bits_of(got[i]) == bits_of(v[i]), "case %zu element %d: %a", c, i,
                          (double)got[i]);
        free(got);
    }
}
END_TEST

/* ---- refusals ---------------------------------------------------------------------------- */

START_TEST(test_dtype_refused) {
    expect_bad_header(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }\n",
                      ": unsupported dtype '<f8' (float64); save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '>f8', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '>f8' (float64); save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '<f2', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '<f2' (float16); save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '<i8' (int64); save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '|u1' (uint8); save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '|b1', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '|b1' (bool); save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '<c8' (complex64); save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '|O', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '|O' (object); save it with x.astype(np.float32)");
    /* item sizes that overflowed a signed multiply (size * 8) get no name, not a wrapped one */
    expect_bad_header(
        1, "{'descr': '<f99999999999999999999', 'fortran_order': False, 'shape': (2,), }\n",
        "dtype '<f99999999999999999999'; save it with x.astype(np.float32)");
    expect_bad_header(
        1, "{'descr': '<f9223372036854775807', 'fortran_order': False, 'shape': (2,), }\n",
        "dtype '<f9223372036854775807'; save it with x.astype(np.float32)");
    expect_bad_header(
        1, "{'descr': '<i2305843009213693952', 'fortran_order': False, 'shape': (2,), }\n",
        "dtype '<i2305843009213693952'; save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '<u1025', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '<u1025'; save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': '<f16', 'fortran_order': False, 'shape': (2,), }\n",
                      "dtype '<f16' (float128); save it with x.astype(np.float32)");
    expect_bad_header(1, "{'descr': 'xyz', 'fortran_order': False, 'shape': (2,), }\n",
                      "unsupported dtype 'xyz'; save it with x.astype(np.float32)");
    expect_bad_header(1,
                      "{'descr': [('a', '<f4'), ('b', '<i4')], 'fortran_order': False, "
                      "'shape': (2,), }\n",
                      "structured dtypes (a list descr) are not supported");
}
END_TEST

START_TEST(test_bad_files) {
    const char *path = tmp_path("magic.npy");
    tu_write_bytes(path, "PK\x03\x04 this is a zip, not an npy", 30);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": not a .npy file (bad magic)");
    tu_write_bytes(path, "\x93NU", 3);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": not a .npy file (bad magic)");
    tu_write_bytes(path, "", 0);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": not a .npy file (bad magic)");
    tu_write_bytes(path, "\x93NUMPY\x01", 7);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": file ends inside the format version");
    tu_write_bytes(path, "\x93NUMPY\x01\x00\x40", 9);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": file ends inside the header length");
    tu_write_bytes(path, "\x93NUMPY\x04\x00\x10\x00{}", 12);
    expect_fail(path, SCL_ERROR_FILE_FORMAT,
                ": unsupported .npy format version 4.0 (shufflecl reads 1.0, 2.0 and 3.0)");
    tu_write_bytes(path, "\x93NUMPY\x01\x01\x10\x00{}", 12);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": unsupported .npy format version 1.1");
    tu_write_bytes(path, "\x93NUMPY\x01\x00\x40\x00{'descr'", 18);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": header length 64 runs past the end of the file");
    tu_write_bytes(path, "\x93NUMPY\x02\x00\xff\xff\xff\x7f{}", 14);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": header length 2147483647 is absurd");

    /* data: four bytes short, and four too many */
    const float v[6] = {1, 2, 3, 4, 5, 6};
    const char *h = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    path = write_npy("trunc.npy", 1, h, v, 20);
    expect_fail(path, SCL_ERROR_FILE_FORMAT,
                ": data truncated: expected 24 bytes of data for shape (2, 3), found 20");
    path = write_npy("trunc.npy", 1, h, NULL, 0);
    expect_fail(path, SCL_ERROR_FILE_FORMAT,
                ": data truncated: expected 24 bytes of data for shape (2, 3), found 0");
    const float w[7] = {1, 2, 3, 4, 5, 6, 7};
    path = write_npy("long.npy", 1, h, w, 28);
    expect_fail(path, SCL_ERROR_FILE_FORMAT,
                ": trailing bytes after the data: expected 24 bytes of data for shape (2, 3), "
                "found 28");
    /* a shape far beyond the file is reported without trying to allocate for it */
    path = write_npy("huge.npy", 1,
                     "{'descr': '<f4', 'fortran_order': False, 'shape': (100000000000,), }", v, 24);
    expect_fail(path, SCL_ERROR_FILE_FORMAT,
                ": data truncated: expected 400000000000 bytes of data for shape (100000000000,), "
                "found 24");
    path = write_npy(
        "overflow.npy", 1,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }", v, 24);
    expect_fail(path, SCL_ERROR_FILE_FORMAT, ": shape (4294967296, 4294967296) is too large");

    expect_fail(tmp_path("does-not-exist.npy"), SCL_ERROR_FILE_IO, ": cannot open");
    const char *dir = getenv("SCL_TEST_TMPDIR");
    expect_fail(dir && *dir ? dir : "/tmp", SCL_ERROR_FILE_IO, ": cannot read");

    int rank;
    int64_t shape[8];
    float *data;
    ck_assert_int_eq(scl__npy_read_f32(path, &rank, shape, NULL, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
    ck_assert_int_eq(scl__npy_read_f32(NULL, &rank, shape, &data, NULL, 0),
                     SCL_ERROR_INVALID_ARGUMENT);
}
END_TEST

START_TEST(test_bad_dicts) {
    expect_bad_header(1,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 1, 1, 1, 1, 1, 1, "
                      "1, 1), }\n",
                      ": rank 9 exceeds the limit of 8");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False}\n",
                      ": malformed header dict at header byte 41: the dict has no 'shape'");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}\n",
                      "at header byte 56: unexpected key 'x' (a .npy header has exactly descr, "
                      "fortran_order and shape)");
    expect_bad_header(1, "{'descr': '<f4', 'descr': '<f4', 'fortran_order': False, 'shape': (2,)}",
                      "at header byte 17: key 'descr' appears twice");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2), }\n",
                      "at header byte 50: (2) is an integer, not a tuple: a 1-d shape is written "
                      "(2,)");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, -3), }\n",
                      "at header byte 54: negative dimension in shape");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 'a'), }\n",
                      "expected an integer, found '''");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2 3), }\n",
                      "expected ',' or ')' in the shape tuple, found '3'");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }\n",
                      "at header byte 34: fortran_order is not True or False");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': Falsey, 'shape': (2,), }\n",
                      "expected a string, True, False or a tuple, found 'F'");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': [2], }\n",
                      "shape is not a tuple of integers");
    expect_bad_header(1, "{'descr': 4, 'fortran_order': False, 'shape': (2,), }\n",
                      "descr is not a string");
    expect_bad_header(1, "{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }\n",
                      "expected ',' or '}' after a value, found 'f'");
    expect_bad_header(1, "{'descr': '<f4\n', 'fortran_order': False, 'shape': (2,), }\n",
                      "at header byte 14: unterminated string");
    expect_bad_header(1, "{'descr': '<f\\x34', 'fortran_order': False, 'shape': (2,), }\n",
                      "escape sequences are not supported");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x\n",
                      "at header byte 58: expected only padding after the dict, found 'x'");
    expect_bad_header(1, "['descr', '<f4']\n", "at header byte 0: expected '{', found '['");
    expect_bad_header(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), ",
                      "expected a quoted key, found the end of the header");
    expect_bad_header(1, "{descr: '<f4'}", "at header byte 1: expected a quoted key, found 'd'");
    expect_bad_header(1, "{'descr' '<f4'}",
                      "at header byte 9: expected ':' after a key, found '''");
    expect_bad_header(1,
                      "{'descr': '<f4', 'fortran_order': False, 'shape': "
                      "(99999999999999999999,), }",
                      "dimension too large");
    expect_bad_header(1, "", "at header byte 0: expected '{', found the end of the header");
}
END_TEST

int main(void) {
    Suite *s = suite_create("npy");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, tu_remove_tmp);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_numpy_identical);
    tcase_add_test(tc, test_writer_refuses);
    tcase_add_test(tc, test_fortran_order);
    tcase_add_test(tc, test_byte_orders_and_versions);
    tcase_add_test(tc, test_dtype_refused);
    tcase_add_test(tc, test_bad_files);
    tcase_add_test(tc, test_bad_dicts);
    suite_add_tcase(s, tc);
    return tu_run(s);
}
