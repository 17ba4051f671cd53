/* device.c: lists OpenCL platforms and devices, and resolves a device specification
 * ("P:D", a type, a name substring, or the default) to one device. */
#include "core/internal.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define SCL_MAX_PLATFORMS 16
#define SCL_MAX_DEVICES 64

static void info_string(cl_device_id d, cl_device_info what, char *dst, size_t cap) {
    dst[0] = '\0';
    if (clGetDeviceInfo(d, what, cap, dst, NULL) != CL_SUCCESS) snprintf(dst, cap, "?");
    dst[cap - 1] = '\0';
}

scl_status scl__device_query(cl_platform_id p, cl_device_id d, int pi, int di,
                             scl_device_info *info) {
    memset(info, 0, sizeof *info);
    info->size = sizeof *info;
    info->platform_index = pi;
    info->device_index = di;
    if (clGetPlatformInfo(p, CL_PLATFORM_NAME, sizeof info->platform_name, info->platform_name,
                          NULL) != CL_SUCCESS)
        snprintf(info->platform_name, sizeof info->platform_name, "?");
    if (clGetPlatformInfo(p, CL_PLATFORM_VERSION, sizeof info->platform_version,
                          info->platform_version, NULL) != CL_SUCCESS)
        snprintf(info->platform_version, sizeof info->platform_version, "?");
    info_string(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    info_string(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    info_string(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    info_string(d, CL_DEVICE_VERSION, info->device_version, sizeof info->device_version);
    info_string(d, CL_DEVICE_OPENCL_C_VERSION, info->opencl_c_version,
                sizeof info->opencl_c_version);

    cl_device_type type = 0;
    cl_uint cu = 0, clock = 0;
    cl_ulong gmem = 0, lmem = 0, maxalloc = 0;
    size_t wg = 0;
    cl_bool unified = CL_FALSE;
    cl_int e = clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    e |= clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    e |= clGetDeviceInfo(d, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof clock, &clock, NULL);
    e |= clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
    e |= clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
    e |= clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
    e |= clGetDeviceInfo(d, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL);
    cl_uint nfw = 0;
    e |= clGetDeviceInfo(d, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof nfw, &nfw, NULL);
    /* Deprecated in 2.0 but still answered by every driver; only a hint for mapped I/O. */
    if (clGetDeviceInfo(d, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified, NULL) !=
        CL_SUCCESS)
        unified = (type & CL_DEVICE_TYPE_CPU) ? CL_TRUE : CL_FALSE;
    if (e != CL_SUCCESS)
        return scl__fail(NULL, (scl_status)CL_INVALID_DEVICE,
                         "clGetDeviceInfo failed for device %d:%d", pi, di);
    info->type = (type & CL_DEVICE_TYPE_GPU)           ? SCL_DEVICE_GPU
                 : (type & CL_DEVICE_TYPE_CPU)         ? SCL_DEVICE_CPU
                 : (type & CL_DEVICE_TYPE_ACCELERATOR) ? SCL_DEVICE_ACCELERATOR
                                                       : SCL_DEVICE_OTHER;
    info->compute_units = cu;
    info->clock_mhz = clock;
    info->global_mem_bytes = gmem;
    info->local_mem_bytes = lmem;
    info->max_alloc_bytes = maxalloc;
    info->max_work_group_size = wg;
    info->host_unified_memory = unified == CL_TRUE;
    info->native_float_width = nfw;

    size_t extlen = 0;
    if (clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, 0, NULL, &extlen) == CL_SUCCESS && extlen) {
        char *ext = malloc(extlen + 1);
        if (ext && clGetDeviceInfo(d, CL_DEVICE_EXTENSIONS, extlen, ext, NULL) == CL_SUCCESS) {
            ext[extlen] = '\0';
            info->fp16 = strstr(ext, "cl_khr_fp16") != NULL;
            info->fp64 = strstr(ext, "cl_khr_fp64") != NULL;
        }
        free(ext);
    }
    cl_device_fp_config dbl = 0;
    if (!info->fp64 &&
        clGetDeviceInfo(d, CL_DEVICE_DOUBLE_FP_CONFIG, sizeof dbl, &dbl, NULL) == CL_SUCCESS && dbl)
        info->fp64 = 1;
    return SCL_OK;
}

/* ICD loaders and drivers (ocl-icd 2.3.1, PoCL 3.1) initialise their platforms lazily on the
 * first clGetPlatformIDs and not thread-safely: 2 to 8 threads enumerating at once as a
 * process's first OpenCL use crashed or found no device. Every enumeration and every context
 * creation in the library goes through this one lock, so the header's promise (separate
 * contexts from separate threads) holds on such stacks. */
static pthread_mutex_t enum_lock = PTHREAD_MUTEX_INITIALIZER;

void scl__enum_lock(void) {
    pthread_mutex_lock(&enum_lock);
}
void scl__enum_unlock(void) {
    pthread_mutex_unlock(&enum_lock);
}

/* Walks every device; visit returns non-zero to stop. */
typedef int (*device_visit)(cl_platform_id p, cl_device_id d, const scl_device_info *info,
                            void *user);

static scl_status for_each_device_locked(device_visit visit, void *user, int *total) {
    cl_platform_id plats[SCL_MAX_PLATFORMS];
    cl_uint np = 0;
    *total = 0;
    cl_int e = clGetPlatformIDs(SCL_MAX_PLATFORMS, plats, &np);
    /* no platform is no device; any other failure is an error (np is then 0 too) */
    if (e == -1001 /* CL_PLATFORM_NOT_FOUND_KHR: no ICD installed */ ||
        (e == CL_SUCCESS && np == 0))
        return SCL_OK;
    if (e != CL_SUCCESS) return scl__cl_fail(NULL, e, "clGetPlatformIDs");
    if (np > SCL_MAX_PLATFORMS) np = SCL_MAX_PLATFORMS;
    for (cl_uint pi = 0; pi < np; pi++) {
        cl_device_id devs[SCL_MAX_DEVICES];
        cl_uint nd = 0;
        e = clGetDeviceIDs(plats[pi], CL_DEVICE_TYPE_ALL, SCL_MAX_DEVICES, devs, &nd);
        if (e == CL_DEVICE_NOT_FOUND || (e == CL_SUCCESS && nd == 0)) continue;
        if (e != CL_SUCCESS) return scl__cl_fail(NULL, e, "clGetDeviceIDs");
        if (nd > SCL_MAX_DEVICES) nd = SCL_MAX_DEVICES;
        for (cl_uint di = 0; di < nd; di++) {
            scl_device_info info = {.size = sizeof(scl_device_info)};
            scl_status st = scl__device_query(plats[pi], devs[di], (int)pi, (int)di, &info);
            if (st != SCL_OK) return st;
            (*total)++;
            if (visit && visit(plats[pi], devs[di], &info, user)) return SCL_OK;
        }
    }
    return SCL_OK;
}

static scl_status for_each_device(device_visit visit, void *user, int *total) {
    scl__enum_lock();
    scl_status st = for_each_device_locked(visit, user, total);
    scl__enum_unlock();
    return st;
}

typedef struct list_state {
    unsigned char *out; /* entries of `stride` bytes, the caller's sizeof(scl_device_info) */
    size_t stride;
    int capacity, n;
} list_state;

static int list_visit(cl_platform_id p, cl_device_id d, const scl_device_info *info, void *user) {
    (void)p, (void)d;
    list_state *s = user;
    if (s->n < s->capacity)
        scl__sized_out(NULL, "scl_device_list", "scl_device_info",
                       s->out + (size_t)s->n * s->stride, info, sizeof *info, sizeof *info);
    s->n++;
    return 0;
}

scl_status scl_device_list(scl_device_info *out, int capacity, int *count) {
    if (!count || (capacity > 0 && !out) || capacity < 0)
        return scl__fail(
            NULL, SCL_ERROR_INVALID_ARGUMENT,
            "scl_device_list: count must not be NULL, and out must hold capacity entries");
    size_t stride = capacity > 0 ? out->size : 0;
    for (int i = 0; i < capacity; i++) {
        size_t size = SCL_SIZE_OF((unsigned char *)out + (size_t)i * stride);
        if (size < sizeof *out || size != stride)
            return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                             "scl_device_list: entry %d has size %zu: set every entry's size to "
                             "sizeof(scl_device_info) (%zu or more, the same for all)",
                             i, size, sizeof *out);
    }
    list_state s = {(unsigned char *)out, stride, capacity, 0};
    int total = 0;
    scl_status st = for_each_device(list_visit, &s, &total);
    *count = total;
    return st;
}

static int contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return 1;
    }
    return n == 0;
}

typedef enum match_kind { MATCH_DEFAULT, MATCH_INDEX, MATCH_TYPE, MATCH_NAME } match_kind;

typedef struct find_state {
    match_kind kind;
    int pi, di;
    scl_device_type type;
    const char *name;
    int found;
    cl_platform_id platform;
    cl_device_id device;
    scl_device_info info;
    /* default: remember the first device in case there is no GPU */
    int have_first;
    cl_platform_id first_p;
    cl_device_id first_d;
    scl_device_info first_info;
} find_state;

static int find_visit(cl_platform_id p, cl_device_id d, const scl_device_info *info, void *user) {
    find_state *s = user;
    int hit = 0;
    switch (s->kind) {
    case MATCH_DEFAULT:
        if (!s->have_first) {
            s->have_first = 1, s->first_p = p, s->first_d = d, s->first_info = *info;
        }
        hit = info->type == SCL_DEVICE_GPU;
        break;
    case MATCH_INDEX:
        hit = info->platform_index == s->pi && info->device_index == s->di;
        break;
    case MATCH_TYPE:
        hit = info->type == s->type;
        break;
    case MATCH_NAME:
        hit = contains_nocase(info->name, s->name) || contains_nocase(info->vendor, s->name) ||
              contains_nocase(info->platform_name, s->name);
        break;
    }
    if (hit) s->found = 1, s->platform = p, s->device = d, s->info = *info;
    return hit;
}

static scl_status parse_spec(const char *spec, find_state *s) {
    memset(s, 0, sizeof *s);
    if (!spec || !*spec) {
        s->kind = MATCH_DEFAULT;
        return SCL_OK;
    }
    int pi, di, used = 0;
    if (isdigit((unsigned char)spec[0])) {
        if (sscanf(spec, "%d:%d%n", &pi, &di, &used) == 2 && spec[used] == '\0' && pi >= 0 &&
            di >= 0) {
            s->kind = MATCH_INDEX, s->pi = pi, s->di = di;
            return SCL_OK;
        }
        return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT,
                         "device '%s': expected P:D (platform and device index, e.g. 0:0), "
                         "a type (cpu, gpu, accelerator) or a name substring",
                         spec);
    }
    static const struct {
        const char *word;
        scl_device_type type;
    } types[] = {
        {"cpu", SCL_DEVICE_CPU}, {"gpu", SCL_DEVICE_GPU}, {"accelerator", SCL_DEVICE_ACCELERATOR}};
    for (size_t i = 0; i < SCL_ARRAY_LEN(types); i++) {
        if (contains_nocase(spec, types[i].word) && strlen(spec) == strlen(types[i].word)) {
            s->kind = MATCH_TYPE, s->type = types[i].type;
            return SCL_OK;
        }
    }
    s->kind = MATCH_NAME, s->name = spec;
    return SCL_OK;
}

scl_status scl__device_resolve(const char *spec, cl_platform_id *platform, cl_device_id *device,
                               scl_device_info *info) {
    const char *env = getenv("SHUFFLECL_DEVICE");
    const char *source = "device";
    if ((!spec || !*spec) && env && *env) spec = env, source = "SHUFFLECL_DEVICE";
    find_state s;
    scl_status st = parse_spec(spec, &s);
    if (st != SCL_OK) return st;
    int total = 0;
    st = for_each_device(find_visit, &s, &total);
    if (st != SCL_OK) return st;
    if (total == 0)
        return scl__fail(NULL, SCL_ERROR_NO_DEVICE,
                         "no OpenCL device found: install an OpenCL driver (on Debian, "
                         "pocl-opencl-icd runs on the CPU) and check /etc/OpenCL/vendors");
    if (!s.found && s.kind == MATCH_DEFAULT && s.have_first) {
        s.found = 1, s.platform = s.first_p, s.device = s.first_d, s.info = s.first_info;
    }
    if (!s.found)
        return scl__fail(NULL, SCL_ERROR_NO_DEVICE,
                         "%s '%s' matches none of the %d OpenCL device(s); run 'shufflecl devices' "
                         "to list them",
                         source, spec, total);
    if (platform) *platform = s.platform;
    if (device) *device = s.device;
    if (info) *info = s.info;
    return SCL_OK;
}

scl_status scl_device_find(const char *spec, scl_device_info *out) {
    if (!out) return scl__fail(NULL, SCL_ERROR_INVALID_ARGUMENT, "scl_device_find: out is NULL");
    scl_device_info info = {.size = sizeof(scl_device_info)};
    if (out->size < sizeof info)
        return scl__sized_out(NULL, "scl_device_find", "scl_device_info", out, &info, sizeof info,
                              sizeof info);
    scl_status st = scl__device_resolve(spec, NULL, NULL, &info);
    if (st == SCL_OK)
        st = scl__sized_out(NULL, "scl_device_find", "scl_device_info", out, &info, sizeof info,
                            sizeof info);
    return st;
}
