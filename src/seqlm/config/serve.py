"""`seqlm serve`: where the local web app listens and how much one request may ask for.

Every bound a request is checked against lives here (`seqlm.serve.limits` reads them); a
request past one is refused with a JSON error and a 4xx code, never clipped silently.
Leaves out: authentication and TLS (the server binds to loopback unless told otherwise).
"""

from dataclasses import dataclass

from seqlm.config.fields import Config, opt
from seqlm.errors import ConfigError


@dataclass(frozen=True)
class ServeConfig(Config):
    """The models to serve, the address, and the per-request bounds."""

    runs: tuple[str, ...] = ()
    host: str = opt("127.0.0.1", help="the address to bind; loopback unless you mean otherwise")
    port: int = opt(8000, ge=0, le=65535, help="0 = any free port")
    threads: int = opt(1, ge=1, le=256, help="torch threads for all requests together")
    max_request_bytes: int = opt(65_536, ge=1024, le=16_777_216, help="a larger body: 413")
    max_prime_chars: int = opt(2_000, ge=1, help="prime, date and context length")
    max_text_chars: int = opt(20_000, ge=2, help="a text to score or read activations over")
    max_output_tokens: int = opt(1_000, ge=1, le=1_000_000, help="tokens one sample may ask for")
    default_output_tokens: int = opt(200, ge=1, help="tokens of a sample that names no length")
    default_temperature: float = opt(0.8, ge=0.0, help="0 = greedy")
    max_beam_width: int = opt(16, ge=1, le=1000)
    max_concurrent: int = opt(4, ge=1, le=1024, help="generations running at once")
    max_waiting: int = opt(64, ge=0, le=100_000, help="requests queued behind them; more: 429")
    flush_seconds: float = opt(0.02, gt=0.0, le=10.0, help="a sample's tokens made within this "
                               "long go out in one write")
    top_alternatives: int = opt(5, ge=1, le=50, help="alternatives shown per sampled token")
    worst_tokens: int = opt(10, ge=1, le=1000, help="tokens a score marks as the worst")
    max_next_tokens: int = opt(50, ge=1, le=10_000, help="n-gram: most tokens one answer lists")
    warmup_tokens: int = opt(16, ge=1, le=10_000, help="tokens each model samples before the "
                             "port opens")

    def check(self) -> None:
        if self.default_output_tokens > self.max_output_tokens:
            raise ConfigError("default_output_tokens", self.default_output_tokens,
                              f"must be at most max_output_tokens ({self.max_output_tokens})")
