"""ONNX Runtime and OpenVINO in a worker: both read the constant-shape ONNX graph of each batch
size (the one OpenCV reads), on the CPU, with 2 threads."""

from .common import THREADS


class OrtWorker:
    """ONNX Runtime's CPU execution provider, every graph optimisation on (its default level,
    ORT_ENABLE_ALL, set explicitly), intra-op threads = 2, sequential execution."""

    def __init__(self, spec, result):
        import onnxruntime as ort
        self.ort = ort
        self.min_warmup = 1
        self.onnx = {int(b): p for b, p in spec["onnx"].items()}
        result["onnxruntime_version"] = ort.__version__
        result["providers"] = ort.get_available_providers()

    def load(self, batch, x):
        ort = self.ort
        so = ort.SessionOptions()
        so.intra_op_num_threads = THREADS
        so.inter_op_num_threads = 1
        so.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(self.onnx[batch], so, providers=["CPUExecutionProvider"])
        return sess, sess.get_inputs()[0].name

    def run(self, r, x):
        sess, name = r
        return sess.run(None, {name: x})[0]

    def after_first(self, result):
        pass


class OpenVinoWorker:
    """OpenVINO's CPU plugin, float32 forced (INFERENCE_PRECISION_HINT f32: its default on a CPU
    with AVX-512 BF16 is bf16, 7e-2 off), 2 threads, the LATENCY hint (one stream: the loop makes
    one synchronous request at a time), the ONNX file read directly (read_model)."""

    def __init__(self, spec, result):
        import openvino as ov
        self.ov = ov
        self.min_warmup = 1
        self.onnx = {int(b): p for b, p in spec["onnx"].items()}
        self.core = None
        self.result = result
        result["openvino_version"] = ov.get_version()

    def load(self, batch, x):
        if self.core is None:
            self.core = self.ov.Core()
            self.result["openvino_cpu_default_precision"] = str(
                self.core.get_property("CPU", "INFERENCE_PRECISION_HINT"))
        cm = self.core.compile_model(self.core.read_model(self.onnx[batch]), "CPU", {
            "INFERENCE_NUM_THREADS": THREADS, "INFERENCE_PRECISION_HINT": "f32",
            "PERFORMANCE_HINT": "LATENCY"})
        prec = str(cm.get_property("INFERENCE_PRECISION_HINT"))
        if "32" not in prec:
            raise RuntimeError(f"OpenVINO compiled for {prec}, not float32")
        self.result["openvino_compiled"] = {
            "precision": prec, "threads": int(cm.get_property("INFERENCE_NUM_THREADS")),
            "streams": int(cm.get_property("NUM_STREAMS"))}
        return cm.create_infer_request(), cm.output(0)

    def run(self, r, x):
        req, out = r
        return req.infer({0: x})[out]

    def after_first(self, result):
        pass
