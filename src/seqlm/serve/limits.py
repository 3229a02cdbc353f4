"""What one request may ask of `seqlm serve`, checked before any model runs.

A request body is a JSON object; each field is read with its type and its bound from
`ServeConfig`. Anything outside is a `RequestError` with the HTTP status it answers with
(400 bad value, 404 unknown model, 413 too large, 429 too busy) and a one-line message that
names the field, the value and what would do. Nothing is clipped silently. Leaves out: rate
limits per client (the bound is on generations running and waiting, for all clients).
"""

import json
import math
from dataclasses import dataclass
from typing import Any

from seqlm.config import ServeConfig
from seqlm.errors import SeqlmError


class RequestError(SeqlmError):
    """A refused request: `status` is its 4xx code, the message one line."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


def parse_body(raw: bytes, config: ServeConfig) -> dict[str, Any]:
    """The JSON object of a request body, refused past `max_request_bytes`."""
    if len(raw) > config.max_request_bytes:
        raise too_large(len(raw), config)
    try:
        body = json.loads(raw or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise RequestError(400, "the body is not JSON: send a JSON object such as "
                           '{"model": "ID", "prime": "The "}') from None
    if not isinstance(body, dict):
        raise RequestError(400, f"the body is a JSON {type(body).__name__}, not an object: "
                           'send {"model": "ID", ...}')
    return body


def too_large(size: int, config: ServeConfig) -> RequestError:
    return RequestError(413, f"the body has {size} bytes, more than this server's "
                        f"{config.max_request_bytes}: send less, or start it with "
                        "--max-request-bytes N")


def text(body: dict, name: str, limit: int, flag: str, default: str | None = None,
         min_chars: int = 0) -> str:
    """A string field of at most `limit` characters (`flag` raises the bound)."""
    value = body.get(name, default)
    if value is None:
        raise RequestError(400, f"the request has no {name!r}: give it as a string")
    if not isinstance(value, str):
        raise RequestError(400, f"{name} must be a string, not {type(value).__name__}")
    if len(value) > limit:
        raise RequestError(400, f"{name} has {len(value)} characters, more than this server's "
                           f"{limit}: shorten it, or start the server with {flag} N")
    if len(value) < min_chars:
        raise RequestError(400, f"{name} needs at least {min_chars} characters, got "
                           f"{len(value)}")
    return value


def number(body: dict, name: str, default: float | None, low: float | None = None,
           high: float | None = None, integer: bool = False, why: str = "") -> Any:
    """A number field within [low, high] (None: unbounded), an int where `integer`."""
    value = body.get(name, default)
    if value is None:
        return None
    kind = "an integer" if integer else "a number"
    if isinstance(value, bool) or not isinstance(value, int | float) or \
            (integer and not float(value).is_integer()) or not math.isfinite(value):
        raise RequestError(400, f"{name} must be {kind}, not {json.dumps(value)[:40]}")
    if (low is not None and value < low) or (high is not None and value > high):
        bounds = f"from {low}" + (f" to {high}" if high is not None else " up")
        raise RequestError(400, f"{name} = {value} is out of range: choose {kind} {bounds}"
                           f"{why}")
    return int(value) if integer else float(value)


@dataclass(frozen=True)
class SampleRequest:
    prime: str
    length: int
    temperature: float
    top_k: int | None
    top_p: float | None
    repetition_penalty: float
    beam_width: int | None
    seed: int


def sample_request(body: dict, config: ServeConfig) -> SampleRequest:
    """POST /api/sample's fields, each within this server's bounds."""
    return SampleRequest(
        prime=text(body, "prime", config.max_prime_chars, "--max-prime-chars", default=""),
        length=number(body, "length", config.default_output_tokens, 1,
                      config.max_output_tokens, integer=True,
                      why=" (this server's --max-output-tokens)"),
        temperature=number(body, "temperature", config.default_temperature, 0.0,
                           why=" (0 is greedy)"),
        top_k=number(body, "top_k", None, 1, integer=True),
        top_p=number(body, "top_p", None, 1e-9, 1.0),
        repetition_penalty=number(body, "repetition_penalty", 1.0, 1e-9,
                                  why=" (1 leaves the model as it is)"),
        beam_width=number(body, "beam_width", None, 1, config.max_beam_width, integer=True,
                          why=" (this server's --max-beam-width)"),
        seed=number(body, "seed", 0, 0, 2**63 - 1, integer=True))
