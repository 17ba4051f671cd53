/* desc.c: model descriptions: the fifteen named presets, the checks every description passes
 * before a network is built from it (each refusal names the field), and their one-line text. */
#include "net/model.h"

#include <stdarg.h>
#include <string.h>

const char *const scl__model_names[] = {"v2_x0_5",    "v2_x1_0",    "v2_x1_5",    "v2_x2_0",
                                        "v1_g1_x1_0", "v1_g2_x1_0", "v1_g3_x1_0", "v1_g4_x1_0",
                                        "v1_g8_x1_0", "v1_g3_x0_5", "v1_g3_x1_5", "v1_g3_x2_0",
                                        "v1_g8_x0_5", "v1_g8_x1_5", "v1_g8_x2_0", NULL};

typedef struct preset {
    const char *name;
    int groups;    /* 0: V2 (torchvision) */
    int widths[5]; /* C1, S2, S3, S4, C5 (C5 only for V2) */
} preset;

static const preset presets[] = {
    {"v2_x0_5", 0, {24, 48, 96, 192, 1024}},     {"v2_x1_0", 0, {24, 116, 232, 464, 1024}},
    {"v2_x1_5", 0, {24, 176, 352, 704, 1024}},   {"v2_x2_0", 0, {24, 244, 488, 976, 2048}},
    {"v1_g1_x1_0", 1, {24, 144, 288, 576, 0}},   {"v1_g2_x1_0", 2, {24, 200, 400, 800, 0}},
    {"v1_g3_x1_0", 3, {24, 240, 480, 960, 0}},   {"v1_g4_x1_0", 4, {24, 272, 544, 1088, 0}},
    {"v1_g8_x1_0", 8, {24, 384, 768, 1536, 0}},  {"v1_g3_x0_5", 3, {12, 120, 240, 480, 0}},
    {"v1_g3_x1_5", 3, {24, 360, 720, 1440, 0}},  {"v1_g3_x2_0", 3, {48, 480, 960, 1920, 0}},
    {"v1_g8_x0_5", 8, {16, 192, 384, 768, 0}},   {"v1_g8_x1_5", 8, {24, 576, 1152, 2304, 0}},
    {"v1_g8_x2_0", 8, {48, 768, 1536, 3072, 0}},
};

static void preset_desc(const preset *p, scl_model_desc *d) {
    memset(d, 0, sizeof *d);
    d->size = sizeof *d;
    d->family = p->groups ? SCL_FAMILY_V1 : SCL_FAMILY_V2;
    d->layout = p->groups ? SCL_LAYOUT_MEGVII_V1 : SCL_LAYOUT_TORCHVISION_V2;
    d->stem_width = p->widths[0];
    for (int s = 0; s < SCL_MODEL_STAGES; s++) {
        d->stage_widths[s] = p->widths[s + 1];
        d->stage_repeats[s] = s == 1 ? 8 : 4;
    }
    d->groups = p->groups;
    d->last_width = p->widths[4];
    d->classes = 1000;
    d->preprocess = p->groups ? SCL_PREPROCESS_MEGVII : SCL_PREPROCESS_TORCHVISION;
}

int scl__desc_preset(const char *name, scl_model_desc *out) {
    for (size_t i = 0; name && i < SCL_ARRAY_LEN(presets); i++)
        if (strcmp(presets[i].name, name) == 0) {
            preset_desc(&presets[i], out);
            return 1;
        }
    return 0;
}

int scl__desc_equal(const scl_model_desc *a, const scl_model_desc *b) {
    int same = a->family == b->family && a->layout == b->layout && a->stem_width == b->stem_width &&
               a->last_width == b->last_width && a->classes == b->classes &&
               a->preprocess == b->preprocess;
    /* V2 has no groups: 0 and 1 say the same */
    same = same && (a->family == SCL_FAMILY_V2 ? (a->groups <= 1) == (b->groups <= 1)
                                               : a->groups == b->groups);
    for (int s = 0; s < SCL_MODEL_STAGES; s++)
        same = same && a->stage_widths[s] == b->stage_widths[s] &&
               a->stage_repeats[s] == b->stage_repeats[s];
    return same;
}

const char *scl__desc_preset_name(const scl_model_desc *d) {
    for (size_t i = 0; i < SCL_ARRAY_LEN(presets); i++) {
        scl_model_desc p;
        preset_desc(&presets[i], &p);
        if (scl__desc_equal(&p, d)) return presets[i].name;
    }
    return NULL;
}

int scl__desc_in(const scl_model_desc *user, scl_model_desc *own) {
    if (!user || user->size < SCL__DESC_MIN_SIZE) return 0;
    memset(own, 0, sizeof *own);
    memcpy(own, user, user->size < sizeof *own ? user->size : sizeof *own);
    own->size = sizeof *own;
    return 1;
}

int scl__desc_out(const scl_model_desc *own, scl_model_desc *user) {
    if (!user || user->size < SCL__DESC_MIN_SIZE) return 0;
    size_t size = user->size;
    memcpy(user, own, size < sizeof *own ? size : sizeof *own);
    user->size = size;
    return 1;
}

static scl_status bad(char *msg, size_t cap, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t used = (size_t)snprintf(msg, cap, "scl_model_desc.");
    if (used < cap) vsnprintf(msg + used, cap - used, fmt, ap);
    va_end(ap);
    return SCL_ERROR_INVALID_ARGUMENT;
}

static int in_range(int v, int lo, int hi) {
    return v >= lo && v <= hi;
}

/* The V1 unit constraints: every grouped conv's input and output split into g groups. */
static scl_status check_v1(const scl_model_desc *d, char *msg, size_t cap) {
    int g = d->groups, cin = d->stem_width;
    if (!in_range(g, 1, SCL_MODEL_MAX_GROUPS))
        return bad(msg, cap, "groups = %d: ShuffleNet V1 needs 1 .. %d groups", g,
                   SCL_MODEL_MAX_GROUPS);
    if (d->last_width != 0)
        return bad(msg, cap, "last_width = %d: ShuffleNet V1 has no last conv (set 0)",
                   d->last_width);
    for (int s = 0; s < SCL_MODEL_STAGES; s++) {
        int c = d->stage_widths[s], mid = c / 4;
        if (mid < 1 || mid % g)
            return bad(
                msg, cap,
                "stage_widths[%d] = %d: its mid width C/4 = %d is not a positive multiple of "
                "groups = %d",
                s, c, mid, g);
        if (c <= cin || (c - cin) % g)
            return bad(
                msg, cap,
                "stage_widths[%d] = %d: the stride-2 unit's C - C_in = %d - %d must be positive "
                "and divisible by groups = %d",
                s, c, c, cin, g);
        if (s > 0 && cin % g)
            return bad(
                msg, cap,
                "stage_widths[%d] = %d: a grouped 1x1 conv reads it, so it must be divisible by "
                "groups = %d",
                s - 1, cin, g);
        if (c % g)
            return bad(msg, cap, "stage_widths[%d] = %d is not divisible by groups = %d", s, c, g);
        cin = c;
    }
    return SCL_OK;
}

static scl_status check_v2(const scl_model_desc *d, char *msg, size_t cap) {
    if (d->groups != 0 && d->groups != 1)
        return bad(msg, cap, "groups = %d: ShuffleNet V2 has no groups (set 0)", d->groups);
    if (!in_range(d->last_width, 1, SCL_MODEL_MAX_WIDTH))
        return bad(msg, cap, "last_width = %d is not in 1 .. %d", d->last_width,
                   SCL_MODEL_MAX_WIDTH);
    int cin = d->stem_width;
    for (int s = 0; s < SCL_MODEL_STAGES; s++) {
        int c = d->stage_widths[s];
        if (c % 2)
            return bad(msg, cap, "stage_widths[%d] = %d is odd: V2 splits every stage in halves", s,
                       c);
        if (d->layout == SCL_LAYOUT_MEGVII_V2 && c <= cin)
            return bad(
                msg, cap,
                "stage_widths[%d] = %d: Megvii V2's stride-2 unit needs more than the %d channels "
                "it reads (its main branch makes C - C_in)",
                s, c, cin);
        cin = c;
    }
    return SCL_OK;
}

scl_status scl__desc_check(const scl_model_desc *d, char *msg, size_t cap) {
    if (!in_range((int)d->layout, SCL_LAYOUT_TORCHVISION_V2, SCL_LAYOUT_MEGVII_V2))
        return bad(msg, cap, "layout = %d is not a scl_layout", (int)d->layout);
    scl_family want = d->layout == SCL_LAYOUT_MEGVII_V1 ? SCL_FAMILY_V1 : SCL_FAMILY_V2;
    if (d->family != want)
        return bad(msg, cap, "family = %d does not fit the layout (%s needs SCL_FAMILY_V%d)",
                   (int)d->family, scl__layout_name(d->layout), want == SCL_FAMILY_V1 ? 1 : 2);
    if (!in_range(d->stem_width, 1, SCL_MODEL_MAX_WIDTH))
        return bad(msg, cap, "stem_width = %d is not in 1 .. %d", d->stem_width,
                   SCL_MODEL_MAX_WIDTH);
    for (int s = 0; s < SCL_MODEL_STAGES; s++) {
        if (!in_range(d->stage_widths[s], 1, SCL_MODEL_MAX_WIDTH))
            return bad(msg, cap, "stage_widths[%d] = %d is not in 1 .. %d", s, d->stage_widths[s],
                       SCL_MODEL_MAX_WIDTH);
        if (!in_range(d->stage_repeats[s], 1, SCL_MODEL_MAX_REPEATS))
            return bad(msg, cap, "stage_repeats[%d] = %d is not in 1 .. %d", s, d->stage_repeats[s],
                       SCL_MODEL_MAX_REPEATS);
    }
    if (!in_range(d->classes, 1, SCL_MODEL_MAX_CLASSES))
        return bad(msg, cap, "classes = %d is not in 1 .. %d", d->classes, SCL_MODEL_MAX_CLASSES);
    if (d->preprocess != SCL_PREPROCESS_TORCHVISION && d->preprocess != SCL_PREPROCESS_MEGVII &&
        d->preprocess != SCL_PREPROCESS_UNKNOWN)
        return bad(msg, cap, "preprocess = %d is not a scl_preprocess", (int)d->preprocess);
    return d->family == SCL_FAMILY_V1 ? check_v1(d, msg, cap) : check_v2(d, msg, cap);
}

const char *scl__layout_name(scl_layout l) {
    switch (l) {
    case SCL_LAYOUT_TORCHVISION_V2:
        return "torchvision V2";
    case SCL_LAYOUT_MEGVII_V1:
        return "Megvii V1";
    case SCL_LAYOUT_MEGVII_V2:
        return "Megvii V2";
    }
    return "unknown layout";
}

const char *scl_model_desc_text(const scl_model_desc *d, char *buf, size_t cap) {
    if (!buf || !cap) return buf;
    scl_model_desc own;
    if (!scl__desc_in(d, &own)) {
        snprintf(buf, cap, "(no description)");
        return buf;
    }
    const char *name = scl__desc_preset_name(&own);
    size_t used = (size_t)snprintf(buf, cap, "%s%s%s: stem %d, stages", name ? name : "",
                                   name ? ", " : "", scl__layout_name(own.layout), own.stem_width);
    for (int s = 0; s < SCL_MODEL_STAGES && used < cap; s++)
        used += (size_t)snprintf(buf + used, cap - used, " %dx%d", own.stage_widths[s],
                                 own.stage_repeats[s]);
    if (used < cap && own.family == SCL_FAMILY_V1)
        used += (size_t)snprintf(buf + used, cap - used, ", groups %d", own.groups);
    if (used < cap && own.family == SCL_FAMILY_V2)
        used += (size_t)snprintf(buf + used, cap - used, ", last %d", own.last_width);
    if (used < cap) snprintf(buf + used, cap - used, ", %d classes", own.classes);
    return buf;
}

const char *scl__model_names_text(char *buf, size_t cap) {
    buf[0] = '\0';
    for (int i = 0; scl__model_names[i]; i++) {
        strncat(buf, i ? ", " : "", cap - strlen(buf) - 1);
        strncat(buf, scl__model_names[i], cap - strlen(buf) - 1);
    }
    return buf;
}

scl_status scl_model_preset(const char *name, scl_model_desc *out) {
    if (!out || out->size < SCL__DESC_MIN_SIZE)
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_model_preset: %s",
                         out ? "out->size is smaller "
                               "than any scl_model_desc (set it to sizeof(scl_model_desc))"
                             : "NULL output");
    scl_model_desc d;
    if (!scl__desc_preset(name, &d)) {
        char names[512];
        return scl__fail(NULL, SCL_ERROR_UNSUPPORTED_MODEL, "unknown model '%s'; known models: %s",
                         name ? name : "(null)", scl__model_names_text(names, sizeof names));
    }
    scl__desc_out(&d, out);
    return SCL_OK;
}
