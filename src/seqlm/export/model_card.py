"""The model card (README.md) of an exported model, written from its run's manifest.json.

The Hugging Face Hub reads the YAML front matter (library_name, license, tags, pipeline_tag,
datasets); the body follows the sections of Mitchell et al., "Model Cards for Model
Reporting" (FAT* 2019): what it is, how it was trained and on what, how well it does, what
it is for and what not. Every number is copied from the manifest as recorded there (nats
inside seqlm; bits and perplexity as the run wrote them), none is recomputed here.
Leaves out: a model-index block (the Hub's leaderboard schema), carbon figures.
"""

import json
import shlex
from typing import Any

PIPELINES = {"lm": "text-generation", "seq2seq": "text2text-generation"}


def front_matter(kind: str, manifest: dict[str, Any]) -> str:
    model = manifest["config"]["model"]
    corpus = manifest["config"]["corpus"]["name"]
    tags = ["seqlm", "pytorch", "safetensors", "recurrent-neural-network", model["cell"],
            "language-model" if kind == "lm" else "seq2seq"]
    if kind == "seq2seq" and model.get("attention", "none") != "none":
        tags.append(f"attention-{model['attention']}")
    lines = ["---", "library_name: seqlm", "license: mit", f"pipeline_tag: {PIPELINES[kind]}",
             "tags:", *(f"- {t}" for t in tags), "datasets:", f"- {corpus}", "---"]
    return "\n".join(lines)


def fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def lm_scores(metrics: dict[str, Any]) -> list[str]:
    """Rows of the LM's validation (and test, where the run measured it) scores."""
    rows = ["| split | tokens | loss (nats/token) | perplexity | bits/char | bits/byte |",
            "|---|---|---|---|---|---|"]
    for label, key in (("validation (best weights, full split)", "best_valid_full"),
                       ("validation (while training)", "final_valid"), ("test", "test")):
        m = metrics.get(key)
        if isinstance(m, dict) and "loss_nats" in m:
            rows.append(f"| {label} | {fmt(m.get('tokens'))} | {fmt(m['loss_nats'])} | "
                        f"{fmt(m.get('perplexity'))} | {fmt(m.get('bits_per_char'))} | "
                        f"{fmt(m.get('bits_per_byte'))} |")
    if "test" not in metrics:
        rows.append("\nThe run measured no test score: `seqlm eval RUN --split test` does.")
    return rows


def seq2seq_scores(metrics: dict[str, Any]) -> list[str]:
    """Rows of the seq2seq model's test scores, one per regime."""
    rows = [f"Best validation exact match: {fmt(metrics.get('best_valid_exact'))} at step "
            f"{fmt(metrics.get('best_step'))}.", "",
            "| test regime | pairs | exact match | 95% interval | char accuracy |",
            "|---|---|---|---|---|"]
    for regime, s in (metrics.get("test") or {}).items():
        exact, chars = s.get("exact_match", {}), s.get("char_accuracy", {})
        low, high = (exact.get("ci95") or [None, None])[:2]
        rows.append(f"| {regime} | {fmt(exact.get('n'))} | {fmt(exact.get('accuracy'))} | "
                    f"[{fmt(low)}, {fmt(high)}] | {fmt(chars.get('accuracy'))} |")
    return rows


def data_rows(manifest: dict[str, Any]) -> list[str]:
    """One row per corpus the run trained on: its name, source, sha256 and split sizes."""
    data = manifest.get("data") or {}
    corpora = {"corpus": data["corpus"]} if "corpus" in data else data
    rows = ["| corpus | source | sha256 | train / valid / test characters |",
            "|---|---|---|---|"]
    for c in corpora.values():
        if isinstance(c, dict) and "sha256" in c:
            split = c.get("split_chars", {})
            sizes = " / ".join(f"{split.get(s, '?'):,}" if isinstance(split.get(s), int)
                               else "?" for s in ("train", "valid", "test"))
            rows.append(f"| {c.get('name')} | {c.get('source')} | `{c['sha256']}` | {sizes} |")
    return rows


def training_rows(manifest: dict[str, Any], parameters: int) -> list[str]:
    env, place = manifest.get("environment") or {}, manifest.get("placement") or {}
    metrics = manifest.get("metrics") or {}
    argv = manifest.get("argv") or []
    status = metrics.get("status", manifest.get("status"))
    return [f"- parameters: {parameters:,}",
            f"- steps: {fmt(metrics.get('steps'))} (status {status})",
            f"- seed: {fmt(manifest.get('seed'))}",
            f"- wall seconds: {fmt(manifest.get('seconds'))}",
            f"- hardware: {place.get('device', '?')}, CPU {env.get('cpu', '?')} "
            f"({fmt(env.get('cpu_count'))} cores), GPU {env.get('gpu') or 'none'}",
            f"- precision: {place.get('precision', '?')}",
            f"- software: seqlm {env.get('seqlm')}, torch {env.get('torch')}, "
            f"python {env.get('python')}, commit {env.get('git_commit')}",
            "- command:", "", "```bash", shlex.join(str(a) for a in argv), "```"]


def model_card(kind: str, manifest: dict[str, Any], parameters: int, sample: str,
               sample_note: str) -> str:
    """README.md of the exported folder: front matter, then the card's sections."""
    config = manifest["config"]
    metrics = manifest.get("metrics") or {}
    what = ("a recurrent language model" if kind == "lm" else
            "a recurrent sequence-to-sequence model")
    scores = lm_scores(metrics) if kind == "lm" else seq2seq_scores(metrics)
    intended = ("Teaching and research on pre-transformer language models: sampling text in "
                "the style of its corpus, scoring text, comparing cells." if kind == "lm" else
                "Teaching and research on encoder-decoder models: normalising dates written "
                "the ways of its corpus to ISO form, inspecting attention.")
    body = [
        f"# seqlm {config['model']['cell']} {kind}", "",
        f"{what.capitalize()} trained with seqlm "
        f"(`seqlm {manifest.get('command')}`). Load it with `seqlm.load(\"THIS_FOLDER\")`, "
        "or `seqlm sample|eval THIS_FOLDER` / `seqlm seq2seq translate THIS_FOLDER`; loading "
        "reads config.json and model.safetensors only and runs no pickled code.", "",
        "## Training data", "", *data_rows(manifest), "",
        "## Results (as recorded in the run's manifest)", "", *scores, "",
        "## Training", "", *training_rows(manifest, parameters), "",
        "## Sample", "", sample_note, "", "```text", sample, "```", "",
        "## Intended use", "", intended, "",
        "## Out-of-scope use", "",
        "Anything where its output is taken as fact or acted on: it is a small model trained "
        "on one small corpus, it states falsehoods fluently, and it was not evaluated for "
        "bias, safety or any other language or domain.", "",
        "## Model config", "", "```json", json.dumps(config["model"], indent=2), "```", ""]
    return front_matter(kind, manifest) + "\n\n" + "\n".join(body)
