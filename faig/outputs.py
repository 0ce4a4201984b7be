"""Names of output folders. The rules of where and how a tool writes live in faig.store."""
import os.path as osp

from faig.specs import NETWORKS
from faig.store import real


def network_label(net, opt):
    """The name a run's outputs are filed under: the spec's name for its own arch, else the arch type
    of ``--network_g`` in lower case (so an EDSR run never lands in, or is titled as, srresnet)."""
    spec = NETWORKS.get(net)
    arch = (opt or {}).get('type')
    if arch is None or (spec is not None and spec.arch.get('type') == arch):
        return net
    return str(arch).lower()


def dataset_label(folders):
    """The data set the input folders belong to: their common parent folder's name
    (``datasets/X/{GTmod12,Blur2_LRbicx2}`` -> ``X``); a lone folder gives its parent's name."""
    parents = {osp.dirname(real(f)) for f in folders if f}
    if len(parents) == 1:
        return osp.basename(parents.pop()) or 'data'
    common = osp.commonpath(sorted(parents)) if parents else ''
    return osp.basename(common) or 'data'
