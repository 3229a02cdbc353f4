"""Training loops: truncated BPTT for language models, teacher forcing and scheduled sampling
for seq2seq; clipping, budgets, best checkpoints and exact resume in both."""
