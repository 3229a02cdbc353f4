"""n-gram language models: counting, smoothing (MLE, add-k, Kneser-Ney), scoring, ARPA files,
bounded-memory estimation, pruning and a memory-mapped binary format.

    from seqlm.config import NgramConfig
    from seqlm.ngram import fit, read_arpa, write_arpa
    model = fit(train_text, NgramConfig(order=5, smoothing="mkn"))   # = KenLM's lmplz -o 5
    model.perplexity(valid_text).perplexity                          # = KenLM's query
    write_arpa(model, "5gram.arpa")
    build(Path("big.txt"), NgramConfig(order=5, memory="500M"), arpa="5gram.arpa",
          binary="5gram.bin")                                        # = lmplz -S 500M
    load_binary("5gram.bin")                                         # mapped, ~0.2 ms

Modules, one concept each (docs/ngram.md has the table): `stream`, `reading`, `text_ids`,
`vocab_hash` (tokens to ids), `budget`, `spill`, `runs` (bounded memory), `trie`, `probing`,
`counts`, `discounts`, `prune`, `estimate`, `smoothing`, `forms`, `matching`, `model`, `fit`,
`build`, `tables`, `arpa`, `arpa_read`, `byte_layout`, `binary`, `quantize`,
`single_precision`, `sampling`.
"""

from seqlm.ngram.arpa import write_arpa
from seqlm.ngram.arpa_read import read_arpa
from seqlm.ngram.binary import load_binary, write_binary
from seqlm.ngram.build import build
from seqlm.ngram.fit import fit, fit_counts
from seqlm.ngram.model import NgramModel, PerplexityReport, TokenScore

__all__ = ["fit", "fit_counts", "build", "read_arpa", "write_arpa", "load_binary",
           "write_binary", "NgramModel", "PerplexityReport", "TokenScore"]
