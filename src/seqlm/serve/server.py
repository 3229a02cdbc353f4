"""Running `seqlm serve`: load and warm every model, build the app, then open the port.

The models are loaded (`seqlm.serve.models.load_models`) and have each answered once before
uvicorn binds the socket, so the first request finds them ready. `started(url)` is called
once the port accepts connections (the CLI prints the address then). Starlette and uvicorn
are an optional extra: without them `require_server` refuses in one line.
Leaves out: several worker processes (one process holds the models once), TLS.
"""

import importlib.util
import sys
from collections.abc import Callable

from seqlm.config import ServeConfig
from seqlm.errors import SeqlmError

NEEDED = ("starlette", "uvicorn")


def require_server() -> None:
    """A one-line refusal unless Starlette and uvicorn are installed."""
    missing = [name for name in NEEDED if importlib.util.find_spec(name) is None]
    if missing:
        raise SeqlmError(f"seqlm serve needs {' and '.join(missing)}: "
                         "pip install 'seqlm[serve]'")


def serve(config: ServeConfig, started: Callable[[str], None] | None = None) -> None:
    """Serve the models of `config` until interrupted."""
    require_server()
    import uvicorn

    from seqlm.serve.app import build_app
    from seqlm.serve.models import load_models

    models = load_models(config)
    if "torch" in sys.modules:  # a neural model was loaded (n-gram models never import torch)
        sys.modules["torch"].set_num_threads(config.threads)  # for all requests together
    app = build_app(models, config)
    server = uvicorn.Server(uvicorn.Config(app, host=config.host, port=config.port,
                                           log_level="warning", access_log=False,
                                           timeout_graceful_shutdown=2))
    if started is not None:
        startup = server.startup

        async def announcing(sockets=None):  # uvicorn's startup, then the address it bound
            await startup(sockets)
            if server.started:
                host, port = server.servers[0].sockets[0].getsockname()[:2]
                started(f"http://{host}:{port}/")

        server.startup = announcing
    try:
        server.run()
    except SystemExit as e:  # uvicorn exits when it cannot bind the port
        raise SeqlmError(f"seqlm serve could not listen on {config.host}:{config.port} "
                         "(in use, or not an address of this machine): choose another "
                         "with --port N or --host ADDRESS") from e
