/* quirks.h: OpenCL implementation bugs the tool and the tests must step around, where a probe
 * would hang rather than fail (each one documented in docs/). */
#ifndef SCL_CLI_QUIRKS_H
#define SCL_CLI_QUIRKS_H

#include "shufflecl.h"

/* True on PoCL's basic device, where completing a user event that a queued command waits on
 * deadlocks inside clSetUserEventStatus (PoCL 3.1; docs/pocl-basic-user-event.md). */
int cli_user_event_deadlocks(cl_device_id device);

#endif
