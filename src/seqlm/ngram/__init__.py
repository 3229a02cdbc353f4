"""n-gram language models: counting, smoothing (MLE, add-k, Kneser-Ney), scoring, ARPA files.

    from seqlm.config import NgramConfig
    from seqlm.ngram import fit, read_arpa, write_arpa
    model = fit(train_text, NgramConfig(order=5, smoothing="mkn"))   # = KenLM's lmplz -o 5
    model.perplexity(valid_text).perplexity                          # = KenLM's query
    write_arpa(model, "5gram.arpa")

Modules, one concept each: `stream` (text -> token ids), `trie` (sorted n-gram keys),
`counts` (counting, adjusted counts), `discounts`, `smoothing` (the estimators), `forms` (how
tables combine into probabilities), `model` (scoring), `fit`, `arpa`, `sampling`.
"""

from seqlm.ngram.arpa import write_arpa
from seqlm.ngram.arpa_read import read_arpa
from seqlm.ngram.fit import fit, fit_counts
from seqlm.ngram.model import NgramModel, PerplexityReport, TokenScore

__all__ = ["fit", "fit_counts", "read_arpa", "write_arpa", "NgramModel", "PerplexityReport",
           "TokenScore"]
