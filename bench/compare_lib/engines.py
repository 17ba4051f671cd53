"""The engines from PyPI (ONNX Runtime, OpenVINO, MNN, ncnn) on the parent side: their virtual
environment (created and filled by pip when missing), the Vulkan loader and driver ncnn's Vulkan
path needs, the models converted with each package's own converter, and which engine is
available."""

import json
import os
import shutil
import subprocess
import sys

from .common import SCRIPT, VENV_FRAMEWORKS, log

PIP_PACKAGES = ["onnxruntime", "openvino", "MNN", "ncnn", "numpy"]
PIP_NODEPS = ["pnnx"]          # its wheel depends on torch, which only its Python export needs
APT_VULKAN = ["libvulkan1", "mesa-vulkan-drivers"]
APT_OPENCV = ["python3-opencv"]  # OpenCV DNN's rows run on Debian's cv2, in /usr/bin/python3
DEFAULT_VENV = os.path.join(os.path.expanduser("~"), ".cache", "shufflecl-compare", "venv")


def venv_python(venv):
    return os.path.join(venv, "bin", "python")


def run_logged(cmd, log_path, timeout=1800, env=None):
    with open(log_path, "ab") as f:
        f.write(("$ " + " ".join(cmd) + "\n").encode())
        f.flush()
        try:
            return subprocess.run(cmd, stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                  timeout=timeout, env=env).returncode
        except (OSError, subprocess.TimeoutExpired) as e:
            f.write(f"{e}\n".encode())
            return 127


def missing_pip(py):
    """The packages of PIP_PACKAGES + PIP_NODEPS the interpreter lacks."""
    code = ("import importlib.metadata as m, sys\n"
            "for p in sys.argv[1:]:\n"
            "    try: m.version(p)\n"
            "    except m.PackageNotFoundError: print(p)\n")
    out = subprocess.run([py, "-c", code] + PIP_PACKAGES + PIP_NODEPS, capture_output=True,
                         text=True, timeout=120)
    if out.returncode != 0:
        return PIP_PACKAGES + PIP_NODEPS
    return out.stdout.split()


def ensure_venv(venv, install, log_path):
    """The environment's Python, created and filled when missing (install), or None and why."""
    py = venv_python(venv)
    if not os.access(py, os.X_OK):
        if not install:
            return None, f"no virtual environment at {venv} (--no-install)"
        log(f"  creating the virtual environment {venv}")
        os.makedirs(os.path.dirname(venv), exist_ok=True)
        if run_logged(["/usr/bin/python3", "-m", "venv", venv], log_path) != 0:
            return None, f"python3 -m venv {venv} failed (python3-venv installed?), see {log_path}"
    miss = missing_pip(py)
    if miss and not install:
        return None, f"{venv} lacks {', '.join(miss)} (--no-install)"
    with_deps = [p for p in miss if p in PIP_PACKAGES]
    no_deps = [p for p in miss if p in PIP_NODEPS]
    pip = [py, "-m", "pip", "install", "--disable-pip-version-check", "-q"]
    if with_deps:
        log(f"  pip install {' '.join(with_deps)} (into {venv})")
        if run_logged(pip + with_deps, log_path) != 0:
            return None, f"pip install {' '.join(with_deps)} failed, see {log_path}"
    if no_deps:
        log(f"  pip install --no-deps {' '.join(no_deps)}")
        if run_logged(pip + ["--no-deps"] + no_deps, log_path) != 0:
            return None, f"pip install --no-deps {' '.join(no_deps)} failed, see {log_path}"
    left = missing_pip(py)
    if left:
        return None, f"{venv} still lacks {', '.join(left)} after pip, see {log_path}"
    return py, ""


def dpkg_version(pkg):
    try:
        out = subprocess.run(["dpkg-query", "-W", "-f=${Status} ${Version}", pkg],
                             capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    parts = out.stdout.split()
    return parts[-1] if out.returncode == 0 and "installed" in parts[:3] else None


def ensure_debs(pkgs, purpose, install, log_path):
    """Debian packages for `purpose` (Debian's Vulkan loader and Mesa's drivers, llvmpipe's
    lavapipe, for ncnn's Vulkan path; python3-opencv for OpenCV DNN's rows): apt-get installs
    them when missing, as root and unless --no-install. Returns (versions, why)."""
    vers = {p: dpkg_version(p) for p in pkgs}
    miss = [p for p, v in vers.items() if not v]
    if miss and install and os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"  apt-get install {' '.join(miss)} ({purpose})")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends"] + miss
        if run_logged(cmd, log_path, env=env) != 0:
            run_logged(["apt-get", "update", "-qq"], log_path, env=env)
            run_logged(cmd, log_path, env=env)
        vers = {p: dpkg_version(p) for p in pkgs}
        miss = [p for p, v in vers.items() if not v]
    why = ""
    if miss:
        why = (f"{' '.join(miss)} not installed (apt-get install {' '.join(miss)}"
               + (", or run without --no-install as root)" if not install or os.geteuid() != 0
                  else "failed)"))
    return vers, why


def pnnx_binary(py):
    """The pnnx executable inside its package (importing pnnx would import torch)."""
    code = ("import importlib.util, os\n"
            "s = importlib.util.find_spec('pnnx')\n"
            "print(os.path.join(list(s.submodule_search_locations)[0], 'pnnx'))\n")
    out = subprocess.run([py, "-c", code], capture_output=True, text=True, timeout=60)
    path = out.stdout.strip()
    return path if out.returncode == 0 and os.access(path, os.X_OK) else None


def convert_ncnn(pnnx, onnx_path, shape, out_dir, log_path):
    """ONNX -> ncnn param + bin with pnnx, float32 weights (fp16=0: pnnx stores half by default,
    1e-3 off). Returns (param, bin) or raises."""
    os.makedirs(out_dir, exist_ok=True)
    src = os.path.join(out_dir, "model.onnx")      # pnnx writes its side files beside its input
    shutil.copyfile(onnx_path, src)
    stem = os.path.join(out_dir, "model")
    cmd = [pnnx, src, "inputshape=[" + ",".join(map(str, shape)) + "]f32",
           "fp16=0", f"pnnxparam={stem}.pnnx.param", f"pnnxbin={stem}.pnnx.bin",
           f"pnnxpy={stem}_pnnx.py", f"pnnxonnx={stem}.pnnx.onnx", f"ncnnparam={stem}.ncnn.param",
           f"ncnnbin={stem}.ncnn.bin", f"ncnnpy={stem}_ncnn.py"]
    rc = run_logged(cmd, log_path, timeout=600)
    param, binf = stem + ".ncnn.param", stem + ".ncnn.bin"
    if rc != 0 or not os.path.isfile(param) or not os.path.isfile(binf):
        raise RuntimeError(f"pnnx failed (status {rc}), see {log_path}")
    return param, binf


def convert_mnn(py, onnx_path, dst, log_path):
    rc = run_logged([py, SCRIPT, "--venv-tool", "convert-mnn", onnx_path, dst], log_path,
                    timeout=600)
    if rc != 0:
        raise RuntimeError(f"MNN's converter failed (status {rc}), see {log_path}")
    return dst


def probe(py, mnn_model, out_json, log_path):
    rc = run_logged([py, SCRIPT, "--venv-tool", "probe", out_json] + ([mnn_model] if mnn_model
                                                                        else []), log_path)
    if rc != 0:
        return None
    with open(out_json) as f:
        return json.load(f)


class Engines:
    """Mixed into the session: setting up the PyPI engines, and their availability."""

    def wanted_venv_fws(self):
        return [fw for fw in self.fws if fw in VENV_FRAMEWORKS]

    def setup_engines(self):
        """The environment, the Vulkan packages when ncnn Vulkan is asked for; frameworks that
        cannot run here are taken off the list with the reason (reported, not failed)."""
        log_path = os.path.join(self.work, "engines_setup.log")
        opencv = [fw for fw in self.fws if fw.startswith("opencv")]
        if opencv:
            vers, why = ensure_debs(APT_OPENCV, "OpenCV DNN's rows", self.a.install, log_path)
            self.versions.update({f"deb:{k}": v for k, v in vers.items()})
            for fw in opencv:
                if why:
                    self.mark_unavailable(fw, why)
        if not self.wanted_venv_fws():
            return
        py, why = ensure_venv(self.a.venv, self.a.install, log_path)
        if not py:
            for fw in self.wanted_venv_fws():
                self.mark_unavailable(fw, why)
            return
        self.venv_py = py
        if "ncnn-vulkan" in self.fws:
            vers, why = ensure_debs(APT_VULKAN, "ncnn's Vulkan path", self.a.install, log_path)
            self.versions.update({f"deb:{k}": v for k, v in vers.items()})
            if why:
                self.mark_unavailable("ncnn-vulkan", why)
        if any(fw.startswith("ncnn") for fw in self.fws):
            self.pnnx = pnnx_binary(py)
            if not self.pnnx:
                for fw in ("ncnn-cpu", "ncnn-vulkan"):
                    self.mark_unavailable(fw, "no pnnx executable in the environment")

    def convert_models(self, name, info):
        """Per model: .mnn per batch size (MNN keeps the constant shapes), one ncnn model (ncnn
        runs one image at a time: any batch is a loop)."""
        log_path = os.path.join(info["dir"], "convert.log")
        info["mnn"], info["ncnn"], info["convert_errors"] = {}, None, {}
        if not getattr(self, "venv_py", None) or not info["onnx"]:
            return
        if any(fw.startswith("mnn") for fw in self.fws):
            try:
                for b, onnx_path in info["onnx"].items():
                    info["mnn"][b] = convert_mnn(self.venv_py, onnx_path,
                                                 os.path.join(info["dir"], f"{name}_b{b}.mnn"),
                                                 log_path)
            except RuntimeError as e:
                info["convert_errors"]["mnn"] = str(e)
        if any(fw.startswith("ncnn") for fw in self.fws) and getattr(self, "pnnx", None):
            try:
                param, binf = convert_ncnn(self.pnnx, info["onnx"][1], (1, 3, 224, 224),
                                           os.path.join(info["dir"], "ncnn"), log_path)
                info["ncnn"] = {"param": param, "bin": binf}
            except (RuntimeError, KeyError) as e:
                info["convert_errors"]["ncnn"] = str(e)

    def probe_engines(self):
        """Versions and backends as the environment reports them (after the models exist: MNN is
        asked for OpenCL on a real model)."""
        if not getattr(self, "venv_py", None):
            return
        mnn_model = next((i["mnn"].get(1) for i in self.data.values() if i.get("mnn")), None)
        log_path = os.path.join(self.work, "engines_setup.log")
        p = probe(self.venv_py, mnn_model, os.path.join(self.work, "probe.json"), log_path)
        if p is None:
            for fw in self.wanted_venv_fws():
                self.mark_unavailable(fw, f"the environment's probe failed, see {log_path}")
            return
        self.engine_probe = p
        self.versions.update({f"venv:{k}": v for k, v in p["versions"].items()})
        self.versions["venv:python"] = p["python"]
        if p.get("mnn_opencl") and not p["mnn_opencl"][0]:
            self.mark_unavailable("mnn-opencl", p["mnn_opencl"][1])
        if not p["ncnn_vulkan"][0]:
            self.mark_unavailable("ncnn-vulkan", p["ncnn_vulkan"][1])
        for fw in self.fws:
            kind = fw.split("-")[0]
            for name, info in self.data.items():
                err = info.get("convert_errors", {}).get(kind)
                if err:
                    self.results[name][fw]["errors"].append(f"conversion failed: {err}")

    def mark_unavailable(self, fw, why):
        if fw in self.fws and fw not in self.unavailable:
            self.unavailable[fw] = why
            log(f"  {fw}: unavailable: {why}")

    def interpreter_for(self, fw):
        return self.venv_py if fw in VENV_FRAMEWORKS else sys.executable
