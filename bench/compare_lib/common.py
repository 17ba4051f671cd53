"""Settings every part of bench/compare shares: paths, models, frameworks, batch sizes,
tolerances, and the log."""

import os
import sys

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))   # bench/
REPO = os.path.dirname(HERE)
REF_DIR = os.path.join(REPO, "tests", "torch")
SCRIPT = os.path.join(HERE, "compare")     # the entry point; workers are this script too
DEFAULT_MODELS = ["v2_x1_0", "v2_x0_5", "v1_g3_x1_0"]
FRAMEWORKS = ["shufflecl", "onnxruntime", "openvino", "mnn-cpu", "mnn-opencl", "ncnn-cpu",
              "ncnn-vulkan", "torch-script", "torch-eager", "opencv-cpu", "opencv-ocl"]
# Engines from PyPI: their workers run in the virtual environment of bench/compare (engines.py),
# not in Debian's Python, whose torch 1.13 a wheel's numpy 2 would break.
VENV_FRAMEWORKS = ["onnxruntime", "openvino", "mnn-cpu", "mnn-opencl", "ncnn-cpu", "ncnn-vulkan"]
# Those that compile code at run time and keep it in an on-disk cache: their first inference is
# also measured with that cache empty ("first cold").
COLD_FRAMEWORKS = ["shufflecl", "opencv-ocl", "mnn-opencl", "ncnn-vulkan"]
LABELS = {
    "shufflecl": "shufflecl",
    "onnxruntime": "ONNX Runtime",
    "openvino": "OpenVINO f32",
    "mnn-cpu": "MNN CPU",
    "mnn-opencl": "MNN OpenCL",
    "ncnn-cpu": "ncnn CPU",
    "ncnn-vulkan": "ncnn Vulkan",
    "opencv-ocl": "OpenCV OpenCL",
    "opencv-cpu": "OpenCV CPU",
    "torch-eager": "PyTorch eager",
    "torch-script": "TorchScript",
}
BATCHES = [1, 8, 32]
CHECK_BASE = 8          # the float64 reference runs on this many images; bigger batches repeat them
REL_TOL = 1e-4
THREADS = 2             # every engine's thread count (torch.set_num_threads, cv2.setNumThreads, ...)
WORKER_TIMEOUT = 900    # seconds, per worker process
NOISY_FRAC = 0.15       # with --wait-quiet, a process during which others used more is redone

# Lines of OpenCV's log that mean the OpenCL target is not (or not wholly) what ran.
OCL_FALLBACK_PATTERNS = [
    r"switching to CPU",
    r"Fallback to CPU",
    r"DNN/OpenCL: Unsupported",
    r"DNN/OpenCL.*doesn't support",
    r"context is not available/disabled",
]


def log(msg=""):
    print(msg, file=sys.stderr, flush=True)
