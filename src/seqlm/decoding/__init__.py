"""Decoding: sampling (temperature, top-k, top-p, repetition penalty), greedy and beam search,
for language models and for seq2seq models."""
