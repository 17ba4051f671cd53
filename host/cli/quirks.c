/* quirks.c: recognises the OpenCL implementations with the bugs listed in quirks.h. */
#include "quirks.h"

#include <string.h>

int cli_user_event_deadlocks(cl_device_id device) {
    char version[256] = "";
    /* "OpenCL 3.0 PoCL HSTR: basic-x86_64-..."; the name ("basic-<cpu>") says the same, but the
     * version string names the implementation as well as the driver */
    if (clGetDeviceInfo(device, CL_DEVICE_VERSION, sizeof version - 1, version, NULL) != CL_SUCCESS)
        return 0;
    return strstr(version, "PoCL HSTR: basic-") != NULL;
}
