import numpy as np

from app import render


def _arrays(T=3, B=1, N=4, D=2):
    mask = np.ones((T, B, N, D), bool)
    mask[0, 0, 0, 0] = False                         # step 0 reveals (0, 0)
    mask[1:, 0, :, 0] = False                        # step 1 reveals depth 0 everywhere else
    mask[2] = False                                  # step 2 reveals the rest
    prev = np.concatenate([np.ones((1, B, N, D), bool), mask[:-1]])
    conf = np.where(prev, -1.0, np.nan)
    return {"mask": mask, "revealed": prev & ~mask, "confidence": conf}


def test_token_matrix_colours_follow_the_trace():
    a = _arrays()
    img = render.token_matrix(a, 0, cell=4)
    assert img.shape == (2 * 4, 4 * 4, 3)
    assert tuple(img[2, 2]) == tuple(render.NOW)            # depth 0, position 0: revealed now
    assert tuple(img[6, 2]) == tuple(render.MASKED)         # depth 1, position 0: still masked
    img1 = render.token_matrix(a, 1, cell=4)
    assert tuple(img1[2, 2]) not in (tuple(render.NOW), tuple(render.MASKED))   # revealed earlier
    assert tuple(img1[2, 6]) == tuple(render.NOW)
    last = render.token_matrix(a, 2, cell=4)
    assert not (last == render.MASKED).all(-1).any()


def test_spatial_grid_and_strip_shapes():
    a = _arrays(N=4)
    g = render.token_grid_2d(a, 1, (2, 2), cell=16)
    assert g.ndim == 3 and g.shape[2] == 3
    s = render.strip([render.upscale(np.zeros((28, 28), np.uint8), 2)] * 3)
    assert s.shape == (56, 3 * 56 + 2 * 4, 3)


def test_progress_plot_draws_each_run():
    one = render.progress_plot([("a", np.array([2, 4]), np.array([0.5, 1.0]))], [2])
    two = render.progress_plot([("a", np.array([2, 4]), np.array([0.5, 1.0])),
                                ("b", np.arange(1, 65) * 8, np.arange(1, 65) / 64)], [2, 256])
    assert one.dtype == np.uint8 and one.shape == two.shape and one.shape[2] == 3
    assert (np.abs(one.astype(int) - two.astype(int)).sum(-1) > 0).mean() > 0.005   # the second line shows


def test_step_caption_counts_what_the_step_did():
    from app.captions import step_caption
    T, N, D = 2, 4, 2
    mask = np.ones((T, 1, N, D), bool)
    revealed = np.zeros((T, 1, N, D), bool)
    revealed[0, 0, :3, 0] = True                      # step 1: depth 1 of positions 0-2
    mask[0, 0, :3, 0] = False
    revealed[1, 0, :, :] = mask[0, 0]                  # step 2: everything left
    mask[1] = False
    conf = np.full((T, 1, N, D), np.log(0.5), np.float32)
    arrays = {"codes": np.zeros((T, 1, N, D), np.int16), "mask": mask, "revealed": revealed, "confidence": conf}
    first = step_caption(arrays, 0)
    assert first.startswith("Step 1/2: 3 tokens revealed at 3 of 4 positions (depth 1: 3)")
    assert "5 of 8 still masked" in first and "0 positions complete, 1 untouched" in first
    assert first.endswith("mean confidence of the revealed 0.50")
    last = step_caption(arrays, 1)
    assert "5 tokens revealed at 4 of 4 positions" in last and "0 of 8 still masked" in last
    assert "4 positions complete, 0 untouched" in last
    prompt_left_out = step_caption(arrays, 0, start=1)               # a speech prompt: positions before start
    assert "2 tokens revealed at 2 of 3 positions" in prompt_left_out and "of 6 still masked" in prompt_left_out


def test_a_click_on_the_grid_finds_its_position_and_the_selection_is_outlined():
    from app.inspector import position_at_grid, position_at_matrix, row_height
    grid, D, cell = (3, 4), 8, 48
    arrays = {"mask": np.ones((1, 1, 12, D), bool), "revealed": np.zeros((1, 1, 12, D), bool),
              "confidence": np.full((1, 1, 12, D), np.nan)}
    plain = render.token_grid_2d(arrays, 0, grid, 0, cell)
    pitch = row_height(D, cell)
    for i in range(12):
        r, c = divmod(i, 4)
        assert position_at_grid(4 + c * (cell + 4) + cell // 2, 4 + r * pitch + 10, grid, D, cell) == i
    assert position_at_grid(2, 2, grid, D, cell) is None and position_at_grid(4 + cell + 1, 10, grid, D, cell) is None
    assert position_at_grid(10, 4 + 3 * pitch + 1, grid, D, cell) is None                   # below the last row
    outlined = render.token_grid_2d(arrays, 0, grid, 0, cell, selected=5)
    changed = np.argwhere((outlined != plain).any(-1))
    r, c = divmod(5, 4)
    assert changed[:, 0].min() >= 4 + r * pitch - 2 and changed[:, 1].min() >= 4 + c * (cell + 4) - 2
    assert (outlined[changed[:, 0], changed[:, 1]] == 255).all()
    assert position_at_matrix(13, 12, 6) == 2 and position_at_matrix(6 * 12, 12, 6) is None
    m = render.token_matrix(arrays, 0, 0, cell=6, selected=2)
    assert (m[:, 11:13] == 255).all() and not (render.token_matrix(arrays, 0, 0, cell=6)[:, 11:13] == 255).all()


def test_inspector_table_and_life_strip():
    import torch

    from app.inspector import inspector_markdown, life_strip
    from resgen.core.inspect import inspect_position
    from resgen.core.sampler import init_state, make_plan, run
    from resgen.core.trace import trace_arrays
    from test_sampler import _setup
    rvq, net, N = _setup(4)
    plan = make_plan(5, N, 4, cfg=1.0, temperature=1.0, top_p=1.0, sigma=0.5)
    traces = [tr for _, tr in run(net, plan, rvq, init_state(1, N, 4), torch.arange(1), torch.full((1,), 99),
                                  rvq.cfg.codebook_size, torch.Generator().manual_seed(0))]
    v = inspect_position(trace_arrays(traces), 2, 0, 3, rvq.codebooks.numpy())
    md = inspector_markdown(v, 5, "Position 3 (row 0, column 3)")
    assert md.startswith("**Position 3 (row 0, column 3), after step 3/5**")
    assert md.count("\n| ") == 4 + 1 and "Mixture head: heaviest components #" in md
    strip = life_strip(v, cell=10)
    assert strip.shape == (4 * 10, 5 * 10, 3)
    assert (strip[:, 2 * 10] == 255).all()                         # the current step's column is framed


def test_grids_get_axes_and_a_colour_key_without_moving_the_cells():
    grid, D = (3, 4), 8
    arrays = {"mask": np.ones((1, 1, 12, D), bool), "revealed": np.zeros((1, 1, 12, D), bool),
              "confidence": np.full((1, 1, 12, D), np.nan)}
    bare = render.token_grid_2d(arrays, 0, grid, 0)
    annotated = render.annotate_grid(bare, grid, D)
    H, W = bare.shape[:2]
    assert np.array_equal(annotated[:H, :W], bare)                         # clicks map to the same pixels
    assert annotated.shape[0] > H + 30 and annotated.shape[1] > W          # labels and the key around it
    assert (annotated[H:, :W] < 128).any()                                 # text was drawn
    m = render.token_matrix(arrays, 0, 0, cell=6, cell_h=10)
    assert m.shape[:2] == (D * 10, 12 * 6)
    am = render.annotate_matrix(m, 12, D, 6, 0.046)
    assert np.array_equal(am[:D * 10, :12 * 6], m) and am.shape[0] > D * 10 + 30


def test_method_panel_uses_the_runs_numbers():
    from app.captions import method_panel
    T, N, D = 2, 4, 2
    mask = np.ones((T, 1, N, D), bool)
    revealed = np.zeros((T, 1, N, D), bool)
    revealed[0, 0, :3, 0] = True
    mask[0, 0, :3, 0] = False
    revealed[1] = mask[0]
    mask[1] = False
    text = method_panel({"codes": np.zeros((T, 1, N, D)), "mask": mask, "revealed": revealed})
    assert "the N = 4 positions holds D = 2 RVQ tokens" in text and "N·D = 8 tokens" in text
    assert "kept 3, 5 tokens at steps 1..2" in text and "depth 1 was complete after step 2 (3, 1 depth-1" in text
    assert "8 tokens took 2 network calls (each one batch of 2" in text
    speech = method_panel({"codes": np.zeros((T, 1, N, D)), "mask": mask, "revealed": revealed}, start=1,
                          guided=False)
    assert "N = 3" in speech and "The 1 prompt positions are given" in speech and "batch of 2" not in speech
    voiced = method_panel({"codes": np.zeros((T, 1, N, D)), "mask": mask, "revealed": revealed}, start=1, voice=True)
    assert "(each one batch of 3: with and without the condition, and without the prompt's voice)" in voiced


def test_upscale_and_tile_take_grey_and_colour():
    grey, colour = np.arange(6, dtype=np.uint8).reshape(2, 3), np.zeros((2, 3, 3), np.uint8)
    colour[0, 0] = (255, 0, 0)
    g, c = render.upscale(grey, 2), render.upscale(colour, 2)
    assert g.shape == c.shape == (4, 6, 3) and (g[1, 1] == 0).all() and tuple(c[1, 1]) == (255, 0, 0)
    assert tuple(g[3, 5]) == (5, 5, 5)
    assert render.tile(np.zeros((3, 4, 4), np.uint8), cols=2).shape == (2 * 6 + 2, 2 * 6 + 2)
    assert render.tile(np.zeros((3, 4, 4, 3), np.uint8), cols=2).shape == (14, 14, 3)
