"""Model architectures behind one interface: build from a spec, save with everything needed to rebuild.

torch is imported inside the functions: planning imports astray.models.pretrained, and a Snakemake dry
run must not pay for torch and torch-geometric.
"""

import contextlib


def build_model(spec: dict, normalisation: dict):
    """Model described by a config spec (its 'architecture' picks the builder) and target normalisation.

    Built in float32, the precision of astray's training data, whatever default another library left set:
    loading a NequIP model sets torch's default to float64 for the whole process.
    """
    import torch

    from astray.models.schnet import build_schnet

    builders = {"schnet": build_schnet}
    with default_dtype(torch.float32):
        return builders[spec["architecture"]](spec, normalisation)


@contextlib.contextmanager
def default_dtype(dtype):
    """torch's default dtype set to `dtype` inside the block, the previous one restored after."""
    import torch

    previous = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        yield
    finally:
        torch.set_default_dtype(previous)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
