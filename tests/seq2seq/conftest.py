"""Small seeded models and pairs shared by the seq2seq tests."""

import pytest
import torch

from seqlm.config import Seq2SeqModelConfig
from seqlm.data.corpora.dates import generate_pairs
from seqlm.data.pairs import PairVocabs
from seqlm.nn.seq2seq import Seq2Seq


@pytest.fixture(scope="session")
def pairs():
    return generate_pairs(0, 60, "plain") + generate_pairs(0, 60, "long")


@pytest.fixture(scope="session")
def vocabs(pairs):
    return PairVocabs.build(pairs)


@pytest.fixture
def small_model():
    """A factory of tiny seeded models: small_model(vocabs, seed=0, **config options)."""
    return build_small_model


def build_small_model(vocabs, seed=0, **options) -> Seq2Seq:
    torch.manual_seed(seed)
    options = {"embedding_dim": 8, "hidden_size": 12, "attention_size": 10, **options}
    config = Seq2SeqModelConfig(**options)
    return Seq2Seq(config, len(vocabs.source), len(vocabs.target)).eval()


@pytest.fixture(autouse=True, scope="session")
def one_thread():
    """Tiny matmuls: one thread is fastest, and two spin against each other on a busy CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
