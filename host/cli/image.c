/* image.c: decoding PNG / JPEG / PNM files to RGB8, and the torchvision-equivalent resize, centre
 * crop and normalisation that make a classifier input out of them. */
#include "image.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* jpeglib.h needs stdio.h and stddef.h first, and jerror.h (message codes) needs jpeglib.h. */
#include <jpeglib.h>

#include <jerror.h>
#include <png.h>

#define SCL_IMAGE_MAX_DIM 65535

#if defined(__GNUC__)
#define SCL_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define SCL_PRINTF(f, a)
#endif

/* ---- messages ------------------------------------------------------------------------------ */

SCL_PRINTF(4, 5)
static scl_status fail(char *msg, size_t cap, scl_status status, const char *fmt, ...) {
    if (msg && cap > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, cap, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---- whole-file reading -------------------------------------------------------------------- */

/* The decoders all work from memory: it makes magic detection, truncation checks and the
 * error paths (no FILE to close after a longjmp) simple, and classifier inputs are small. */
static scl_status read_whole_file(const char *path, unsigned char **data, size_t *size, char *msg,
                                  size_t cap) {
    FILE *f = fopen(path, "rb");
    if (!f) return fail(msg, cap, SCL_ERROR_FILE_IO, "%s: cannot open: %s", path, strerror(errno));

    size_t len = 0, alloc = 1 << 16;
    unsigned char *buf = malloc(alloc);
    if (!buf) {
        fclose(f);
        return fail(msg, cap, SCL_ERROR_OUT_OF_MEMORY, "%s: out of memory reading the file", path);
    }
    for (;;) {
        if (len == alloc) {
            if (alloc > SIZE_MAX / 2) {
                free(buf);
                fclose(f);
                return fail(msg, cap, SCL_ERROR_OUT_OF_MEMORY, "%s: file too large", path);
            }
            unsigned char *grown = realloc(buf, alloc * 2);
            if (!grown) {
                free(buf);
                fclose(f);
                return fail(msg, cap, SCL_ERROR_OUT_OF_MEMORY, "%s: out of memory reading the file",
                            path);
            }
            buf = grown;
            alloc *= 2;
        }
        size_t got = fread(buf + len, 1, alloc - len, f);
        len += got;
        if (got == 0) {
            /* A directory opens fine on Linux and fails here with EISDIR. */
            if (ferror(f)) {
                int err = errno;
                free(buf);
                fclose(f);
                return fail(msg, cap, SCL_ERROR_FILE_IO, "%s: cannot read: %s", path,
                            err ? strerror(err) : "read error");
            }
            break;
        }
    }
    fclose(f);
    *data = buf;
    *size = len;
    return SCL_OK;
}

static int dims_ok(unsigned long w, unsigned long h) {
    return w >= 1 && h >= 1 && w <= SCL_IMAGE_MAX_DIM && h <= SCL_IMAGE_MAX_DIM;
}

/* The pixel budget, checked on the header's dimensions before any pixel memory exists; the
 * product is 64-bit (each side is below 2^32), so it cannot wrap. */
static int over_budget(unsigned long w, unsigned long h, uint64_t budget) {
    return (uint64_t)w * (uint64_t)h > budget;
}

static scl_status budget_fail(char *msg, size_t cap, const char *path, unsigned long w,
                              unsigned long h, uint64_t budget) {
    return fail(msg, cap, SCL_ERROR_FILE_FORMAT,
                "%s: %lux%lu is %llu pixels, over the pixel budget of %llu (raise it with "
                "--max-pixels)",
                path, w, h, (unsigned long long)w * h, (unsigned long long)budget);
}

/* w and h are at most 65535, so this cannot overflow a 64-bit size_t; on 32 bits it can. */
static unsigned char *alloc_rgb(unsigned long w, unsigned long h) {
    if ((size_t)h > SIZE_MAX / 3 / (size_t)w) return NULL;
    return malloc((size_t)w * (size_t)h * 3);
}

/* ---- PNM (PPM / PGM) ----------------------------------------------------------------------- */

typedef struct pnm_cursor {
    const unsigned char *p, *end;
} pnm_cursor;

static int pnm_is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/* Whitespace and '#' comments (to the end of the line) separate header fields. */
static void pnm_skip(pnm_cursor *c) {
    while (c->p < c->end) {
        if (pnm_is_space(*c->p)) {
            c->p++;
        } else if (*c->p == '#') {
            while (c->p < c->end && *c->p != '\n' && *c->p != '\r')
                c->p++;
        } else {
            break;
        }
    }
}

/* A decimal number, saturated at ULONG_MAX / 10 so a silly header cannot overflow.
 * Returns 0 when there is no digit here. */
static int pnm_number(pnm_cursor *c, unsigned long *out) {
    pnm_skip(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') return 0;
    unsigned long v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
        if (v < ULONG_MAX / 100) v = v * 10 + (unsigned long)(*c->p - '0');
        c->p++;
    }
    *out = v;
    return 1;
}

/* maxval -> 255 with rounding; the identity for the common maxval 255. */
static unsigned char pnm_scale(unsigned long v, unsigned long maxval) {
    if (maxval == 255) return (unsigned char)v;
    return (unsigned char)((v * 255 + maxval / 2) / maxval);
}

static scl_status load_pnm(const char *path, const unsigned char *data, size_t size,
                           uint64_t budget, scl_image *out, char *msg, size_t cap) {
    pnm_cursor c = {data + 2, data + size};
    char kind = (char)data[1];
    int plain = kind == '2' || kind == '3';
    int channels = (kind == '3' || kind == '6') ? 3 : 1;
    unsigned long w, h, maxval;

    if (!pnm_number(&c, &w) || !pnm_number(&c, &h) || !pnm_number(&c, &maxval))
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: truncated or malformed PNM header", path);
    if (!dims_ok(w, h))
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: absurd image dimensions %lux%lu", path, w,
                    h);
    if (over_budget(w, h, budget)) return budget_fail(msg, cap, path, w, h, budget);
    if (maxval < 1 || maxval > 65535)
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: PNM maxval %lu is not in 1..65535", path,
                    maxval);

    size_t samples = (size_t)w * h * (size_t)channels;
    size_t bps = maxval > 255 ? 2 : 1;
    /* Size checks come before the allocation, so a tiny file claiming 65535x65535 is refused
     * without asking for 12 GiB. Plain samples take at least one byte each. */
    if (!plain) {
        /* Exactly one whitespace byte separates maxval from the raster: a comment or more
         * whitespace here would be pixel data. */
        if (c.p >= c.end || !pnm_is_space(*c.p))
            return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: truncated or malformed PNM header",
                        path);
        c.p++;
    }
    size_t avail = (size_t)(c.end - c.p);
    if (avail / bps < samples)
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT,
                    "%s: truncated PNM data (%zu bytes, at least %zu needed)", path, avail,
                    samples * bps);

    unsigned char *rgb = alloc_rgb(w, h);
    if (!rgb)
        return fail(msg, cap, SCL_ERROR_OUT_OF_MEMORY, "%s: out of memory for a %lux%lu image",
                    path, w, h);
    for (size_t i = 0; i < samples; i++) {
        unsigned long v;
        if (!plain) {
            v = bps == 2 ? ((unsigned long)c.p[2 * i] << 8) | c.p[2 * i + 1] : c.p[i];
        } else if (!pnm_number(&c, &v)) {
            free(rgb);
            return fail(msg, cap, SCL_ERROR_FILE_FORMAT,
                        "%s: truncated or malformed PNM data (sample %zu of %zu)", path, i,
                        samples);
        }
        if (v > maxval) {
            free(rgb);
            return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: PNM sample %lu exceeds maxval %lu",
                        path, v, maxval);
        }
        unsigned char b = pnm_scale(v, maxval);
        if (channels == 3) {
            rgb[i] = b;
        } else {
            rgb[3 * i] = rgb[3 * i + 1] = rgb[3 * i + 2] = b;
        }
    }
    out->width = (int)w;
    out->height = (int)h;
    out->rgb = rgb;
    return SCL_OK;
}

/* ---- PNG ----------------------------------------------------------------------------------- */

/* Everything the decoder changes after setjmp lives here, in the caller's frame, so none of it
 * is an indeterminate local after libpng longjmps back. */
typedef struct png_job {
    const unsigned char *data;
    size_t size, pos;
    char err[256];      /* libpng's message, when it failed */
    scl_status status;  /* set with a message of our own otherwise */
    unsigned char *rgb; /* the caller frees these on failure */
    png_bytep *rows;
    png_uint_32 width, height;
    uint64_t budget;
    int over_budget; /* the header's size is over the pixel budget */
} png_job;

static void png_job_error(png_structp png, png_const_charp text) {
    png_job *job = png_get_error_ptr(png);
    snprintf(job->err, sizeof job->err, "%s", text ? text : "unknown libpng error");
    png_longjmp(png, 1);
}

/* libpng's default handler prints; warnings (bad ancillary chunks and the like) do not stop a
 * decode, so they are dropped. */
static void png_job_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

static void png_job_read(png_structp png, png_bytep dst, png_size_t len) {
    png_job *job = png_get_io_ptr(png);
    if (len > job->size - job->pos) png_error(png, "unexpected end of file (truncated)");
    memcpy(dst, job->data + job->pos, len);
    job->pos += len;
}

/* Returns 0 on success; otherwise job->err (libpng's text) or job->status is set. */
static int png_decode(png_job *job) {
    png_structp png =
        png_create_read_struct(PNG_LIBPNG_VER_STRING, job, png_job_error, png_job_warning);
    if (!png) {
        job->status = SCL_ERROR_OUT_OF_MEMORY;
        return -1;
    }
    png_infop info = png_create_info_struct(png);
    if (!info) {
        png_destroy_read_struct(&png, NULL, NULL);
        job->status = SCL_ERROR_OUT_OF_MEMORY;
        return -1;
    }
    /* png and info are not modified after this point, so they survive the longjmp. */
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, job, png_job_read);
    /* libpng's own limit (1e6) would reject some sizes with its wording; ours is lower and
     * checked below with the same message as the other formats. */
    png_set_user_limits(png, 0x7fffffffu, 0x7fffffffu);
    png_read_info(png, info);

    int bit_depth, color_type, interlace;
    png_get_IHDR(png, info, &job->width, &job->height, &bit_depth, &color_type, &interlace, NULL,
                 NULL);
    if (!dims_ok(job->width, job->height) || over_budget(job->width, job->height, job->budget)) {
        job->over_budget = dims_ok(job->width, job->height);
        png_destroy_read_struct(&png, &info, NULL);
        job->status = SCL_ERROR_FILE_FORMAT;
        return -1;
    }

    if (color_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    /* High byte, as PIL's RGB;16B unpacker, so 16-bit photos give the reference tensor. */
    if (bit_depth == 16) png_set_strip_16(png);
    /* Alpha (also the one the palette expansion makes of a tRNS chunk) is dropped rather than
     * composited, as PIL's convert("RGB") does. */
    if ((color_type & PNG_COLOR_MASK_ALPHA) || png_get_valid(png, info, PNG_INFO_tRNS))
        png_set_strip_alpha(png);
    if (!(color_type & PNG_COLOR_MASK_COLOR)) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);

    if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
        png_get_rowbytes(png, info) != (size_t)job->width * 3)
        png_error(png, "unexpected pixel layout after conversion to RGB8");

    job->rgb = alloc_rgb(job->width, job->height);
    job->rows = malloc(sizeof(png_bytep) * job->height);
    if (!job->rgb || !job->rows) {
        png_destroy_read_struct(&png, &info, NULL);
        job->status = SCL_ERROR_OUT_OF_MEMORY;
        return -1;
    }
    for (png_uint_32 y = 0; y < job->height; y++)
        job->rows[y] = job->rgb + (size_t)y * job->width * 3;
    png_read_image(png, job->rows);
    /* Reads up to IEND, so a file cut anywhere (even after the pixels) is reported. */
    png_read_end(png, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

static scl_status load_png(const char *path, const unsigned char *data, size_t size,
                           uint64_t budget, scl_image *out, char *msg, size_t cap) {
    png_job job;
    memset(&job, 0, sizeof job);
    job.data = data;
    job.size = size;
    job.budget = budget;
    job.status = SCL_OK;

    int rc = png_decode(&job);
    free(job.rows);
    if (rc == 0) {
        out->width = (int)job.width;
        out->height = (int)job.height;
        out->rgb = job.rgb;
        return SCL_OK;
    }
    free(job.rgb);
    if (job.err[0])
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: corrupt PNG: %s", path, job.err);
    if (job.over_budget) return budget_fail(msg, cap, path, job.width, job.height, budget);
    if (job.status == SCL_ERROR_FILE_FORMAT)
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: absurd image dimensions %lux%lu", path,
                    (unsigned long)job.width, (unsigned long)job.height);
    return fail(msg, cap, SCL_ERROR_OUT_OF_MEMORY, "%s: out of memory decoding the PNG", path);
}

/* ---- JPEG ---------------------------------------------------------------------------------- */

/* As for PNG: all state that changes after setjmp is in this struct, in the caller's frame. */
typedef struct jpeg_job {
    struct jpeg_error_mgr pub; /* first, so cinfo->err converts back to the job */
    struct jpeg_decompress_struct cinfo;
    jmp_buf jump;
    char err[JMSG_LENGTH_MAX];
    scl_status status;
    unsigned char *rgb; /* the caller frees these on failure */
    unsigned char *row;
    unsigned width, height;
    uint64_t budget;
    int over_budget; /* the header's size is over the pixel budget */
    int truncated;   /* libjpeg warned of a premature end of data */
} jpeg_job;

static void jpeg_job_error_exit(j_common_ptr cinfo) {
    jpeg_job *job = (jpeg_job *)cinfo->err;
    (*cinfo->err->format_message)(cinfo, job->err);
    longjmp(job->jump, 1);
}

/* libjpeg reports a truncated file only as a warning and pads the image with gray; PIL refuses
 * such files, and so do we: the end of the file (JWRN_JPEG_EOF) or a marker where scan data
 * should be (JWRN_HIT_MARKER: the data stops early, e.g. a cut file closed with an EOI). Other
 * warnings (stray bytes between markers, a damaged Huffman code) leave a usable image, as in
 * PIL, and are ignored. Nothing is ever printed. */
static void jpeg_job_emit(j_common_ptr cinfo, int level) {
    int code = cinfo->err->msg_code;
    if (level < 0 && (code == JWRN_JPEG_EOF || code == JWRN_HIT_MARKER)) {
        ((jpeg_job *)cinfo->err)->truncated = 1;
        jpeg_job_error_exit(cinfo);
    }
}

static void jpeg_job_output(j_common_ptr cinfo) {
    (void)cinfo;
}

/* CMYK -> RGB per channel: the product of the two "light" amounts, rounded. */
static unsigned char cmyk_mix(unsigned a, unsigned b) {
    return (unsigned char)((a * b + 127) / 255);
}

/* One decoded row of comps (1 gray, 3 RGB, 4 CMYK) components a pixel to RGB. */
static void jpeg_row_to_rgb(const unsigned char *src, int comps, int inverted, unsigned width,
                            unsigned char *dst) {
    for (unsigned x = 0; x < width; x++) {
        if (comps == 3) {
            dst[3 * x] = src[3 * x];
            dst[3 * x + 1] = src[3 * x + 1];
            dst[3 * x + 2] = src[3 * x + 2];
        } else if (comps == 1) {
            dst[3 * x] = dst[3 * x + 1] = dst[3 * x + 2] = src[x];
        } else {
            unsigned k = inverted ? src[4 * x + 3] : 255u - src[4 * x + 3];
            for (unsigned ch = 0; ch < 3; ch++) {
                unsigned v = inverted ? src[4 * x + ch] : 255u - src[4 * x + ch];
                dst[3 * x + ch] = cmyk_mix(v, k);
            }
        }
    }
}

/* Returns 0 on success; otherwise job->err (libjpeg's text) or job->status is set. */
static int jpeg_decode(jpeg_job *job, const unsigned char *data, size_t size) {
    struct jpeg_decompress_struct *ci = &job->cinfo;
    ci->err = jpeg_std_error(&job->pub);
    job->pub.error_exit = jpeg_job_error_exit;
    job->pub.emit_message = jpeg_job_emit;
    job->pub.output_message = jpeg_job_output;
    if (setjmp(job->jump)) {
        /* Safe at any stage, even before jpeg_create_decompress finished: it frees the pools
         * libjpeg allocated and nothing else. */
        jpeg_destroy_decompress(ci);
        return -1;
    }
    jpeg_create_decompress(ci);
#if SIZE_MAX > ULONG_MAX
    if (size > ULONG_MAX) {
        snprintf(job->err, sizeof job->err, "file too large for libjpeg");
        jpeg_destroy_decompress(ci);
        return -1;
    }
#endif
    jpeg_mem_src(ci, data, (unsigned long)size);
    jpeg_read_header(ci, TRUE);
    job->width = ci->image_width;
    job->height = ci->image_height;
    /* before jpeg_start_decompress, which allocates by the header's size. Decoding at a reduced
     * DCT scale (scale_num / scale_denom) would be faster for big photos, but its pixels are not
     * PIL's full-size decode, and classify promises torchvision's tensor bit for bit: so images
     * within the budget are decoded whole and those above it refused. */
    if (!dims_ok(job->width, job->height) || over_budget(job->width, job->height, job->budget)) {
        job->over_budget = dims_ok(job->width, job->height);
        jpeg_destroy_decompress(ci);
        job->status = SCL_ERROR_FILE_FORMAT;
        return -1;
    }
    int want; /* components we ask libjpeg for */
    switch (ci->jpeg_color_space) {
    case JCS_GRAYSCALE:
        /* Replicated by hand: gray -> RGB is a libjpeg-turbo extension. */
        ci->out_color_space = JCS_GRAYSCALE;
        want = 1;
        break;
    case JCS_CMYK:
    case JCS_YCCK:
        ci->out_color_space = JCS_CMYK;
        want = 4;
        break;
    default:
        ci->out_color_space = JCS_RGB;
        want = 3;
        break;
    }
    jpeg_start_decompress(ci);
    int comps = ci->output_components;
    if (comps != want || ci->output_width != job->width || ci->output_height != job->height) {
        snprintf(job->err, sizeof job->err, "unexpected output layout (%d components)", comps);
        jpeg_destroy_decompress(ci);
        return -1;
    }
    job->rgb = alloc_rgb(job->width, job->height);
    job->row = malloc((size_t)job->width * (size_t)comps);
    if (!job->rgb || !job->row) {
        jpeg_destroy_decompress(ci);
        job->status = SCL_ERROR_OUT_OF_MEMORY;
        return -1;
    }
    /* Photoshop writes Adobe-marked CMYK inverted (255 = no ink); without the marker the values
     * are ink amounts. */
    int inverted = ci->saw_Adobe_marker;
    while (ci->output_scanline < ci->output_height) {
        size_t y = ci->output_scanline;
        JSAMPROW r = job->row;
        if (jpeg_read_scanlines(ci, &r, 1) != 1) {
            snprintf(job->err, sizeof job->err, "decoder stalled at row %zu", y);
            jpeg_destroy_decompress(ci);
            return -1;
        }
        jpeg_row_to_rgb(job->row, comps, inverted, job->width, job->rgb + y * job->width * 3);
    }
    /* Reads on to EOI, so a file cut after the last row is still reported as truncated. */
    jpeg_finish_decompress(ci);
    jpeg_destroy_decompress(ci);
    return 0;
}

static scl_status load_jpeg(const char *path, const unsigned char *data, size_t size,
                            uint64_t budget, scl_image *out, char *msg, size_t cap) {
    jpeg_job job;
    memset(&job, 0, sizeof job);
    job.status = SCL_OK;
    job.budget = budget;

    int rc = jpeg_decode(&job, data, size);
    free(job.row);
    if (rc == 0) {
        out->width = (int)job.width;
        out->height = (int)job.height;
        out->rgb = job.rgb;
        return SCL_OK;
    }
    free(job.rgb);
    if (job.truncated)
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: truncated JPEG: %s", path, job.err);
    if (job.err[0])
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: corrupt JPEG: %s", path, job.err);
    if (job.over_budget) return budget_fail(msg, cap, path, job.width, job.height, budget);
    if (job.status == SCL_ERROR_FILE_FORMAT)
        return fail(msg, cap, SCL_ERROR_FILE_FORMAT, "%s: absurd image dimensions %ux%u", path,
                    job.width, job.height);
    return fail(msg, cap, SCL_ERROR_OUT_OF_MEMORY, "%s: out of memory decoding the JPEG", path);
}

/* ---- loading ------------------------------------------------------------------------------- */

scl_status scl_image_load(const char *path, scl_image *out, char *msg, size_t msgcap) {
    return scl_image_load_limited(path, 0, out, msg, msgcap);
}

scl_status scl_image_load_limited(const char *path, uint64_t max_pixels, scl_image *out, char *msg,
                                  size_t msgcap) {
    uint64_t budget = max_pixels ? max_pixels : SCL_IMAGE_DEFAULT_MAX_PIXELS;
    if (msg && msgcap > 0) msg[0] = '\0';
    if (out) {
        out->width = out->height = 0;
        out->rgb = NULL;
    }
    if (!path || !out)
        return fail(msg, msgcap, SCL_ERROR_INVALID_ARGUMENT,
                    "scl_image_load: path and out must not be NULL");

    unsigned char *data = NULL;
    size_t size = 0;
    scl_status st = read_whole_file(path, &data, &size, msg, msgcap);
    if (st != SCL_OK) return st;

    static const unsigned char png_magic[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (size == 0) {
        st = fail(msg, msgcap, SCL_ERROR_FILE_FORMAT, "%s: empty file", path);
    } else if (size >= 8 && memcmp(data, png_magic, 8) == 0) {
        st = load_png(path, data, size, budget, out, msg, msgcap);
    } else if (size >= 3 && data[0] == 0xff && data[1] == 0xd8 && data[2] == 0xff) {
        st = load_jpeg(path, data, size, budget, out, msg, msgcap);
    } else if (size >= 3 && data[0] == 'P' &&
               (data[1] == '2' || data[1] == '3' || data[1] == '5' || data[1] == '6') &&
               (pnm_is_space(data[2]) || data[2] == '#')) {
        st = load_pnm(path, data, size, budget, out, msg, msgcap);
    } else {
        st = fail(msg, msgcap, SCL_ERROR_FILE_FORMAT, "%s: not a PNG, JPEG or PPM image", path);
    }
    free(data);
    return st;
}

void scl_image_free(scl_image *img) {
    if (!img) return;
    free(img->rgb);
    img->rgb = NULL;
    img->width = img->height = 0;
}

/* ---- resampling ---------------------------------------------------------------------------- */

/* PIL's 8-bit resampler: weights in fixed point with 22 fractional bits, which leaves room for
 * 255 * (sum of weights) plus rounding in an int. Matching it bit for bit is what makes our
 * tensors equal to torchvision's, not merely close. */
#define SCL_RS_BITS 22

/* The taps of a run of output positions [first, first + count) of one axis. */
typedef struct scl_taps {
    int ksize;  /* stride of `weight` */
    int *start; /* first input index of each output */
    int *len;   /* number of taps of each output */
    int32_t *weight;
} scl_taps;

static void taps_free(scl_taps *t) {
    free(t->start);
    free(t->len);
    free(t->weight);
}

static double triangle(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

/* The triangle (bilinear) filter of an in_size -> out_size resize, for outputs first..first+
 * count-1. When downscaling, the filter is stretched by the scale factor so that every input
 * pixel contributes (antialiasing); when upscaling it is the plain 2-tap linear interpolation.
 * The arithmetic (doubles, truncating casts, normalisation, then rounding to fixed point) follows
 * PIL's so the rounding of every weight agrees with it. */
static scl_status taps_make(int in_size, int out_size, int first, int count, scl_taps *t) {
    double scale = (double)in_size / out_size;
    double fscale = scale < 1.0 ? 1.0 : scale;
    double support = fscale;   /* the triangle's support is 1 */
    double inv = 1.0 / fscale; /* multiplied, not divided by, as PIL does: same last bits */
    double ksize_d = ceil(support) * 2 + 1;
    memset(t, 0, sizeof *t);
    if (ksize_d > (double)(INT_MAX / 4) || (size_t)count > SIZE_MAX / (size_t)ksize_d / 8)
        return SCL_ERROR_OUT_OF_MEMORY;
    t->ksize = (int)ksize_d;
    t->start = malloc(sizeof(int) * (size_t)count);
    t->len = malloc(sizeof(int) * (size_t)count);
    t->weight = malloc(sizeof(int32_t) * (size_t)count * (size_t)t->ksize);
    double *w = malloc(sizeof(double) * (size_t)t->ksize);
    if (!t->start || !t->len || !t->weight || !w) {
        free(w);
        taps_free(t);
        memset(t, 0, sizeof *t);
        return SCL_ERROR_OUT_OF_MEMORY;
    }
    for (int i = 0; i < count; i++) {
        double center = (first + i + 0.5) * scale;
        int lo = (int)(center - support + 0.5);
        int hi = (int)(center + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in_size) hi = in_size;
        int n = hi - lo;
        if (n > t->ksize) n = t->ksize;
        if (n < 0) n = 0;
        double sum = 0.0;
        for (int k = 0; k < n; k++) {
            w[k] = triangle((k + lo - center + 0.5) * inv);
            sum += w[k];
        }
        int32_t *dst = t->weight + (size_t)i * (size_t)t->ksize;
        for (int k = 0; k < n; k++) {
            double v = sum != 0.0 ? w[k] / sum : w[k];
            v *= (double)(1 << SCL_RS_BITS);
            dst[k] = (int32_t)(v < 0 ? v - 0.5 : v + 0.5);
        }
        t->start[i] = lo;
        t->len[i] = n;
    }
    free(w);
    return SCL_OK;
}

static unsigned char rs_clip(int32_t acc) {
    int32_t v = acc >> SCL_RS_BITS;
    return (unsigned char)(v < 0 ? 0 : v > 255 ? 255 : v);
}

/* Python's round((size - crop) / 2): halves go to the even neighbour (231 / 2 -> 116). */
static int center_offset(int size, int crop) {
    int d = size - crop;
    int half = d / 2;
    if (d % 2 != 0 && half % 2 != 0) half++;
    return half;
}

scl_status scl_image_preprocess(const scl_image *img, int resize, int crop, scl_preprocess mode,
                                float *chw, char *msg, size_t msgcap) {
    if (msg && msgcap > 0) msg[0] = '\0';
    if (!img || !img->rgb || !chw || img->width < 1 || img->height < 1)
        return fail(msg, msgcap, SCL_ERROR_INVALID_ARGUMENT,
                    "scl_image_preprocess: NULL or empty image or output");
    if (resize < 1 || crop < 1 || crop > resize)
        return fail(msg, msgcap, SCL_ERROR_INVALID_ARGUMENT,
                    "scl_image_preprocess: need 1 <= crop <= resize (crop %d, resize %d)", crop,
                    resize);
    if (mode != SCL_PREPROCESS_TORCHVISION && mode != SCL_PREPROCESS_MEGVII)
        return fail(msg, msgcap, SCL_ERROR_INVALID_ARGUMENT,
                    "scl_image_preprocess: unknown mode %d", (int)mode);

    /* torchvision: the short side becomes `resize`, the long one int(resize * long / short);
     * integer division gives the same floor without floating-point doubt. */
    int w = img->width, h = img->height;
    int64_t out_w, out_h;
    if (w <= h) {
        out_w = resize;
        out_h = (int64_t)resize * h / w;
    } else {
        out_h = resize;
        out_w = (int64_t)resize * w / h;
    }
    if (out_w > INT_MAX / 2 || out_h > INT_MAX / 2)
        return fail(msg, msgcap, SCL_ERROR_INVALID_ARGUMENT,
                    "scl_image_preprocess: resizing %dx%d to short side %d is too large", w, h,
                    resize);
    int left = center_offset((int)out_w, crop);
    int top = center_offset((int)out_h, crop);

    /* Only the crop window is computed: columns left.. and rows top.. of the resized image,
     * which needs only the input rows those output rows read. PIL runs the same two passes over
     * the whole image; each output pixel depends on nothing else, so the values agree. A
     * same-size axis gets a single weight of exactly 1 per output, i.e. a copy, as PIL's
     * skipped pass. */
    scl_taps tx, ty;
    if (taps_make(w, (int)out_w, left, crop, &tx) != SCL_OK)
        return fail(msg, msgcap, SCL_ERROR_OUT_OF_MEMORY, "scl_image_preprocess: out of memory");
    if (taps_make(h, (int)out_h, top, crop, &ty) != SCL_OK) {
        taps_free(&tx);
        return fail(msg, msgcap, SCL_ERROR_OUT_OF_MEMORY, "scl_image_preprocess: out of memory");
    }
    int row0 = ty.start[0];
    int row1 = ty.start[crop - 1] + ty.len[crop - 1]; /* starts never decrease */
    if (row1 <= row0) row1 = row0 + 1;
    size_t rows = (size_t)(row1 - row0);
    unsigned char *mid = malloc(rows * (size_t)crop * 3); /* horizontal pass, 8-bit as PIL */
    unsigned char *fin = malloc((size_t)crop * (size_t)crop * 3);
    if (!mid || !fin) {
        free(mid);
        free(fin);
        taps_free(&tx);
        taps_free(&ty);
        return fail(msg, msgcap, SCL_ERROR_OUT_OF_MEMORY, "scl_image_preprocess: out of memory");
    }

    const int32_t half = 1 << (SCL_RS_BITS - 1);
    for (size_t r = 0; r < rows; r++) {
        const unsigned char *src = img->rgb + ((size_t)row0 + r) * (size_t)w * 3;
        unsigned char *dst = mid + r * (size_t)crop * 3;
        for (int x = 0; x < crop; x++) {
            const int32_t *k = tx.weight + (size_t)x * (size_t)tx.ksize;
            const unsigned char *s = src + (size_t)tx.start[x] * 3;
            int32_t a0 = half, a1 = half, a2 = half;
            for (int i = 0; i < tx.len[x]; i++) {
                a0 += s[3 * i] * k[i];
                a1 += s[3 * i + 1] * k[i];
                a2 += s[3 * i + 2] * k[i];
            }
            dst[3 * x] = rs_clip(a0);
            dst[3 * x + 1] = rs_clip(a1);
            dst[3 * x + 2] = rs_clip(a2);
        }
    }
    for (int y = 0; y < crop; y++) {
        const int32_t *k = ty.weight + (size_t)y * (size_t)ty.ksize;
        const unsigned char *src = mid + (size_t)(ty.start[y] - row0) * (size_t)crop * 3;
        unsigned char *dst = fin + (size_t)y * (size_t)crop * 3;
        size_t stride = (size_t)crop * 3;
        for (size_t x = 0; x < stride; x++) {
            int32_t a = half;
            for (int i = 0; i < ty.len[y]; i++)
                a += src[(size_t)i * stride + x] * k[i];
            dst[x] = rs_clip(a);
        }
    }

    /* One table per channel: the same float expression as torchvision's ToTensor (x / 255) then
     * Normalize ((x - mean) / std), so equal bytes give equal floats. */
    static const float mean[3] = {0.485f, 0.456f, 0.406f};
    static const float stdv[3] = {0.229f, 0.224f, 0.225f};
    float lut[3][256];
    for (int c = 0; c < 3; c++) {
        for (int v = 0; v < 256; v++) {
            lut[c][v] = mode == SCL_PREPROCESS_TORCHVISION ? ((float)v / 255.0f - mean[c]) / stdv[c]
                                                           : (float)v;
        }
    }
    size_t plane = (size_t)crop * (size_t)crop;
    for (int c = 0; c < 3; c++) {
        /* megvii's networks were trained on OpenCV's BGR: plane 0 is blue. */
        int src_c = mode == SCL_PREPROCESS_MEGVII ? 2 - c : c;
        float *dst = chw + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++)
            dst[i] = lut[src_c][fin[3 * i + (size_t)src_c]];
    }

    free(mid);
    free(fin);
    taps_free(&tx);
    taps_free(&ty);
    return SCL_OK;
}
