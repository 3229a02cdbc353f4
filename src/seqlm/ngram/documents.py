"""A corpus split cut into documents, so that an index's matches stop at their ends.

Rules (`--documents`): `files` (python-stdlib and `file:` corpora: each source file, found
again from the files the corpus was read from, in the same order), `paragraphs` (runs of lines
between blank lines), `lines` (every line) and `split` (the whole split, one document). A file
that straddles two splits is cut where the split is: its head ends the first split's last
document, its tail starts the next split's first. Leaves out: document ids from metadata.
"""

from pathlib import Path

from seqlm.config.beyond_kenlm import DOCUMENT_RULES
from seqlm.config.data import SPLITS
from seqlm.config.fields import check_range
from seqlm.data.corpora import FILE_PREFIX, Corpus
from seqlm.errors import SeqlmError


def default_rule(corpus_name: str) -> str:
    return "files" if corpus_name == "python-stdlib" or corpus_name.startswith(FILE_PREFIX) \
        else "split"


def source_paths(corpus: Corpus, include: tuple[str, ...]) -> list[Path]:
    """The files a corpus was read from, in the order it joined them."""
    from seqlm.data.corpora.text import source_files

    if corpus.name == "python-stdlib":
        from seqlm.data.corpora.python_stdlib import stdlib_files, stdlib_folder

        return stdlib_files(stdlib_folder())
    if corpus.name.startswith(FILE_PREFIX):
        path = Path(corpus.name[len(FILE_PREFIX):]).expanduser()
        return source_files(path, include) if path.is_dir() else [path]
    raise SeqlmError(f"{corpus.name} is not read from files: use --documents paragraphs, lines "
                     "or split")


def file_documents(corpus: Corpus, split: str, include: tuple[str, ...] = ()) -> list[str]:
    from seqlm.data.corpora.text import read_text_file

    ends, at = [], 0
    for p in source_paths(corpus, include):
        text = read_text_file(p, "replace")
        at += len(text) + (not text.endswith("\n"))
        ends.append(at)
    sizes = corpus.split_sizes()
    if at != sum(sizes.values()):
        raise SeqlmError(f"the files of {corpus.name} changed since it was read: run the "
                         "command again, or use --documents split")
    start = sum(sizes[s] for s in SPLITS[:SPLITS.index(split)] if s in sizes)
    text = corpus.text(split)
    cuts = [e - start for e in ends if start < e < start + len(text)]
    bounds = [0, *cuts, len(text)]
    return [text[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]


def documents(corpus: Corpus, split: str, rule: str, include: tuple[str, ...] = ()) -> list[str]:
    """The documents of one split of `corpus` under `rule`."""
    check_range("documents", rule, {"choices": DOCUMENT_RULES})
    text = corpus.text(split)
    if rule == "files":
        return file_documents(corpus, split, include)
    if rule == "split":
        return [text]
    if rule == "lines":
        return [line + "\n" for line in text.splitlines()]
    paragraphs, current = [], []
    for line in text.splitlines():
        if line.strip():
            current.append(line + "\n")
        elif current:
            paragraphs.append("".join(current))
            current = []
    return [*paragraphs, "".join(current)] if current else paragraphs


def build_corpus_index(config, out: str | Path, overwrite: bool = False,
                       progress=None) -> tuple[dict, float]:
    """Index one split of a corpus (an `InfiniGramConfig`) into the file `out`; returns the
    index's summary and the seconds the build took (corpus loading not included)."""
    import time

    from seqlm.data.corpora import load_corpus
    from seqlm.ngram.suffix_index import build_index

    out = Path(out)
    if out.exists() and not overwrite:
        raise SeqlmError(f"{out} exists: pass --overwrite to replace it, or choose another --out")
    corpus = load_corpus(config.corpus, progress)
    unit = config.unit or corpus.default_unit
    docs = documents(corpus, config.split, config.documents or default_rule(corpus.name),
                     config.corpus.include)
    start = time.perf_counter()
    info = build_index(docs, unit, out, {**corpus.identity(), "split": config.split}, progress)
    seconds = time.perf_counter() - start
    size = out.stat().st_size
    return {"index": str(out), "unit": unit, "tokens": info.n_tokens,
            "documents": info.n_documents, "bytes": size,
            "bytes_per_token": size / info.n_tokens, "token_dtype": info.token_dtype,
            "build_s": seconds}, seconds
