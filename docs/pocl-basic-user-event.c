/* pocl-basic-user-event.c: minimal reproducer of a PoCL 3.1 deadlock on its basic device
 * (docs/pocl-basic-user-event.md): completing a user event that a queued marker waits on never
 * returns. Build and run:
 *   gcc -o repro docs/pocl-basic-user-event.c -lOpenCL
 *   POCL_DEVICES=basic ./repro     # "deadlocked" after 10 s, exit status 1
 *   POCL_DEVICES=pthread ./repro   # "ok", exit status 0 */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static void check(const char *what, cl_int e) {
    if (e != CL_SUCCESS) {
        printf("%s failed: %d\n", what, e);
        exit(2);
    }
}

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "deadlocked: clSetUserEventStatus did not return in 10 s\n";
    (void)!write(1, msg, sizeof msg - 1);
    _exit(1);
}

int main(void) {
    cl_platform_id platform;
    cl_device_id device;
    cl_int e;
    check("clGetPlatformIDs", clGetPlatformIDs(1, &platform, NULL));
    check("clGetDeviceIDs", clGetDeviceIDs(platform, CL_DEVICE_TYPE_ALL, 1, &device, NULL));
    cl_context ctx = clCreateContext(NULL, 1, &device, NULL, NULL, &e);
    check("clCreateContext", e);
    cl_command_queue queue = clCreateCommandQueue(ctx, device, 0, &e);
    check("clCreateCommandQueue", e);
    cl_event gate = clCreateUserEvent(ctx, &e), done;
    check("clCreateUserEvent", e);
    /* any command will do: a marker, a fill or a kernel launch all hang alike */
    check("clEnqueueMarkerWithWaitList", clEnqueueMarkerWithWaitList(queue, 1, &gate, &done));
    signal(SIGALRM, on_alarm);
    alarm(10);
    check("clSetUserEventStatus", clSetUserEventStatus(gate, CL_COMPLETE));
    check("clWaitForEvents", clWaitForEvents(1, &done));
    printf("ok\n");
    return 0;
}
