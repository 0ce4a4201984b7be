"""The processes of one attribution run: torchrun's, or this one alone.

Under ``torchrun`` (WORLD_SIZE > 1) the images are dealt over the ranks in rounds (image i of the
images still to do goes to rank i mod K); after every round the per-image results are gathered,
rank 0 stores them (so a killed run resumes from the last finished round, whatever the number of
ranks then) and, at the end, sums them in image order and alone writes. Before that every rank checks its
own models and images and computes the run key, and the ranks compare keys (:meth:`Ranks.agree`): other
weights, images or settings on one machine, or a file bad on one machine only, stop every rank with one
line before anything is written. A per-image result does not
depend on which rank computed it, so the files equal a one-process run's (bit for bit at the same
thread count and layout). gloo on CPU, nccl on GPU (rank r uses cuda:LOCAL_RANK).
"""
import datetime
import hashlib
import json
import os
import socket

import torch
import torch.distributed as dist

from faig.devices import resolve_device
from faig.errors import InputError, PeerError, one_line, report_error


def collective(exc):
    """Mark ``exc`` as raised by every rank at the same step (see :func:`faig.attribution.pipeline.rank_dataset`)."""
    exc.collective = True
    return exc


class Ranks:
    """The processes of one run: torchrun's (WORLD_SIZE > 1) or this one alone."""

    def __init__(self, device=None):
        self.world = int(os.environ.get('WORLD_SIZE', '1'))
        self.rank = int(os.environ.get('RANK', '0'))
        self.owned = False
        self.hosts = [socket.gethostname()]
        device = resolve_device(device)
        if self.world > 1:
            if device.type == 'cuda':
                device = torch.device('cuda', int(os.environ.get('LOCAL_RANK', '0')) % torch.cuda.device_count())
                torch.cuda.set_device(device)
            if not dist.is_initialized():
                # long rounds (a whole image at 100 steps takes minutes): a generous timeout
                dist.init_process_group('nccl' if device.type == 'cuda' else 'gloo',
                                        timeout=datetime.timedelta(hours=6))
                self.owned = True
            self.world, self.rank = dist.get_world_size(), dist.get_rank()
        self.device = device

    @staticmethod
    def launched():
        """Whether this process is one of several started by torchrun."""
        return int(os.environ.get('WORLD_SIZE', '1')) > 1

    @property
    def main(self):
        return self.rank == 0

    def record(self, key):
        """What meta.json keeps of the ranks: how many, on which hosts, and the digest of the run key each of
        them computed and found equal to the others' (checked by :meth:`agree`)."""
        digest = hashlib.sha1(json.dumps(key, sort_keys=True, default=str).encode()).hexdigest()
        return {'ranks': self.world, 'hosts': self.hosts, 'run_key_sha1': digest}

    def decide(self, step):
        """Run ``step()`` on rank 0 and hand its value (or its InputError) to every rank."""
        if self.world == 1:
            return step()
        box = [None]
        if self.main:
            try:
                box[0] = ('ok', step())
            except BaseException as exc:  # any failure (bad input, a full disk, Ctrl-C): tell the others, then raise
                box[0] = ('error', str(exc) if isinstance(exc, InputError) else f'rank 0 stopped: {exc!r}')
                dist.broadcast_object_list(box, src=0)
                raise collective(exc)
        dist.broadcast_object_list(box, src=0)
        status, value = box[0]
        if status == 'error':
            raise collective(PeerError(value))
        return value

    def agree(self, step, summary=lambda value: None, differ=None):
        """Run ``step()`` on every rank and return its value, once every rank got there. A rank's failure
        stops every rank with its message (naming the rank when the others did not fail); so does
        ``differ(first, other, first_rank, other_rank)`` -- given ``summary(value)`` of rank 0 and of
        another rank, and the words for them -- when it finds a difference. Until this point no rank
        waits for another, so nothing that one rank meets alone can leave the others waiting."""
        failure = None
        try:
            value = step()
            mine = ('ok', summary(value))
        except Exception as exc:  # bad input, or a fault of this machine (memory, a file system): told to all
            failure = exc
            mine = ('error', one_line(exc) if isinstance(exc, InputError) else f'{type(exc).__name__}: {exc}')
        if self.world == 1:
            if failure is not None:
                raise failure
            return value
        hosts, states, contents = zip(*self.exchange((socket.gethostname(), *mine)))
        name = lambda rank: f'rank {rank} (host {hosts[rank]})'  # noqa: E731
        failed = [rank for rank, state in enumerate(states) if state == 'error']
        if failed:
            rank = failed[0]
            message = contents[rank]
            if len(failed) < self.world:
                fine = next(r for r in range(self.world) if r not in failed)
                message += f' (on rank {rank}, host {hosts[rank]}; not on rank {fine}, host {hosts[fine]})'
            if failure is not None and not isinstance(failure, InputError):
                raise collective(failure)  # a fault, not bad input: its traceback on the rank that met it
            raise collective(self.group_error(message)) from None
        for rank in range(1, self.world):
            problem = differ and differ(contents[0], contents[rank], name(0), name(rank))
            if problem:
                raise collective(self.group_error(f'{problem}; every process of a run must read the same models, '
                                                  'images and settings'))
        self.hosts = list(hosts)
        return value

    def group_error(self, message):
        """The error every rank raises for one rank's bad input: rank 0's is the run's own (it speaks and
        removes what the run started to write), the others' are silent copies."""
        return InputError(message) if self.main else PeerError(message)

    def stop(self, exc):
        """Leave the group after ``exc``: together when every rank raised it at the same step (each says what
        it has to say first, so that no rank's exit makes torchrun stop rank 0 before it has printed the error
        and removed partial results); at once otherwise (torchrun then stops the others)."""
        if getattr(exc, 'collective', False) and self.owned:
            report_error(exc)
            self.close(wait=True)
        else:
            self.close(wait=False)

    def exchange(self, item):
        """Every rank's ``item`` (in rank order), on every rank."""
        if self.world == 1:
            return [item]
        items = [None] * self.world
        dist.all_gather_object(items, item)
        return items

    def close(self, wait=True):
        """Leave the group: after a barrier (every rank finished), or at once after an error."""
        if self.owned:
            if wait:
                dist.barrier()
            dist.destroy_process_group()
