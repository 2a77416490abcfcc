"""Training entry points: `resgen train image-tokenizer | image | image-ar | classifier | speech-tokenizer | speech`."""
