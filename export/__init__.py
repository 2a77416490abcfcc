"""Build-time tools: export shipped denoisers to ONNX and check them against PyTorch."""
