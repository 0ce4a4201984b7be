"""The device a run computes on, from a ``--device`` value or what the machine has."""
from faig.errors import InputError


def resolve_device(name=None):
    """``--device``: cuda/cpu/cuda:N; default cuda when available. A missing GPU is a user error."""
    import torch  # here: faig.cli.args imports this module, and --help does not wait for torch
    if not name:
        return torch.device('cuda' if torch.cuda.is_available() else 'cpu')
    try:
        device = torch.device(name)
    except RuntimeError:
        raise InputError(f'--device {name}: not a device (use cpu, cuda or cuda:<index>)') from None
    if device.type == 'cuda':
        if not torch.cuda.is_available():
            raise InputError(f'--device {name}: CUDA is not available on this machine (use --device cpu)')
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise InputError(f'--device {name}: only {torch.cuda.device_count()} CUDA device(s)')
    elif device.type != 'cpu':
        raise InputError(f'--device {name}: only cpu and cuda are supported')
    return device
