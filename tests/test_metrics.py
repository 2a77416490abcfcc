import numpy as np
import pytest
import torch

from resgen.eval.metrics import feature_stats, frechet_distance, precision_recall, psnr


def test_psnr_known_values():
    x = torch.zeros(2, 1, 4, 4)
    y = x.clone()
    y[1] += 0.1                                     # mse 0.01 -> 20 dB
    p = psnr(y, x)
    assert p[0] > 90 and abs(p[1].item() - 20.0) < 1e-4


def test_frechet_distance_of_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(4000, 3))
    b = rng.normal(size=(4000, 3)) + np.array([1.0, 0.0, 0.0])
    assert frechet_distance(*feature_stats(a), *feature_stats(a)) < 1e-6
    # identical covariances: FID = |mu1 - mu2|^2 (= 1 here, up to sampling noise)
    assert abs(frechet_distance(*feature_stats(a), *feature_stats(b)) - 1.0) < 0.1
    c = rng.normal(size=(4000, 3)) * 2.0            # sigma 2I vs I: tr(I + 4I - 2*2I) = 3
    assert abs(frechet_distance(*feature_stats(a), *feature_stats(c)) - 3.0) < 0.3


def test_balanced_subset_takes_the_first_images_of_each_class():
    from resgen.eval.image import balanced_subset
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 2, 2, 2])
    idx = balanced_subset(labels, 6)
    assert idx.tolist() == [0, 1, 2, 3, 6, 7]
    assert balanced_subset(labels, 100).tolist() == list(range(9))


def test_precision_recall_by_hand():
    real = np.array([[0.0], [1.0], [2.0], [3.0]])      # k = 1: every real ball has radius 1
    fake = np.array([[0.5], [10.0]])                   # one inside, one far off: precision 1/2
    p, r = precision_recall(real, fake, k=1)           # fake balls: radius 9.5, covering every real
    assert (p, r) == (0.5, 1.0)
    with pytest.raises(ValueError, match="more than k"):
        precision_recall(real, fake, k=3)


def test_precision_recall_tell_fidelity_from_diversity():
    rng = np.random.default_rng(0)
    centres = rng.normal(size=(8, 16)) * 6                       # eight well-separated modes
    def draw(n, modes):
        return centres[rng.choice(modes, n)] + rng.normal(size=(n, 16))
    real = draw(800, np.arange(8))
    p, r = precision_recall(real, draw(800, np.arange(8)))       # the same distribution
    assert p > 0.7 and r > 0.7
    p, r = precision_recall(real, draw(800, np.arange(2)))       # two of the eight modes: faithful, not diverse
    assert p > 0.7 and r < 0.3
    p, r = precision_recall(real, draw(800, np.arange(8)) + 30)  # off the real manifold
    assert p < 0.05


def test_cached_features_computes_once_per_image_set(tmp_path):
    from resgen.eval.image import cached_features
    calls = []

    def feat(images, progress=None):
        calls.append(len(images))
        return images.flatten(1).double().numpy()      # any features; float64 here, stored float32

    a, b = torch.rand(5, 4, 4), torch.rand(5, 4, 4)
    first = cached_features(feat, a, tmp_path, name="set")
    assert first.dtype == np.float32 and first.shape == (5, 16)
    assert np.array_equal(cached_features(feat, a, tmp_path, name="set"), first) and calls == [5]
    cached_features(feat, b, tmp_path, name="set")      # other images: other key, computed
    assert calls == [5, 5] and len(list(tmp_path.glob("features_set_*.npy"))) == 2
