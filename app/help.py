"""The words of the app's help: what each control changes (gradio `info=`), and the tabs' short guides."""

INFO = {
    # image generation
    "model": "Grey 28x28 Fashion-MNIST items or 64x64 colour emoji.",
    "classes": "The model's classes; the images cycle through the ones you tick.",
    "n": "How many images one run makes (one batch).",
    "steps": "Network calls of the sampler. Each step predicts every masked token and keeps the most confident; "
             "T does not grow with the RVQ depth.",
    "cfg": "Classifier-free guidance: how far the prediction moves from the unconditional one towards the condition. "
           "1 = off; above 1 costs a second batch per step.",
    "temperature": "Noise on the confidences that choose which tokens are kept at a step: 0 keeps the most confident, "
                   "higher keeps a more random set.",
    "top_p": "Draws the mixture component only among the heaviest ones that hold this share of its weight.",
    "seed": "The same seed and settings give the same result.",
    "randomize": "Pick a new seed for each run (the one used is reported).",
    "backend": "auto: torch on a GPU; on a CPU the faster of the two, measured once on this machine.",
    # the visualiser
    "step": "Which sampling step the views below show (after that step).",
    "sample": "Which of the images made the views follow.",
    "depth": "The depth ladder: the final result decoded from only its first d RVQ depths (0 = all side by side).",
    "order": "position: columns in position order; known depth: the most known depths first, so the waterline "
             "falls like a staircase.",
    # speech generation
    "text": "What to say. A long text is spoken in chunks of about a sentence, each with the same voice prompt.",
    "prompt": "1-20 s of the voice to clone: upload (wav, flac, ogg, mp3) or record.",
    "example": "Voices held out from training, to try cloning with.",
    "speed": "Speaking rate: above 1 is faster (shorter phoneme durations).",
    "prompt_text": "The prompt's words, if you know them: the speech then takes the speaker's own pace. An example "
                   "voice fills it in; a wrong transcript makes the pace wrong.",
    "speech_cfg": "Guidance on the text: how strongly the prediction follows the phonemes; 1 = off.",
    "speaker_cfg": "Guidance on the voice: how strongly the prediction follows the prompt's voice, against the "
                   "same step with the prompt hidden (a third row per denoiser call); 1 = off.",
    "contrast": "Sharpens the formants of the generated mel before the vocoder by a fixed amount (0 = off), when "
                "the box above is not ticked.",
    "contrast_match": "Sharpens the generated mel's formants until their detail matches the prompt's (more for a "
                      "crisp human recording, none for speech already as sharp): a little more of the prompt's voice.",
    "correction": "Measures, band by band, how the tokenizer colours this voice (the prompt decoded from its own "
                  "tokens against its recording) and takes that colour out of the speech: a microphone's or a real "
                  "voice's timbre the tokenizer does not keep.",
    "vocoder": "HiFi-GAN (trained, natural) or Griffin-Lim (no network, rough).",
    "accent": "The espeak-ng accent used to turn the text into phonemes.",
    "chunk": "Which chunk of a long text the visualiser shows (each has its own trace).",
    "speech_depth": "The final speech from its first d RVQ depths.",
    # compare
    "cmp_mode": "ResGEN against the autoregressive baseline on the same tokens, or two ResGEN runs side by side.",
    "cmp_class": "The class both sides draw.",
    "cmp_n": "Images each side makes (one batch).",
    "cmp_steps": "ResGEN's sampling steps; the autoregressive model always takes one call per token.",
    "cmp_model": "Any installed image model: ResGEN at RVQ depth 4, 8 or 16, or the autoregressive baseline.",
    "cmp_seed": "This side's seed.",
    "cmp_cfg": "This side's classifier-free guidance (1 = off).",
    "cmp_progress": "Shows both runs after the same share of their own network calls.",
}

IMAGE_GUIDE = ("### Step by step\nOverview first: the caption says what the step did; the 8x8 grid shows each latent "
               "cell as a stack of its RVQ depths (depth 1 on top: grey = masked, orange = revealed at this step, "
               "blue = revealed earlier, lighter = more confident); the preview shows the revealed tokens only | the "
               "model's full guess at this step. Then detail: the token map (hover a cell) and the position "
               "inspector (click a cell).")
SPEECH_GUIDE = ("### Step by step\nToken grid: RVQ depth 1 on top, one column per target position (grey = masked, "
                "orange = revealed at this step, blue = earlier, lighter = more confident). The mel and audio at a "
                "step use only the tokens revealed so far (Griffin-Lim). Depth ladder: the final speech from its "
                "first d depths. Click a column, or a cell of the token map, to inspect a position.")

SAMPLE_TEXTS = [
    "The quick brown fox jumps over the lazy dog.",
    "Revenge is a form of nostalgia.",
    "Nothing cures insomnia like the realization that it's time to get up.",
    "An apple every eight hours will keep three doctors away.",
]
