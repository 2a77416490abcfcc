"""Training entry points: `resgen train image-tokenizer | image | classifier`."""
