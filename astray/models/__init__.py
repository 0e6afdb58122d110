"""Model architectures behind one interface: build from a spec, save with everything needed to rebuild."""

from astray.models.schnet import build_schnet

ARCHITECTURES = {"schnet": build_schnet}


def build_model(spec: dict, normalisation: dict):
    """Model described by a config spec (its 'architecture' picks the builder) and target normalisation."""
    return ARCHITECTURES[spec["architecture"]](spec, normalisation)


def count_parameters(model) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
