"""The ASGI app of `seqlm serve` (Starlette): one page and a JSON API over loaded models.

    GET  /                 the page (`page.html`: self-contained, loads nothing else)
    GET  /api/models       the models, their families and endpoints, and the bounds
    POST /api/sample       {model, prime, length, temperature, top_k, top_p,
                            repetition_penalty, beam_width, seed} -> NDJSON, one line per
                           token {text, token, p, top: [{token, p}] x5}, then {done, text}
    POST /api/score        {model, text} -> totals (nats per token, bits per char) and every
                           token's nats, the worst ones' indices
    POST /api/translate    {model, source, beam_width} -> {output, attention, ...}
    POST /api/next         {model, context, start, k} -> next tokens, p, the order answering
    POST /api/activations  {model, text, layer, unit} -> one unit's value per token

Every refusal is JSON `{"error": "one line"}` with a 4xx status (`seqlm.serve.limits`). All
model work goes through one gate: `max_concurrent` requests run (in worker threads), up to
`max_waiting` more wait their turn, and beyond that a request is refused with 429.
Leaves out: authentication, TLS, CORS (the page is served from the same origin).
"""

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Iterator
from importlib.resources import files

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from seqlm.config import ServeConfig
from seqlm.errors import SeqlmError
from seqlm.serve import limits
from seqlm.serve.limits import RequestError
from seqlm.serve.models import find


class Gate:
    """At most `running` holders at once and `waiting` in line; more: RequestError 429."""

    def __init__(self, running: int, waiting: int):
        self.slots, self.waiting, self.queued = asyncio.Semaphore(running), waiting, 0

    async def enter(self) -> None:
        if self.slots.locked() and self.queued >= self.waiting:
            raise RequestError(429, "the server is busy: every generation slot and place in "
                               "line is taken; try again shortly, or start it with "
                               "--max-concurrent N")
        self.queued += 1
        try:
            await self.slots.acquire()
        finally:
            self.queued -= 1

    def leave(self) -> None:
        self.slots.release()


async def read_body(request: Request, config: ServeConfig) -> dict:
    """The JSON body, read no further than `max_request_bytes`."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > config.max_request_bytes:
        raise limits.too_large(int(declared), config)
    raw = bytearray()
    async for chunk in request.stream():
        raw += chunk
        if len(raw) > config.max_request_bytes:
            raise limits.too_large(len(raw), config)
    return limits.parse_body(bytes(raw), config)


def build_app(models: dict, config: ServeConfig) -> Starlette:
    """The app over already loaded (and warmed) models."""
    gate = Gate(config.max_concurrent, config.max_waiting)
    page = files("seqlm.serve").joinpath("page.html").read_text(encoding="utf-8")

    async def gated(request: Request, endpoint: str, work: Callable) -> Response:
        body = await read_body(request, config)
        model = find(models, body.get("model"), endpoint)
        await gate.enter()
        try:
            return JSONResponse(await run_in_threadpool(work, model, body))
        finally:
            gate.leave()

    async def index(request: Request) -> Response:
        return HTMLResponse(page, headers={"Content-Security-Policy": "default-src 'self'; "
                                           "script-src 'unsafe-inline'; style-src "
                                           "'unsafe-inline'; img-src data:"})

    async def list_models(request: Request) -> Response:
        return JSONResponse({"models": [m.describe() for m in models.values()],
                             "limits": limits_of(config)})

    async def sample(request: Request) -> Response:
        body = await read_body(request, config)
        model = find(models, body.get("model"), "sample")
        asked = limits.sample_request(body, config)
        await gate.enter()
        try:
            tokens = model.stream(asked, config.top_alternatives)
            first = await run_in_threadpool(next, tokens)  # a bad prime: a 400, not a stream
        except BaseException:
            gate.leave()
            raise
        return GatedStream(lines(first, tokens, config.flush_seconds), gate.leave)

    def score(model, body: dict) -> dict:
        return model.score(limits.text(body, "text", config.max_text_chars,
                                       "--max-text-chars"), config.worst_tokens)

    def translate(model, body: dict) -> dict:
        return model.translate(
            limits.text(body, "source", config.max_prime_chars, "--max-prime-chars",
                        min_chars=1),
            limits.number(body, "beam_width", 1, 1, config.max_beam_width, integer=True,
                          why=" (this server's --max-beam-width)"))

    def next_tokens(model, body: dict) -> dict:
        start = body.get("start", True)
        if not isinstance(start, bool):
            raise RequestError(400, "start must be true or false (whether the context "
                               "begins a line)")
        return model.next(limits.text(body, "context", config.max_prime_chars,
                                      "--max-prime-chars", default=""), start,
                          limits.number(body, "k", 10, 1, config.max_next_tokens,
                                        integer=True, why=" (--max-next-tokens)"))

    def activations(model, body: dict) -> dict:
        layer = body.get("layer")
        if layer is not None and not isinstance(layer, str):
            raise RequestError(400, "layer must be a state's name such as \"h1\" or \"c2\"")
        return model.activations(
            limits.text(body, "text", config.max_text_chars, "--max-text-chars",
                        min_chars=1), layer, limits.number(body, "unit", None, 0, integer=True))

    def post(endpoint: str, work: Callable) -> Callable:
        async def handle(request: Request) -> Response:
            return await gated(request, endpoint, work)
        return handle

    routes = [Route("/", index), Route("/api/models", list_models),
              Route("/api/sample", sample, methods=["POST"]),
              Route("/api/score", post("score", score), methods=["POST"]),
              Route("/api/translate", post("translate", translate), methods=["POST"]),
              Route("/api/next", post("next", next_tokens), methods=["POST"]),
              Route("/api/activations", post("activations", activations), methods=["POST"])]
    return Starlette(routes=routes, exception_handlers={
        RequestError: refused, SeqlmError: refused, HTTPException: http_error})


class GatedStream(StreamingResponse):
    """A streamed sample that gives its gate slot back however the response ends: finished,
    failed, or cut short by a client that left, even before the first line was asked for
    (a generator's own `finally` never runs if it was never started, and a slot lost that
    way is lost for the server's life)."""

    def __init__(self, content: AsyncIterator[bytes], leave: Callable[[], None]):
        super().__init__(content, media_type="application/x-ndjson")
        self.leave = leave

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.leave()


async def lines(first: dict, tokens: Iterator[dict], flush_seconds: float
                ) -> AsyncIterator[bytes]:
    """NDJSON lines of a sample, one per token, sent as they come (the lines made within
    `flush_seconds` in one write: a thread hop per token would cost more than the token)."""
    yield json.dumps(first).encode() + b"\n"
    while batch := await run_in_threadpool(take, tokens, flush_seconds):
        yield b"".join(json.dumps(item).encode() + b"\n" for item in batch)


def take(tokens: Iterator[dict], seconds: float) -> list[dict]:
    """The items `tokens` gives within `seconds` (at least one unless it is exhausted)."""
    out, end = [], time.perf_counter() + seconds
    for item in tokens:
        out.append(item)
        if time.perf_counter() >= end:
            break
    return out


def limits_of(config: ServeConfig) -> dict:
    names = ("max_request_bytes", "max_prime_chars", "max_text_chars", "max_output_tokens",
             "max_beam_width", "max_concurrent", "top_alternatives")
    return {name: getattr(config, name) for name in names}


async def refused(request: Request, error: Exception) -> Response:
    status = getattr(error, "status", 400)
    return JSONResponse({"error": " ".join(str(error).split())}, status_code=status)


async def http_error(request: Request, error: HTTPException) -> Response:
    return JSONResponse({"error": f"{error.detail}: {request.method} {request.url.path}; the "
                         "API is GET /api/models and POST /api/{sample,score,translate,next,"
                         "activations}"}, status_code=error.status_code)
