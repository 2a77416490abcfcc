import numpy as np
import torch

from resgen.metrics import feature_stats, frechet_distance, psnr


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
    from resgen.eval_image import balanced_subset
    labels = torch.tensor([0, 1, 0, 1, 0, 1, 2, 2, 2])
    idx = balanced_subset(labels, 6)
    assert idx.tolist() == [0, 1, 2, 3, 6, 7]
    assert balanced_subset(labels, 100).tolist() == list(range(9))
