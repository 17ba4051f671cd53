"""The OpenCV DNN framework in a worker: OpenCV's own backend, OpenCL or CPU target."""

from .common import THREADS


class OpenCVWorker:
    """OpenCV DNN, OpenCV's own backend, OpenCL or CPU target, one constant-shape ONNX graph per
    batch size. The parent sets OPENCV_OPENCL_DEVICE (and friends) before this process starts."""

    def __init__(self, spec, result):
        import cv2
        self.cv2 = cv2
        self.ocl = spec["framework"] == "opencv-ocl"
        self.min_warmup = 1
        self.onnx = {int(b): p for b, p in spec["onnx"].items()}
        cv2.setNumThreads(THREADS)
        result["opencv_version"] = cv2.__version__
        if self.ocl:
            have, use = bool(cv2.ocl.haveOpenCL()), bool(cv2.ocl.useOpenCL())
            result["ocl_have"], result["ocl_use"] = have, use
            if not (have and use):
                raise RuntimeError(f"cv2.ocl.haveOpenCL()={have}, useOpenCL()={use}: "
                                   "OpenCV has no OpenCL device, it would run its CPU path")

    def load(self, batch, x):
        cv2 = self.cv2
        net = cv2.dnn.readNetFromONNX(self.onnx[batch])
        net.setPreferableBackend(cv2.dnn.DNN_BACKEND_OPENCV)
        net.setPreferableTarget(cv2.dnn.DNN_TARGET_OPENCL if self.ocl else cv2.dnn.DNN_TARGET_CPU)
        return net

    def run(self, net, x):
        net.setInput(x)
        return net.forward()

    def after_first(self, result):
        if self.ocl:
            # Asked after the first forward, when the DNN module has set up its OpenCL context.
            d = self.cv2.ocl.Device.getDefault()
            result["ocl_device"] = {
                "name": d.name(), "vendor": d.vendorName(), "version": d.version(),
                "driver_version": d.driverVersion(), "type": int(d.type()),
                "available": bool(d.available()),
            }
            result["ocl_use_after"] = bool(self.cv2.ocl.useOpenCL())
