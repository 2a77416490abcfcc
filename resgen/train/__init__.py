"""Training entry points: `resgen train image-tokenizer | image | image-ar | image-per-token | classifier | speech-tokenizer | speech`."""
