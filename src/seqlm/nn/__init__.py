"""PyTorch recurrent models built from nn.Linear, nn.Embedding, elementwise ops and autograd.

torch.nn.RNN/LSTM/GRU never appear here: they are the oracle in tests and the reference in
benchmarks only.
"""
