"""SchNet from torch-geometric with a radius graph in plain PyTorch (pyg-lib, its default, is not on PyPI)."""

import torch
from torch import nn
from torch_geometric.nn.models import SchNet


class DenseRadiusGraph(nn.Module):
    """Edges between distinct atoms of the same molecule closer than `cutoff` (Å).

    A dense distance matrix is the fastest choice for molecules of tens of atoms; distances are recomputed
    from the selected pairs so that forces by autograd never see the zero distance of an atom to itself.
    """

    def __init__(self, cutoff: float):
        super().__init__()
        self.cutoff = cutoff

    def forward(self, pos: torch.Tensor, batch: torch.Tensor):
        with torch.no_grad():
            same_molecule = batch[:, None] == batch[None, :]
            close = torch.cdist(pos, pos) < self.cutoff
            close.fill_diagonal_(False)
            edge_index = (same_molecule & close).nonzero().t()
        edge_weight = (pos[edge_index[0]] - pos[edge_index[1]]).norm(dim=-1)
        return edge_index, edge_weight


def build_schnet(spec: dict, normalisation: dict) -> SchNet:
    """SchNet whose per-atom outputs are scaled by the training set's per-atom energy mean and spread."""
    return SchNet(
        hidden_channels=spec["hidden_channels"],
        num_filters=spec["num_filters"],
        num_interactions=spec["num_interactions"],
        num_gaussians=spec["num_gaussians"],
        cutoff=spec["cutoff"],
        interaction_graph=DenseRadiusGraph(spec["cutoff"]),
        readout="add",
        mean=normalisation["mean"],
        std=normalisation["std"],
    )
