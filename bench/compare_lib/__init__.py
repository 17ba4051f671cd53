"""compare_lib: the parts of bench/compare (shufflecl against OpenCV DNN and PyTorch), which stays
the entry point: common settings, the worker processes and one module per framework, the process
runner, the ONNX export, the session (preparation and workers), the shufflecl tool runs, the
reference check, the measurement phases, the summary and the report."""
