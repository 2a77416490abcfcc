import pytest
import torch

from resgen.core.config import RVQConfig
from resgen.core.mog import MoGParams
from resgen.core.rvq import ResidualVQ
from resgen.core.sampler import (SamplerState, guide, guide_voice, init_state, make_plan, predict_pair, run,
                                  step)


class DummyDenoiser:
    """Deterministic stand-in for the network: a fixed random function of the tokens and cond."""

    def __init__(self, V, D, E, K=4, seed=0):
        g = torch.Generator().manual_seed(seed)
        self.emb = torch.randn(D * (V + 1), K * (E + 1), generator=g)
        self.offset = torch.arange(D) * (V + 1)
        self.K, self.E, self.calls, self.rows = K, E, 0, 0

    def __call__(self, tokens, cond):
        self.calls += 1
        self.rows += tokens.shape[0]
        B, N, D = tokens.shape
        h = self.emb[tokens + self.offset].sum(2) / D + 0.1 * cond.remainder(7).float()[:, None, None]   # (B, N, K*(E+1))
        h = h.view(B, N, self.K, self.E + 1)
        return MoGParams(0.1 * h[..., 0], h[..., 1:])


def _setup(D, V=16, E=4, N=12):
    torch.manual_seed(0)
    rvq = ResidualVQ(RVQConfig(depth=D, codebook_size=V, dim=E))
    rvq.codebooks.normal_()
    return rvq, DummyDenoiser(V, D, E), N


def _sample(D, steps, cfg, seed, B=3):
    rvq, net, N = _setup(D)
    plan = make_plan(steps, N, D, cfg=cfg, temperature=1.0, top_p=0.9, sigma=0.5)
    g = torch.Generator().manual_seed(seed)
    state = init_state(B, N, D)
    cond, null = torch.arange(B), torch.full((B,), 99)
    outs = list(run(net, plan, rvq, state, cond, null, mask_id=rvq.cfg.codebook_size, generator=g))
    return outs, net.calls, net.rows


@pytest.mark.parametrize("D", [4, 8, 16])
@pytest.mark.parametrize("cfg", [1.0, 3.0])
def test_full_run_invariants(D, cfg):
    T = 8
    outs, calls, rows = _sample(D, T, cfg, seed=0)
    assert calls == T                                 # independent of D
    assert rows == (1 if cfg == 1.0 else 2) * 3 * T   # under CFG the B=3 rows go twice, in one batch
    assert len(outs) == T
    prev_codes, prev_mask = None, None
    for i, (state, tr) in enumerate(outs):
        assert tr.step == i and state.step == i + 1
        m = tr.mask
        assert (m[..., 1:] >= m[..., :-1]).all(), "unmasking must stay bottom-up"
        if prev_mask is not None:
            known = ~prev_mask
            assert (~m | ~known).all(), "a revealed token was masked again"
            assert torch.equal(tr.codes[known], prev_codes[known]), "a revealed token changed"
            assert torch.equal(tr.revealed, prev_mask & ~m)
            assert torch.isnan(tr.confidence[known]).all()
        assert torch.equal(tr.codes[~m], tr.pred_codes[~m])
        prev_codes, prev_mask = tr.codes, m
    assert not outs[-1][1].mask.any(), "everything is revealed at the end"
    counts = [int(tr.mask[0].sum()) for _, tr in outs]
    assert counts == list(make_plan(T, 12, D).masked_after)


def test_same_seed_same_codes_other_seed_differs():
    a = _sample(8, 6, 2.0, seed=1)[0][-1][1].codes
    b = _sample(8, 6, 2.0, seed=1)[0][-1][1].codes
    c = _sample(8, 6, 2.0, seed=2)[0][-1][1].codes
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_step_is_pure():
    rvq, net, N = _setup(4)
    plan = make_plan(4, N, 4, sigma=0.5)
    state = init_state(2, N, 4)
    codes0, mask0 = state.codes.clone(), state.mask.clone()
    out = net(torch.where(state.mask, 16, state.codes), torch.zeros(2, dtype=torch.long))
    s1, t1 = step(state, out, plan, rvq, torch.Generator().manual_seed(3))
    s2, t2 = step(state, out, plan, rvq, torch.Generator().manual_seed(3))
    assert torch.equal(state.codes, codes0) and torch.equal(state.mask, mask0) and state.step == 0
    assert torch.equal(s1.codes, s2.codes) and torch.equal(t1.mask, t2.mask)


def test_guided_pair_is_one_batch_equal_to_two_calls():
    rvq, net, N = _setup(4)
    tokens = torch.randint(0, 17, (3, N, 4))
    cond, null = torch.tensor([1, 2, 3]), torch.full((3,), 99)
    c, u = predict_pair(net, tokens, cond, null, guided=True)
    assert net.calls == 1 and net.rows == 6
    for got, want in ((c, net(tokens, cond)), (u, net(tokens, null))):
        assert all(torch.equal(x, y) for x, y in zip(got, want))
    logits = lambda t, y: net(t, y).means                            # a plain tensor output splits too
    c, u = predict_pair(logits, tokens, cond, null, guided=True)
    assert torch.equal(c, net(tokens, cond).means) and torch.equal(u, net(tokens, null).means)
    out, none = predict_pair(net, tokens, cond, null, guided=False)
    assert none is None and torch.equal(out.means, net(tokens, cond).means)


def _voiced(speaker_cfg, cfg, prompt_len=4, B=2, D=3, steps=4):
    rvq, net, N = _setup(D)
    plan = make_plan(steps, N - prompt_len, D, cfg=cfg, temperature=1.0, top_p=0.9, sigma=0.5, speaker_cfg=speaker_cfg)
    codes, mask = _start(N, B, D, prompt_len)
    state = SamplerState(codes, mask, 0)
    seen = []
    orig = net.__call__

    def spy(tokens, cond):                    # every position also reads the mean of all (the prompt's voice)
        seen.append(tokens.clone())
        out = orig(tokens, cond)
        return MoGParams(out.logits + out.logits.mean(1, keepdim=True), out.means + out.means.mean(1, keepdim=True))
    prompt = (torch.arange(N) < prompt_len)[None].expand(B, N)
    outs = list(run(spy, plan, rvq, state, torch.arange(B), torch.full((B,), 99), 16,
                    torch.Generator().manual_seed(0), prompt=prompt))
    return outs, seen, codes[:, :prompt_len]


def test_speaker_guidance_adds_a_row_with_the_prompt_masked():
    outs, seen, prompt = _voiced(speaker_cfg=2.0, cfg=1.5)
    assert all(t.shape[0] == 6 for t in seen)                          # cond, voiceless, no-text: 3B rows per call
    for t in seen:
        cond_rows, voiceless, no_text = t[:2], t[2:4], t[4:]
        assert torch.equal(cond_rows[:, :4], prompt) and torch.equal(no_text[:, :4], prompt)
        assert (voiceless[:, :4] == 16).all()                           # the prompt's tokens masked
        assert torch.equal(voiceless[:, 4:], cond_rows[:, 4:])          # the target as it stands
    assert not outs[-1][0].mask.any() and torch.equal(outs[-1][0].codes[:, :4], prompt)
    _, seen, _ = _voiced(speaker_cfg=2.0, cfg=1.0)
    assert all(t.shape[0] == 4 for t in seen)                          # no text guidance: 2B rows


def test_speaker_guidance_of_one_is_the_sampler_without_it():
    a, seen_a, _ = _voiced(speaker_cfg=1.0, cfg=1.5)
    assert all(t.shape[0] == 4 for t in seen_a)
    rvq, net, N = _setup(3)

    def ctx(tokens, cond):
        out = net(tokens, cond)
        return MoGParams(out.logits + out.logits.mean(1, keepdim=True), out.means + out.means.mean(1, keepdim=True))
    b = list(run(ctx, make_plan(4, N - 4, 3, cfg=1.5, temperature=1.0, top_p=0.9, sigma=0.5), rvq,
                 SamplerState(*_start(N), 0), torch.arange(2), torch.full((2,), 99), 16, torch.Generator().manual_seed(0)))
    assert torch.equal(a[-1][0].codes, b[-1][0].codes)
    c, _, _ = _voiced(speaker_cfg=3.0, cfg=1.5)
    assert not torch.equal(a[-1][0].codes, c[-1][0].codes)


def _start(N, B=2, D=3, prompt_len=4):
    state = init_state(B, N, D)
    codes = state.codes.clone()
    codes[:, :prompt_len] = torch.randint(0, 16, (B, prompt_len, D), generator=torch.Generator().manual_seed(1))
    mask = state.mask.clone()
    mask[:, :prompt_len] = False
    return codes, mask


def test_guide_voice_is_the_additive_two_condition_guidance():
    g = torch.Generator().manual_seed(0)
    c, u, v = (MoGParams(torch.randn(2, 3, 4, generator=g), torch.randn(2, 3, 4, 5, generator=g)) for _ in range(3))
    out = guide_voice(guide(c, u, 1.5), c, v, 2.5)
    assert torch.allclose(out.means, c.means + 0.5 * (c.means - u.means) + 1.5 * (c.means - v.means), atol=1e-6)
    assert torch.allclose(out.logits, c.logits + 0.5 * (c.logits - u.logits) + 1.5 * (c.logits - v.logits), atol=1e-6)
    assert guide_voice(c, c, v, 1.0) is c and guide_voice(c, c, None, 2.0) is c


def test_single_step_reveals_everything():
    outs, calls, _ = _sample(8, 1, 1.0, seed=0)
    assert calls == 1 and not outs[0][1].mask.any()


def test_mog_noise_perturbs_the_draw_deterministically():
    """mog_noise = 0 takes the component mean; > 0 adds seeded Gaussian noise to it, which moves
    the quantised tokens, and the same seed still gives the same tokens."""
    rvq, net, N = _setup(4)
    state = init_state(2, N, 4)
    out = net(torch.where(state.mask, 16, state.codes), torch.zeros(2, dtype=torch.long))

    def first_step(noise, seed=3):
        plan = make_plan(1, N, 4, sigma=0.5, mog_noise=noise)
        return step(state, out, plan, rvq, torch.Generator().manual_seed(seed))[1].pred_codes

    base = first_step(0.0)
    assert make_plan(1, N, 4, sigma=0.5).mog_noise == 0.0 and torch.equal(base, first_step(0.0))
    assert torch.equal(first_step(2.0), first_step(2.0))
    assert not torch.equal(first_step(2.0), base)


def test_pi_temperature_zero_takes_the_most_likely_component():
    """pi_temperature 0 picks argmax pi at every position whatever the seed; 1 (default) samples."""
    rvq, net, N = _setup(4)
    state = init_state(2, N, 4)
    out = net(torch.where(state.mask, 16, state.codes), torch.zeros(2, dtype=torch.long))

    def first_comp(pi_t, seed):
        plan = make_plan(1, N, 4, sigma=0.5, pi_temperature=pi_t)
        return step(state, out, plan, rvq, torch.Generator().manual_seed(seed))[1].component

    assert make_plan(1, N, 4).pi_temperature == 1.0
    assert torch.equal(first_comp(0.0, 1), out.logits.argmax(-1)) and torch.equal(first_comp(0.0, 2), first_comp(0.0, 1))
    assert not torch.equal(first_comp(1.0, 1), first_comp(1.0, 2))


def test_cfg_schedule_linear_grows_with_known_slots_and_ends_at_cfg():
    """'constant' guides every step with cfg; 'linear' follows the share of slots known after each
    step (rising, > 1 from the first step, exactly cfg at the last); unknown names are refused."""
    N, D, T = 64, 8, 16
    const = make_plan(T, N, D, cfg=3.0)
    assert const.cfg == (3.0,) * T and make_plan(T, N, D, cfg=3.0, cfg_schedule="constant") == const
    lin = make_plan(T, N, D, cfg=3.0, cfg_schedule="linear")
    assert all(a < b for a, b in zip(lin.cfg, lin.cfg[1:]))
    assert 1.0 < lin.cfg[0] and lin.cfg[-1] == 3.0
    for g, m in zip(lin.cfg, lin.masked_after):
        assert abs(g - (1 + 2.0 * (1 - m / (N * D)))) < 1e-12
    assert make_plan(T, N, D, cfg=1.0, cfg_schedule="linear").cfg == (1.0,) * T   # no guidance stays off
    with pytest.raises(ValueError, match="cfg_schedule"):
        make_plan(T, N, D, cfg=3.0, cfg_schedule="cosine")


def test_code_temperature_draws_codes_near_the_nearest_deterministically():
    """code_temperature 0 (default) takes the nearest codes and draws nothing (the random stream, so
    every seeded result, is unchanged); > 0 draws codes, seeded."""
    rvq, net, N = _setup(4)
    state = init_state(2, N, 4)
    out = net(torch.where(state.mask, 16, state.codes), torch.zeros(2, dtype=torch.long))

    def first_step(ct, seed=3):
        g = torch.Generator().manual_seed(seed)
        pred = step(state, out, make_plan(1, N, 4, sigma=0.5, code_temperature=ct), rvq, g)[1].pred_codes
        return pred, torch.rand(1, generator=g)

    base, after = first_step(0.0)
    assert make_plan(1, N, 4).code_temperature == 0.0
    plain = torch.Generator().manual_seed(3)
    ref = step(state, out, make_plan(1, N, 4, sigma=0.5), rvq, plain)[1].pred_codes
    assert torch.equal(base, ref) and torch.equal(after, torch.rand(1, generator=plain))
    hot, _ = first_step(50.0)
    assert torch.equal(hot, first_step(50.0)[0]) and not torch.equal(hot, base)
