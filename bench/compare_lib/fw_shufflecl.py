"""The shufflecl framework in a worker: the library's C API through ctypes."""


class ShuffleclWorker:
    """shufflecl through its C API (libshufflecl, ctypes): scl_network_run takes the host input
    and gives the host logits, blocking, as OpenCV's setInput + forward and a PyTorch call do."""

    def __init__(self, spec, result):
        import ctypes
        self.ct = ctypes
        lib = ctypes.CDLL(spec["scl_lib"])
        vp, ip = ctypes.c_void_p, ctypes.c_int
        lib.scl_version.restype = ctypes.c_char_p
        lib.scl_last_error.restype = ctypes.c_char_p
        lib.scl_last_error.argtypes = [vp]
        lib.scl_context_create.argtypes = [ctypes.c_char_p, ctypes.POINTER(vp)]
        lib.scl_network_create.argtypes = [vp, ctypes.c_char_p, ctypes.POINTER(vp)]
        lib.scl_network_load_weights.argtypes = [vp, ctypes.c_char_p]
        lib.scl_network_run.argtypes = [vp, vp, ip, ip, ip, vp]
        lib.scl_network_classes.argtypes = [vp]
        self.lib, self.spec, self.net, self.ctx = lib, spec, None, None
        self.min_warmup = 1
        result["shufflecl_version"] = lib.scl_version().decode()

    def fail(self, what, ctx=None):
        msg = self.lib.scl_last_error(ctx)
        raise RuntimeError(f"{what}: {msg.decode(errors='replace') if msg else 'failed'}")

    def load(self, batch, x):
        ct, lib = self.ct, self.lib
        if self.net is None:
            ctx, net = ct.c_void_p(), ct.c_void_p()
            dev = self.spec.get("device")
            if lib.scl_context_create(dev.encode() if dev else None, ct.byref(ctx)) != 0:
                self.fail("scl_context_create")
            self.ctx = ctx
            if lib.scl_network_create(ctx, self.spec["model"].encode(), ct.byref(net)) != 0:
                self.fail("scl_network_create", ctx)
            self.net = net
            if lib.scl_network_load_weights(net, self.spec["weights"].encode()) != 0:
                self.fail("scl_network_load_weights", ctx)
            self.classes = lib.scl_network_classes(net)
        import numpy as np
        return np.empty((batch, self.classes), np.float32)

    def run(self, out, x):
        n, _, h, w = x.shape
        if self.lib.scl_network_run(self.net, x.ctypes.data, n, h, w, out.ctypes.data) != 0:
            self.fail("scl_network_run", self.ctx)
        return out

    def after_first(self, result):
        pass
