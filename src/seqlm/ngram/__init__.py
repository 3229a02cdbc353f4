"""n-gram language models: counting, smoothing (MLE, add-k, Kneser-Ney), scoring, ARPA files."""
