"""`seqlm export --format hf`: the folder loads to the run's logits bit for bit, for every model
family, without unpickling anything; its model card copies the manifest; refusals are one line."""

import json
import pathlib
import pickle
from dataclasses import replace

import pytest
import torch

import seqlm
from seqlm.checkpoint import load
from seqlm.config import (
    CorpusConfig,
    EngineConfig,
    ExportConfig,
    LMConfig,
    Seq2SeqConfig,
    Seq2SeqModelConfig,
    Seq2SeqTrainConfig,
    TrainConfig,
    seq2seq_engine,
)
from seqlm.errors import SeqlmError
from seqlm.export.hf import export_run

FAMILIES = {  # tiny models, a few steps each: the weights need not be good, only exported
    "rnn": {"cell": "rnn"}, "rnn_relu": {"cell": "rnn_relu"}, "lstm": {"cell": "lstm"},
    "lstm-tied": {"cell": "lstm", "tie_weights": True, "embedding_dim": 16},
    "gru": {"cell": "gru", "num_layers": 2}, "mingru": {"cell": "mingru"},
    "minlstm": {"cell": "minlstm"},
    "seq2seq-bahdanau": {"cell": "gru", "attention": "bahdanau"},
    "seq2seq-none": {"cell": "lstm", "attention": "none"},
}


def train_tiny(name: str, out: pathlib.Path) -> pathlib.Path:
    model = FAMILIES[name]
    if name.startswith("seq2seq"):
        config = Seq2SeqConfig(
            corpus=CorpusConfig(name="dates", size=100),
            model=Seq2SeqModelConfig(embedding_dim=8, hidden_size=8, attention_size=8, **model),
            train=Seq2SeqTrainConfig(batch_size=8, eval_size=8),
            engine=replace(seq2seq_engine(), max_steps=2, eval_every=2, threads=1,
                           device="cpu"))
    else:
        config = TrainConfig(
            corpus=CorpusConfig(name="verbs", size=300),
            model=LMConfig(unit="word", **{"embedding_dim": 8, "hidden_size": 16,
                                           "num_layers": 1, **model}),
            engine=EngineConfig(max_steps=2, eval_every=2, threads=1, device="cpu"),
            batch_size=4, window=8, eval_max_tokens=200)
    return seqlm.train(config, out=out).path


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """name -> (run directory, its export folder), trained and exported once per module."""
    root = tmp_path_factory.mktemp("export")
    found = {}
    for name in FAMILIES:
        run = train_tiny(name, root / name)
        found[name] = run, export_run(ExportConfig(run=str(run), out=str(root / f"{name}-hf")))
    return found


def logits_of(loaded) -> torch.Tensor:
    """The model's logits on fixed inputs: (B, T, V) for an LM, per target step for seq2seq."""
    g = torch.Generator().manual_seed(0)
    if loaded.kind == "lm":
        idx = torch.randint(4, len(loaded.vocab), (3, 9), generator=g)
        return loaded.model(idx)[0]
    src = torch.randint(4, len(loaded.vocab.source), (3, 11), generator=g)
    tgt = torch.randint(4, len(loaded.vocab.target), (3, 6), generator=g)
    return loaded.model(src, torch.tensor([11, 7, 3]), tgt)[0]


@pytest.mark.parametrize("name", FAMILIES)
def test_the_folder_gives_the_runs_logits_bit_for_bit(runs, name):
    run, folder = runs[name]
    assert sorted(p.name for p in folder.iterdir()) == ["README.md", "config.json",
                                                        "model.safetensors"]
    from_run, from_folder = load(run), load(folder)
    assert from_folder.kind == from_run.kind and from_folder.config == from_run.config
    assert from_folder.vocab.to_dict() == from_run.vocab.to_dict()
    with torch.no_grad():
        assert torch.equal(logits_of(from_run), logits_of(from_folder))
    if name == "lstm-tied":  # the tie survives: one parameter, not two copies
        model = from_folder.model
        assert model.proj.weight is model.embedding.weight


def test_the_api_and_the_commands_take_the_folder(runs, capsys):
    from seqlm.cli import main

    run, folder = runs["gru"]
    assert seqlm.load(folder).generate("", 30, seed=3) == seqlm.load(run).generate("", 30, seed=3)
    outputs = []
    for target in (run, folder):
        assert main(["sample", str(target), "--length", "20", "--seed", "1"]) == 0
        assert main(["eval", str(target), "--quiet", "--out", str(target.parent / "ev"),
                     "--overwrite"]) == 0
        outputs.append(capsys.readouterr().out.replace(str(target), "RUN"))
    assert outputs[0] == outputs[1]
    run, folder = runs["seq2seq-bahdanau"]
    translated = []
    for target in (run, folder):
        assert main(["seq2seq", "translate", str(target), "9/17/76", "may 26, 2011"]) == 0
        translated.append(capsys.readouterr().out)
    assert translated[0] == translated[1]


def bait(marker: pathlib.Path) -> bytes:
    """A pickle that creates `marker` when it is unpickled (what a hostile .pt would do)."""

    class Touch:
        def __reduce__(self):
            return pathlib.Path.touch, (marker,)

    return pickle.dumps(Touch())


def test_loading_a_folder_never_unpickles_a_pt_beside_it(runs, tmp_path, monkeypatch, capsys):
    import shutil

    from seqlm.cli import main

    folder = tmp_path / "hostile"
    shutil.copytree(runs["lstm"][1], folder)
    marker = tmp_path / "pwned"
    pickle.loads(bait(marker))  # the bait is real: unpickling it does create the file
    assert marker.exists()
    marker.unlink()
    for name in ("best.pt", "last.pt", "checkpoint.pt"):
        (folder / name).write_bytes(bait(marker))

    def refuse(*args, **kwargs):
        raise AssertionError("an exported folder was loaded through torch.load (pickle)")

    monkeypatch.setattr(torch, "load", refuse)
    monkeypatch.setattr(pickle, "load", refuse)
    monkeypatch.setattr(pickle, "loads", refuse)
    monkeypatch.setattr(pickle, "Unpickler", refuse)
    expected = load(runs["lstm"][1])
    with torch.no_grad():
        assert torch.equal(logits_of(load(folder)), logits_of(expected))
    seqlm.load(folder).generate("", 10)
    assert main(["sample", str(folder), "--length", "5"]) == 0
    assert not marker.exists()
    capsys.readouterr()


def test_the_model_card_copies_the_manifest(runs):
    for name in ("lstm", "seq2seq-bahdanau"):
        run, folder = runs[name]
        manifest = json.loads((run / "manifest.json").read_text())
        card = (folder / "README.md").read_text()
        head = card.split("---\n")[1].splitlines()
        assert "library_name: seqlm" in head and "license: mit" in head and "tags:" in head
        assert head[head.index("tags:") + 1] == "- seqlm"
        metrics = manifest["metrics"]
        corpora = [manifest["data"]["corpus"]] if name == "lstm" else manifest["data"].values()
        for corpus in corpora:
            assert f"`{corpus['sha256']}`" in card
            assert f"{corpus['split_chars']['train']:,}" in card
        parameters = sum(p.numel() for p in load(run).model.parameters())
        assert f"- parameters: {parameters:,}" in card
        assert f"- seed: {manifest['seed']}\n" in card
        assert f"- wall seconds: {manifest['seconds']:.6g}" in card
        assert f"precision: {manifest['placement']['precision']}" in card
        assert manifest["environment"]["cpu"] in card
        assert " ".join(manifest["argv"][1:]) in card
        assert "## Intended use" in card and "## Out-of-scope use" in card
        if name == "lstm":
            best = metrics["best_valid_full"]
            assert (f"| {best['tokens']} | {best['loss_nats']:.6g} | {best['perplexity']:.6g} | "
                    f"{best['bits_per_char']:.6g} |") in card
            sample = seqlm.load(folder).generate("", 200, temperature=0.8, seed=0)
            assert f"```text\n{sample}\n```" in card
        else:
            for regime, scores in metrics["test"].items():
                assert f"| {regime} | {scores['exact_match']['n']} |" in card


def one_line(capsys, code: int, needle: str) -> None:
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2 and len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith("seqlm: error:") and needle in lines[0], lines[0]


def test_refusals_are_one_line(runs, tmp_path, capsys):
    from seqlm.cli import main

    run, folder = runs["lstm"]
    export = ["export", str(run), "--format", "hf", "--out"]
    one_line(capsys, main(["export", str(tmp_path), "--out", str(tmp_path / "x")]),
             "not a seqlm run directory")
    evaluated = tmp_path / "ev"  # an eval run: a run, but it holds no model
    assert main(["eval", str(run), "--quiet", "--out", str(evaluated)]) == 0
    capsys.readouterr()
    one_line(capsys, main(["export", str(evaluated), "--out", str(tmp_path / "x")]),
             "holds no trained model")
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.txt").write_text("keep me")
    one_line(capsys, main([*export, str(mine)]), "exists and is not empty")
    one_line(capsys, main([*export, str(mine), "--overwrite"]), "did not write")
    assert (mine / "notes.txt").read_text() == "keep me"
    one_line(capsys, main([*export, str(run.parent / 'gru'), "--overwrite"]), "did not write")
    one_line(capsys, main(["seq2seq", "translate", str(folder), "9/17/76"]), "not 'seq2seq'")
    one_line(capsys, main(["train", "--resume", str(folder), "--quiet"]), "exported model")
    assert not list(tmp_path.glob(".*seqlm-new*"))


@pytest.mark.parametrize("damage", ["no config", "no weights", "config not json",
                                    "config not seqlm", "weights truncated", "weights garbage",
                                    "weights renamed"])
def test_a_damaged_folder_is_one_line(runs, tmp_path, capsys, damage):
    import shutil

    from seqlm.cli import main

    folder = tmp_path / "f"
    shutil.copytree(runs["lstm"][1], folder)
    config, weights = folder / "config.json", folder / "model.safetensors"
    if damage == "no config":
        config.unlink()
    elif damage == "no weights":
        weights.unlink()
    elif damage == "config not json":
        config.write_text(config.read_text()[:100])
    elif damage == "config not seqlm":
        config.write_text('{"model_type": "bert"}')
    elif damage == "weights truncated":
        weights.write_bytes(weights.read_bytes()[:-100])
    elif damage == "weights garbage":
        weights.write_bytes(b"\x00" * 64)
    else:
        from safetensors.torch import load as read
        from safetensors.torch import save

        tensors = read(weights.read_bytes())
        tensors["other.weight"] = tensors.pop(next(iter(tensors)))
        weights.write_bytes(save(tensors))
    with pytest.raises(SeqlmError):
        load(folder)
    one_line(capsys, main(["sample", str(folder), "--length", "5"]), str(folder))


def test_overwrite_replaces_an_export_whole(runs, tmp_path, monkeypatch, capsys):
    import seqlm.export.hf as exporting
    from seqlm.cli import main

    out = tmp_path / "hf"
    (lstm, _), (gru, _) = runs["lstm"], runs["gru"]
    assert main(["export", str(lstm), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(exporting, "model_card", broken)
    assert main(["export", str(gru), "--out", str(out), "--overwrite"]) == 2
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # the old one, whole
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    monkeypatch.undo()
    assert main(["export", str(gru), "--out", str(out), "--overwrite"]) == 0
    assert load(out).config.model.cell == "gru"
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
    capsys.readouterr()


def test_an_export_swap_cut_short_is_restored(runs, tmp_path, capsys):
    """The export swaps with the run directory's three renames, so a process killed after
    the first one leaves `-old-`, which the next export puts back before it looks at --out."""
    import os
    import subprocess
    import sys

    from seqlm.cli import main

    out = tmp_path / "hf"
    assert main(["export", str(runs["lstm"][0]), "--out", str(out)]) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    os.rename(out, tmp_path / f".hf.seqlm-old-{dead.pid}")  # killed after the first rename
    assert main(["export", str(runs["gru"][0]), "--out", str(out)]) == 2  # restored: not new
    assert "restored" in capsys.readouterr().err
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]
