"""Where and in what precision a model runs: `--device` and `--precision` resolved once.

    device     auto -> the first CUDA GPU, else Apple's MPS, else the CPU; cuda:N, mps or cpu
               name one (asking for one that is absent is an error naming what is there)
    precision  fp32; bf16 or fp16 autocast for matrix products (torch.autocast), with the
               loss, softmax, recurrent state and optimiser state kept in fp32; fp16 also
               scales the loss (GradScaler) so small gradients survive; auto = bf16 on a CUDA
               GPU that supports it (else fp16), fp32 on the CPU and MPS. On the CPU, bf16
               also runs the fused recurrences' matrix products in bf16
               (`seqlm.nn.fast.matmul`); a CPU without native bf16 kernels (oneDNN finds
               neither AVX512-BF16 nor AMX) runs fp32 instead, with a one-line note (a
               warning, and `note` in the manifest's placement)

`Placement` carries the resolved pair, the autocast context and what the manifest records
(device name, compute capability, CUDA and cuDNN versions, bf16 support). Leaves out:
several devices per process (distributed training runs one process per device).
"""

import contextlib
import warnings
from dataclasses import dataclass

import torch

from seqlm.errors import SeqlmError

DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def resolve_device(spec: str = "auto") -> torch.device:
    """The torch device that `spec` names, checked to exist here."""
    if spec == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda", torch.cuda.current_device())
        if mps_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        device = torch.device(spec) if isinstance(spec, str) else None
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda", "mps"):
        raise SeqlmError(f"--device {spec}: not a device seqlm runs on; use auto, cpu, cuda, "
                         "cuda:N or mps")
    if device.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        index = 0 if device.index is None else device.index
        if index >= count:
            raise SeqlmError(f"--device {spec}: this machine has {count} CUDA device(s); use "
                             "--device cpu or --device auto")
        return torch.device("cuda", index)
    if device.type == "mps" and not mps_available():
        raise SeqlmError(f"--device {spec}: Apple's MPS is not available here; use --device cpu "
                         "or --device auto")
    return device


def mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return backend is not None and backend.is_available()


def cpu_bf16_supported() -> bool:
    """Whether oneDNN has native bf16 kernels on this CPU (AVX512-BF16 or AMX)."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    try:
        return bool(check()) if check is not None else False
    except RuntimeError:
        return False


CPU_BF16_FALLBACK = ("--precision bf16: this CPU has no native bf16 kernels (oneDNN finds "
                     "neither AVX512-BF16 nor AMX), running fp32")


def resolve_precision(spec: str, device: torch.device) -> tuple[str, str]:
    """(fp32, bf16 or fp16 for `device`, a note or ""); `auto` picks as the module docstring
    says; bf16 on a CPU without bf16 kernels falls back to fp32 with a note."""
    if spec == "auto":
        if device.type == "cuda":
            return ("bf16" if torch.cuda.is_bf16_supported() else "fp16"), ""
        return "fp32", ""
    if spec == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise SeqlmError("--precision bf16: this GPU has no bf16; use --precision fp16 or fp32")
    if spec == "bf16" and device.type == "cpu" and not cpu_bf16_supported():
        warnings.warn(CPU_BF16_FALLBACK, stacklevel=3)
        return "fp32", CPU_BF16_FALLBACK
    return spec, ""


@dataclass(frozen=True)
class Placement:
    """A resolved device and precision."""

    device: torch.device
    precision: str  # fp32, bf16 or fp16: what runs
    note: str = ""  # why it is not what was asked for, if it is not

    @classmethod
    def resolve(cls, device: str = "auto", precision: str = "auto") -> "Placement":
        where = resolve_device(device)
        return cls(where, *resolve_precision(precision, where))

    def autocast(self) -> contextlib.AbstractContextManager:
        """The forward pass's autocast context (a no-op in fp32)."""
        if self.precision == "fp32":
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=DTYPES[self.precision])

    def scaler(self) -> torch.amp.GradScaler:
        """Loss scaling for fp16; disabled (a pass-through) otherwise."""
        return torch.amp.GradScaler(self.device.type, enabled=self.precision == "fp16")

    def describe(self) -> dict:
        """What the manifest records about where the run ran."""
        out = {"device": str(self.device), "precision": self.precision}
        if self.note:
            out["note"] = self.note
        if self.device.type == "cuda":
            index = self.device.index or 0
            major, minor = torch.cuda.get_device_capability(index)
            out.update(name=torch.cuda.get_device_name(index), capability=f"{major}.{minor}",
                       cuda=torch.version.cuda, cudnn=torch.backends.cudnn.version(),
                       bf16=torch.cuda.is_bf16_supported())
        elif self.device.type == "cpu":
            out.update(bf16=cpu_bf16_supported(), threads=torch.get_num_threads())
        return out
