"""The global voice vector (DenoiserConfig.voice_cond): the prompt's mean token embedding in the adaLN condition."""
import pytest
import torch

from resgen.core.config import DenoiserConfig, MoGConfig
from resgen.core.denoiser import Denoiser, pooled

PROMPT = 5


def _net(voice: bool, **extra) -> Denoiser:
    torch.manual_seed(0)
    cfg = DenoiserConfig(positions=16, depth=3, codebook_size=8, code_dim=4, width=16, layers=1, heads=2,
                         num_classes=1, cond_vocab=PROMPT + 1, voice_cond=PROMPT if voice else -1,
                         mog=MoGConfig(components=2, rank=1), **extra)
    net = Denoiser(cfg).eval()
    for ada in [b.ada[1] for b in net.blocks] + [net.final_ada[1]] + ([net.voice[2]] if voice else []):
        torch.nn.init.normal_(ada.weight, std=0.5)                # as if trained: the zero-initialised maps moved
    return net


def _inputs():
    g = torch.Generator().manual_seed(1)
    tokens = torch.randint(0, 8, (1, 10, 3), generator=g)
    cond = torch.randint(1, PROMPT, (1, 10), generator=g)
    cond[0, :4] = PROMPT                                          # positions 0..3: the prompt
    return tokens, cond


def test_pooled_is_the_mean_over_the_chosen_kept_positions():
    x = torch.arange(12, dtype=torch.float).view(1, 4, 3)
    where = torch.tensor([[True, True, False, True]])
    keep = torch.tensor([[True, True, True, False]])
    assert torch.equal(pooled(x, where), x[0, [0, 1, 3]].mean(0, keepdim=True))
    assert torch.equal(pooled(x, where, keep), x[0, :2].mean(0, keepdim=True))
    assert torch.equal(pooled(x, torch.zeros(1, 4, dtype=torch.bool)), torch.zeros(1, 3))


def _voice_input(net, tokens, cond):
    """What the voice map reads in a forward pass (B, C)."""
    seen = []
    hook = net.voice.register_forward_hook(lambda m, args, out: seen.append(args[0]))
    with torch.no_grad():
        out = net(tokens, torch.zeros(1, dtype=torch.long), cond).means
    hook.remove()
    return seen[0], out


def test_the_voice_vector_reads_the_prompt_and_only_the_prompt():
    tokens, cond = _inputs()
    other_prompt, other_target = tokens.clone(), tokens.clone()
    other_prompt[0, :4] = (tokens[0, :4] + 1) % 8
    other_target[0, 4:] = (tokens[0, 4:] + 1) % 8
    net = _net(True)
    v, out = _voice_input(net, tokens, cond)
    assert not torch.allclose(v, _voice_input(net, other_prompt, cond)[0])
    assert torch.equal(v, _voice_input(net, other_target, cond)[0])
    net.voice[2].weight.data.zero_()
    net.voice[2].bias.data.zero_()
    assert not torch.allclose(out, _voice_input(net, tokens, cond)[1])     # a trained map changes the output


def test_a_fresh_voice_map_changes_nothing():
    voiced, plain = _net(True), _net(False)
    voiced.voice[2].weight.data.zero_()
    state = {k: v for k, v in voiced.state_dict().items() if not k.startswith("voice.")}
    plain.load_state_dict(state)
    tokens, cond = _inputs()
    with torch.no_grad():
        a = voiced(tokens, torch.zeros(1, dtype=torch.long), cond).means
        b = plain(tokens, torch.zeros(1, dtype=torch.long), cond).means
    assert torch.allclose(a, b)


def test_a_voice_vector_denoiser_exports_to_onnx_with_parity(tmp_path):
    pytest.importorskip("onnx")
    pytest.importorskip("onnxruntime")
    from tests.tiny import exported_speech_denoiser
    exported_speech_denoiser(DenoiserConfig(positions=24, depth=3, codebook_size=8, code_dim=4, width=16, layers=2,
                                            heads=2, num_classes=1, cond_vocab=PROMPT + 1, cond_frames=2,
                                            conv_kernel=3, voice_cond=PROMPT, mog=MoGConfig(components=2, rank=1)),
                             tmp_path)
