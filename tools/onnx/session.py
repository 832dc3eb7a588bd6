"""One way to open an ONNX file in ONNX Runtime for the scripts here: CPU, a given number of
intra-op threads, quiet logs; a load failure is one ValueError naming the file."""
import onnxruntime as ort


def open_session(path, threads):
    """An InferenceSession of `path` on the CPU with `threads` intra-op threads."""
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = threads
    opts.inter_op_num_threads = 1
    opts.log_severity_level = 3
    try:
        return ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
    except Exception as e:  # noqa: BLE001 - any load failure is one error
        raise ValueError(f"onnxruntime cannot load {path}: {e}") from None
