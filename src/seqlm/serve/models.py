"""The models `seqlm serve` holds: each path on the command line loaded once, by what it is.

    a run directory or checkpoint of `seqlm train`     -> ServedLM         (best.pt)
    ... of `seqlm seq2seq train`                        -> ServedTranslator
    a folder `seqlm export` wrote (config.json + ...)   -> either, read without pickle
    an ARPA file, or a directory holding model.arpa     -> ServedNgram
    a binary n-gram model (`seqlm ngram build`)          -> ServedNgram

Each model gets an id, its path's last name (made unique with -2, -3, ...): requests name a
model by that id and nothing else, so no request ever opens a file. `load_models` warms each
one up before it returns, so the port opens on models that have run once.
Leaves out: reloading a model whose files change while serving.
"""

from pathlib import Path

from seqlm.config import ServeConfig
from seqlm.errors import SeqlmError
from seqlm.serve.limits import RequestError

ARPA_NAME = "model.arpa"


def ngram_file(path: Path) -> Path | None:
    """The n-gram file `path` names (itself, or a run directory's model.arpa), else None."""
    if path.is_dir():
        return path / ARPA_NAME if (path / ARPA_NAME).is_file() else None
    if path.suffix == ".arpa":
        return path
    from seqlm.ngram.binary import MAGIC

    with open(path, "rb") as f:
        return path if f.read(len(MAGIC))[:7] == MAGIC[:7] else None


def load_one(name: str, path: Path):
    """The served model of one path."""
    if not path.exists():
        raise SeqlmError(f"{path} does not exist: give seqlm serve a run directory, an "
                         "exported model folder, an ARPA file or a binary n-gram model")
    found = ngram_file(path)
    if found is not None:
        from seqlm.serve.ngram import ServedNgram

        if found.suffix == ".arpa":
            from seqlm.ngram import read_arpa

            return ServedNgram(name, read_arpa(found))
        from seqlm.ngram.binary import load_binary

        return ServedNgram(name, load_binary(found))
    from seqlm.checkpoint import load

    loaded = load(path, "cpu")
    if loaded.kind == "lm":
        from seqlm.serve.lm import ServedLM

        return ServedLM(name, loaded)
    from seqlm.serve.seq2seq import ServedTranslator

    return ServedTranslator(name, loaded)


def model_ids(paths: list[Path]) -> list[str]:
    """Each path's last name, made unique in command-line order."""
    ids: list[str] = []
    for path in paths:
        base = path.resolve().name.removesuffix(".arpa") or "model"
        name, n = base, 1
        while name in ids:
            n += 1
            name = f"{base}-{n}"
        ids.append(name)
    return ids


def load_models(config: ServeConfig) -> dict:
    """id -> served model for every run of `config`, each loaded and warmed up once."""
    if not config.runs:
        raise SeqlmError("seqlm serve needs at least one model: give a run directory, e.g. "
                         "seqlm serve runs/mine")
    paths = [Path(run).expanduser() for run in config.runs]
    models = {name: load_one(name, path) for name, path in
              zip(model_ids(paths), paths, strict=True)}
    for model in models.values():
        model.warm_up(config.warmup_tokens)
    return models


def find(models: dict, name, endpoint: str):
    """The model a request names by id, if it answers `endpoint`; else a 4xx RequestError."""
    if not isinstance(name, str) or name not in models:
        known = ", ".join(models)
        raise RequestError(404, f"no model {str(name)[:60]!r} here: this server holds {known} "
                           "(GET /api/models lists them)")
    model = models[name]
    if endpoint not in model.endpoints:
        able = [m for m, s in models.items() if endpoint in s.endpoints]
        raise RequestError(400, f"model {name} is a {model.family} model, which does not "
                           f"answer /api/{endpoint}: "
                           + (f"use {', '.join(able)}" if able else "no model here does"))
    return model
