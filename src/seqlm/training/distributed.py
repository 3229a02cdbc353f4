"""Several training processes under torchrun: the one place that knows the launcher.

    torchrun --nproc_per_node=N -m seqlm train ...        (or `... -m seqlm seq2seq train`)
        torchrun sets RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR and MASTER_PORT in each of
        its N processes; without them (or with WORLD_SIZE=1) seqlm trains in one process

`session(engine_config)` joins the process group (nccl between GPUs, gloo on the CPU) with
`distributed_timeout`, gives this process its device (`--device auto` or `cuda`: the GPU of
its local rank) and leaves the group at the end. `World` is what the rest of seqlm asks: the
rank and size, whether this process writes (rank 0 alone writes run directories,
checkpoints, plots and progress), and the few collective operations training needs. Those
run on a gloo group on the CPU, so agreeing never waits for a GPU:

    agreeing()     setup succeeds on every rank, or every rank stops with the first error
    agree_step()   the training seconds (the largest over the ranks) and the stop request
                   (any rank's Ctrl-C), once per update: budgets and stops agree everywhere
    any / sum      a flag raised on any rank; token counts and evaluation sums, added in rank
                   order so every rank holds the same bits
    gather         task and RNG states to rank 0, for last.pt

Gradients travel through DistributedDataParallel (`wrap`), summed over the ranks (not
averaged): each rank divides its loss by the tokens of the whole update, so N processes make
the update of one batch N times larger. A collective that fails (a peer's socket closed
because it died, or nothing came within the timeout) becomes `PeerLostError`, a one-line error,
instead of a hang. Leaves out: elastic restarts (torchrun's --max-restarts), model
parallelism, several processes per device, MPS.
"""

import datetime
import gc
import os
import re
import socket
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext, suppress
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
import torch.distributed as dist
from torch import nn

from seqlm.config import EngineConfig
from seqlm.errors import SeqlmError
from seqlm.training.devices import Placement, resolve_device, resolve_precision

# what a failed collective's message holds when a peer died or hung, whichever backend
PEER_FAILURES = ("gloo", "nccl", "connection", "timed out", "timeout", "broken pipe")
# the words of such a message that say what happened, for the one-line error
CAUSES = re.compile(r"connection (?:reset|closed) by peer|timed out[^.;\]]*|broken pipe|"
                    r"remote process exited[^.;\]]*|collective operation timeout[^.;\]]*",
                    re.IGNORECASE)


class PeerLostError(SeqlmError):
    """Another training process died or stopped answering within the timeout."""

    def __init__(self, rank: int, size: int, what: str, cause: str, timeout_s: float,
                 where: str = ""):
        self.rank, self.size, self.what, self.cause, self.timeout_s = (
            rank, size, what, cause, timeout_s)
        super().__init__(
            f"process {rank} of {size} lost the others while {what} ({cause}): another "
            f"process died, or did not answer within {timeout_s:g} s (--distributed-timeout)"
            f"{where}")

    def at(self, step: int, kept: str) -> "PeerLostError":
        """The same error, saying at which update and where the last checkpoint is."""
        return PeerLostError(self.rank, self.size, f"{self.what} at step {step}", self.cause,
                             self.timeout_s, kept)


@dataclass
class Shared:
    """What rank 0 hands the other ranks once `agreeing` ends (its run directory)."""

    value: Any = None


@dataclass(frozen=True)
class World:
    """This process's place among the training processes; one process by default."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    backend: str | None = None  # gloo or nccl; None for one process
    timeout_s: float = EngineConfig.distributed_timeout
    control: Any = field(default=None, compare=False)  # the gloo group (None: the default)

    @property
    def distributed(self) -> bool:
        return self.size > 1

    @property
    def writes(self) -> bool:
        """Rank 0 alone writes run directories, checkpoints, plots and progress."""
        return self.rank == 0

    # ---- collectives -----------------------------------------------------------------------
    @contextmanager
    def collective(self, what: str) -> Iterator[None]:
        """A collective operation whose failure means a lost peer: say so in one line."""
        try:
            yield
        except RuntimeError as e:
            if not self.distributed or not peer_failure(e):
                raise
            raise self.lost(what, e) from None

    def lost(self, what: str, cause: BaseException) -> PeerLostError:
        text = one_line(cause)
        found = CAUSES.search(text)
        said = found.group(0).strip() if found else text[:100]
        return PeerLostError(self.rank, self.size, what, f"{self.backend}: {said}",
                             self.timeout_s)

    def agree_step(self, seconds: float, stop: bool) -> tuple[float, bool]:
        """The training seconds all ranks use (the largest) and whether any rank stops."""
        if not self.distributed:
            return seconds, stop
        flags = torch.tensor([seconds, float(stop)], dtype=torch.float64)
        with self.collective("agreeing on the budget"):
            dist.all_reduce(flags, op=dist.ReduceOp.MAX, group=self.control)
        return float(flags[0]), bool(flags[1])

    def any(self, flag: bool) -> bool:
        return self.agree_step(0.0, flag)[1]

    def sum(self, values: list[float], what: str = "adding up") -> list[float]:
        """Each value summed over the ranks, in rank order: the same bits on every rank."""
        if not self.distributed:
            return list(values)
        mine = torch.tensor(values, dtype=torch.float64)
        every = [torch.empty_like(mine) for _ in range(self.size)]
        with self.collective(what):
            dist.all_gather(every, mine, group=self.control)
        total = every[0].clone()
        for other in every[1:]:
            total += other
        return total.tolist()

    def gather(self, obj: Any, what: str = "gathering the checkpoint") -> list[Any] | None:
        """Every rank's `obj` (plain values and tensors, which arrive on the CPU) on rank 0;
        None elsewhere."""
        if not self.distributed:
            return [obj]
        out = [None] * self.size if self.writes else None
        with self.collective(what):
            dist.gather_object(on_cpu(obj), out, dst=0, group=self.control)
        return out

    @contextmanager
    def agreeing(self) -> Iterator[Shared]:
        """Setup that may fail on one rank only (a run directory that exists, a file missing
        on one machine): every rank learns of the first failure and stops, instead of the
        others waiting for it in the first collective. Rank 0's `Shared.value` reaches all."""
        shared = Shared()
        if not self.distributed:
            yield shared
            return
        try:
            yield shared
        except BaseException as e:
            with suppress(RuntimeError):  # the others may be gone already: say our own error
                dist.all_gather_object([None] * self.size, (one_line(e), None),
                                       group=self.control)
            raise
        outcomes: list[Any] = [None] * self.size
        with self.collective("setting up"):
            dist.all_gather_object(outcomes, (None, shared.value), group=self.control)
        failed = [(rank, error) for rank, (error, _) in enumerate(outcomes) if error]
        if failed:
            rank, error = failed[0]
            raise SeqlmError(f"process {rank} of {self.size} stopped before training: {error}")
        shared.value = outcomes[0][1]

    # ---- the model ---------------------------------------------------------------------------
    def wrap(self, model: nn.Module, device: torch.device) -> nn.Module:
        """The module training calls: DistributedDataParallel over several ranks, with its
        gradients summed (each rank's loss is already divided by the update's tokens).
        Buffers are not broadcast after construction: a rank-local state kept in a buffer
        would become rank 0's (seqlm carries the TBPTT state in the task, never a buffer)."""
        if not self.distributed:
            return model
        ddp = nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None,
            forward_sync_buffers=False)
        ddp.register_comm_hook(None, sum_gradients)
        return ddp

    def no_sync(self, model: nn.Module, last: bool):
        """Accumulation: gradients cross the ranks once, with the update's last micro-batch."""
        if not self.distributed or last:
            return nullcontext()
        return model.no_sync()

    def fork_rng(self, seed: int) -> None:
        """Ranks above 0 draw their own dropout masks (rank 0 keeps one process's stream)."""
        if self.rank > 0:
            torch.manual_seed(rank_seed(seed, self.rank))

    def describe(self, placement: Placement) -> dict[str, Any]:
        """World size, backend and every rank's host and device, for the manifest."""
        mine = {"rank": self.rank, "host": socket.gethostname(), "device": str(placement.device)}
        every = self.gather(mine, "describing the processes") or []
        return {"world_size": self.size, "backend": self.backend, "devices": every}


def sum_gradients(group: Any, bucket: dist.GradBucket) -> torch.futures.Future[torch.Tensor]:
    """DDP's communication hook: all-reduce a bucket of gradients as a sum, not a mean."""
    work = dist.all_reduce(bucket.buffer(), group=group, async_op=True)
    return work.get_future().then(lambda done: done.value()[0])


def on_cpu(obj: Any) -> Any:
    """`obj` with its tensors on the CPU: a CUDA tensor would be unpickled on its own GPU."""
    if isinstance(obj, torch.Tensor):
        return obj.detach().cpu()
    if isinstance(obj, dict):
        return {k: on_cpu(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return type(obj)(on_cpu(v) for v in obj)
    return obj


def peer_failure(error: BaseException) -> bool:
    """True if a failed collective means a peer died or hung (not a bug of ours)."""
    distributed_error = getattr(dist, "DistError", ())
    text = str(error).lower()
    return isinstance(error, distributed_error) or any(m in text for m in PEER_FAILURES)


def one_line(error: BaseException) -> str:
    return " ".join(str(error).split()) or type(error).__name__


def rank_seed(seed: int, rank: int) -> int:
    """Rank 0 keeps `seed`, so one process trains exactly as before; rank r > 0 gets a
    seed drawn from (seed, r)."""
    if rank == 0:
        return seed
    return int(np.random.SeedSequence([seed, rank]).generate_state(1)[0])


@dataclass(frozen=True)
class Launch:
    rank: int
    size: int
    local_rank: int


def launched() -> Launch | None:
    """torchrun's RANK, WORLD_SIZE and LOCAL_RANK, if this process was started by it."""
    if "WORLD_SIZE" not in os.environ:
        return None
    try:
        rank, size = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
        local_rank = int(os.environ.get("LOCAL_RANK", rank))
    except (KeyError, ValueError):
        raise SeqlmError("WORLD_SIZE is set but RANK or LOCAL_RANK is missing or not a number: "
                         "start several processes with torchrun, or unset WORLD_SIZE") from None
    if not 0 <= rank < size:
        raise SeqlmError(f"RANK={rank} is not below WORLD_SIZE={size}: start the processes "
                         "with torchrun")
    return Launch(rank, size, local_rank)


def rank_placement(device: str, precision: str, launch: Launch) -> Placement:
    """This rank's device: the GPU of its local rank for auto or cuda, else the CPU."""
    if device.startswith("cuda:"):
        raise SeqlmError(f"--device {device} names one GPU for all {launch.size} processes: "
                         "use --device cuda (or auto): each process takes its local rank's GPU")
    if device == "mps":
        raise SeqlmError("--device mps trains in one process: use --device cpu with torchrun, "
                         "or start one process")
    if device == "cpu" or (device == "auto" and not torch.cuda.is_available()):
        where = torch.device("cpu")
    else:
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if launch.local_rank >= count:
            raise SeqlmError(f"process {launch.rank} has local rank {launch.local_rank} but "
                             f"this machine has {count} CUDA device(s): start at most {count} "
                             "processes per machine (torchrun's `--nproc_per_node`), or use "
                             "--device cpu")
        where = resolve_device(f"cuda:{launch.local_rank}")
    return Placement(where, *resolve_precision(precision, where))


@contextmanager
def session(config: EngineConfig) -> Iterator[tuple[World, Placement]]:
    """This process's `World` and device for one training run; under torchrun the process
    group is joined here and left at the end."""
    launch = launched()
    if launch is None or launch.size == 1:
        yield World(timeout_s=config.distributed_timeout), Placement.resolve(
            config.device, config.precision)
        return
    placement = rank_placement(config.device, config.precision, launch)
    backend = "nccl" if placement.device.type == "cuda" else "gloo"
    timeout = datetime.timedelta(seconds=config.distributed_timeout)
    if placement.device.type == "cuda":
        torch.cuda.set_device(placement.device)
    try:
        dist.init_process_group(backend, timeout=timeout, rank=launch.rank,
                                world_size=launch.size)
        control = dist.new_group(backend="gloo", timeout=timeout) if backend == "nccl" else None
    except (RuntimeError, ValueError) as e:
        where = f"{os.environ.get('MASTER_ADDR', '?')}:{os.environ.get('MASTER_PORT', '?')}"
        raise SeqlmError(f"process {launch.rank} could not join the other {launch.size - 1} at "
                         f"{where} within {config.distributed_timeout:g} s ({one_line(e)[:120]}):"
                         " start every process with the same torchrun rendezvous flags "
                         "(torchrun's `--rdzv-endpoint`, `--nnodes`)") from None
    world = World(launch.rank, launch.size, launch.local_rank, backend,
                  config.distributed_timeout, control)
    try:
        yield world, placement
    finally:
        # a DDP reducer left for the interpreter's exit took Gloo's threads down with it there
        # ("terminate called without an active exception", a rank aborted under load): free
        # every object holding the group while Python is whole, then leave the group
        gc.collect()
        with suppress(RuntimeError):  # after a lost peer, leaving may fail too: nothing to add
            dist.destroy_process_group()
