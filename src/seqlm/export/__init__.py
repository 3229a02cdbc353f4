"""Models leave the lab: a training run exported as a Hugging Face-style folder (`hf`) or as
an ONNX file of its one-step function (`onnx`)."""
