"""`brackets`: a generated Dyck language, with a held-out split deeper and longer than training.

Dyck-k is the language of balanced strings over k bracket types, the smallest language that
needs a counter (a stack, for k > 1): the test bed of Suzgun et al. (2019, "LSTM networks can
perform dynamic counting") and Hewitt et al. (2020) for which recurrent cells can count.
One string per line. A string is drawn in three steps (`BracketsConfig` holds the bounds):

    n pairs        uniform on [min_pairs, max_pairs]
    depth D        uniform on [min_depth, min(max_depth, n)]   (the deepest nesting)
    the shape      uniform among the Dyck paths of n pairs whose highest point is exactly D:
                   each step goes up or down in proportion to the number of ways to finish
                   from there (`completions`), counted exactly with Python integers
    the types      each opener's type uniform over the first k of ( [ { <, its closer matching

so the string has length 2n and depth exactly D. Splits: train and valid come from that
distribution (split by line, `valid_fraction`); test is the held-out split, drawn the same way
with n on [max_pairs + 1, heldout_max_pairs] and D on [max_depth + 1, heldout_max_depth]:
every test string is longer and deeper than any training string, so generalisation beyond
the training depth is measured, not assumed. Its size is `test_fraction` of `size`
(`DEFAULT_TEST_FRACTION` when that is 0). Deterministic per seed (`random.Random`, string
seeds, no global state). Leaves out: Dyck strings with other symbols mixed in.
"""

import random

from seqlm.config import BracketsConfig, CorpusConfig
from seqlm.data.corpora import Corpus, sha256_text, split_by_line
from seqlm.errors import SeqlmError
from seqlm.progress import Progress, ProgressCallback, report

PAIRS = ("()", "[]", "{}", "<>")
DEFAULT_SIZE = 10_000  # training-distribution strings (train + valid) when size is None
DEFAULT_TEST_FRACTION = 0.1  # held-out strings per training-distribution string, when 0
REPORT_EVERY = 2_000

Table = list[list[list[int]]]  # ways[i][h][reached]


def completions(n_pairs: int, depth: int) -> Table:
    """ways[i][h][r]: paths from step i at height h (r = height `depth` already reached) to
    height 0 at step 2n, never above `depth` and touching it at least once."""
    steps = 2 * n_pairs
    ways = [[[0, 0] for _ in range(depth + 2)] for _ in range(steps + 1)]
    ways[steps][0][1] = 1
    for i in range(steps - 1, -1, -1):
        for h in range(depth + 1):
            for r in (0, 1):
                up = ways[i + 1][h + 1][1 if h + 1 == depth else r] if h < depth else 0
                down = ways[i + 1][h - 1][r] if h > 0 else 0
                ways[i][h][r] = up + down
    return ways


def draw_shape(rng: random.Random, n_pairs: int, depth: int, ways: Table) -> list[bool]:
    """One Dyck path (True = open) uniform among those of n pairs and highest point `depth`."""
    h, r, path = 0, 0, []
    for i in range(2 * n_pairs):
        up = ways[i + 1][h + 1][1 if h + 1 == depth else r] if h < depth else 0
        down = ways[i + 1][h - 1][r] if h > 0 else 0
        opens = rng.randrange(up + down) < up  # exact: Python integers, no float rounding
        path.append(opens)
        if opens:
            h += 1
            r = 1 if h == depth else r
        else:
            h -= 1
    return path


def draw_string(rng: random.Random, pairs: tuple[int, int], depths: tuple[int, int],
                types: int, tables: dict[tuple[int, int], Table]) -> str:
    """One string: n, then D, then the shape, then the types (the module's recipe)."""
    n = rng.randint(*pairs)
    depth = rng.randint(depths[0], min(depths[1], n))
    if (n, depth) not in tables:
        tables[(n, depth)] = completions(n, depth)
    out, stack = [], []
    for opens in draw_shape(rng, n, depth, tables[(n, depth)]):
        if opens:
            stack.append(PAIRS[rng.randrange(types)])
            out.append(stack[-1][0])
        else:
            out.append(stack.pop()[1])
    return "".join(out)


def generate(config: BracketsConfig, seed: int, n: int, heldout: bool = False,
             progress: ProgressCallback | None = None) -> list[str]:
    """`n` strings of the training distribution, or of the held-out one; the same for the
    same config, seed and n."""
    c = config
    if heldout:
        pairs, depths = (c.max_pairs + 1, c.heldout_max_pairs), (c.max_depth + 1,
                                                                 c.heldout_max_depth)
    else:
        pairs, depths = (c.min_pairs, c.max_pairs), (c.min_depth, c.max_depth)
    rng = random.Random(f"brackets/{'heldout' if heldout else 'train'}/{seed}")
    tables: dict[tuple[int, int], Table] = {}  # per call: no state kept between calls
    out = []
    for i in range(n):
        out.append(draw_string(rng, pairs, depths, c.types, tables))
        if (i + 1) % REPORT_EVERY == 0 or i + 1 == n:
            report(progress, Progress("brackets", i + 1, n, unit="strings"))
    return out


def load(config: CorpusConfig, progress: ProgressCallback | None = None) -> Corpus:
    size = DEFAULT_SIZE if config.size is None else config.size
    if size < 2:
        raise SeqlmError(f"--size {size}: the brackets corpus needs at least 2 strings")
    test_fraction = config.test_fraction or DEFAULT_TEST_FRACTION
    lines = generate(config.brackets, config.seed, size, progress=progress)
    held = generate(config.brackets, config.seed, max(1, round(size * test_fraction)),
                    heldout=True)
    splits = split_by_line(lines, config.valid_fraction, 0.0)
    splits["test"] = "".join(line + "\n" for line in held)
    b = config.brackets
    return Corpus(
        name="brackets",
        splits=splits,
        sha256=sha256_text(splits["train"] + splits["valid"] + splits["test"]),
        source=f"generated (seed={config.seed}, size={size})",
        description=(f"generated Dyck-{b.types} strings: {b.min_pairs}-{b.max_pairs} pairs, "
                     f"depth {b.min_depth}-{b.max_depth}; the test split is held out with "
                     f"{b.max_pairs + 1}-{b.heldout_max_pairs} pairs, depth "
                     f"{b.max_depth + 1}-{b.heldout_max_depth}"),
        default_unit="char",
        details={"brackets": {"types": b.types, "pairs": "".join(PAIRS[:b.types])}},
    )
