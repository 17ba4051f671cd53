"""ncnn in a worker: the model pnnx converted, on the CPU or on Vulkan (here Mesa's llvmpipe)."""

from .common import THREADS


class NcnnWorker:
    """ncnn.Net with 2 threads and its default options, except float32 forced: fp16 storage,
    packing and arithmetic off (on by default wherever the CPU or Vulkan device has fp16: 4e-4 off
    on this CPU, 2e-3 on llvmpipe). ncnn has no batch dimension: a batch is one extractor per
    image, in a loop, as ncnn's own examples do. Vulkan: refused unless ncnn sees a Vulkan device
    (it would run on the CPU)."""

    def __init__(self, spec, result):
        import ncnn
        self.ncnn = ncnn
        self.min_warmup = 1
        self.vulkan = spec["framework"] == "ncnn-vulkan"
        self.model = spec["ncnn"]
        self.net = None
        result["ncnn_version"] = ncnn.__version__
        if self.vulkan:
            n = ncnn.get_gpu_count()
            if n <= 0:
                raise RuntimeError("ncnn finds no Vulkan device: it would run on the CPU")
            result["vulkan_device"] = ncnn.get_gpu_info(ncnn.get_default_gpu_index()).device_name()

    def load(self, batch, x):
        if self.net is None:
            net = self.ncnn.Net()
            net.opt.num_threads = THREADS
            net.opt.use_vulkan_compute = self.vulkan
            net.opt.use_fp16_storage = False
            net.opt.use_fp16_packed = False
            net.opt.use_fp16_arithmetic = False
            if net.load_param(self.model["param"]) != 0 or net.load_model(self.model["bin"]) != 0:
                raise RuntimeError(f"ncnn could not load {self.model['param']}")
            self.in_name, self.out_name = net.input_names()[0], net.output_names()[0]
            self.net = net
        return self.net

    def run(self, net, x):
        import numpy as np
        out = []
        for img in x:
            ex = net.create_extractor()
            ex.input(self.in_name, self.ncnn.Mat(img))
            rc, y = ex.extract(self.out_name)
            if rc != 0:
                raise RuntimeError(f"ncnn extract failed with {rc}")
            out.append(np.array(y).reshape(-1))
        return np.stack(out)

    def after_first(self, result):
        result["ncnn_vulkan_compute"] = bool(self.net.opt.use_vulkan_compute)
