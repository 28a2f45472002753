"""Whether a forward pass is being recorded into a graph rather than run eagerly."""

import torch


def capturing_graph() -> bool:
    """True under ``torch.compile``/``torch.export`` and the tracer of ONNX export.

    A recorded graph keeps only the tensor operations: a Python branch on the
    data (is there padding? how many rows?) is frozen at its value for the
    example input. Code paths that ask such questions to go faster take the
    general path instead when this returns True.
    """
    return torch.compiler.is_compiling() or torch.jit.is_tracing()
