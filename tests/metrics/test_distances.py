import numpy as np
import pytest
import torch

from invgan.data.digits import load_digits
from invgan.metrics import (cache_dir, classifier_score, frechet_distance, generator_metrics, load_classifier,
                            precision_recall, sliced_wasserstein)


@pytest.fixture(scope="module")
def classifier(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    mp.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg")))
    try:
        clf = load_classifier(dataset="digits8", steps=300)
        files = list(cache_dir().glob("digit_classifier_digits8_*.pt"))
        again = load_classifier(dataset="digits8", steps=300)  # from the cache, not retrained
        yield clf, files, again
    finally:
        mp.undo()


def test_classifier_is_trained_once_and_cached_in_the_user_cache(classifier, tmp_path_factory):
    clf, files, again = classifier
    assert len(files) == 1 and "xdg" in str(files[0])
    assert clf.heldout_accuracy > 0.85
    assert all(torch.equal(a, b) for a, b in zip(clf.state_dict().values(), again.state_dict().values()))


def test_metrics_separate_real_digits_from_noise_and_blur(classifier):
    clf = classifier[0]
    real = load_digits("digits8", "heldout").x
    other = load_digits("digits8", "train").x[: len(real)]
    blurred = torch.nn.functional.avg_pool2d(other, 3, 1, 1)
    noise = torch.rand(other.shape, generator=torch.Generator().manual_seed(0))
    m = {name: generator_metrics(x, real, clf) for name, x in (("real", other), ("blur", blurred), ("noise", noise))}
    for bad in ("blur", "noise"):
        assert m[bad]["fd"] > 10 * m["real"]["fd"]
        assert m[bad]["recall"] < 0.5 * m["real"]["recall"]
        assert m[bad]["precision"] < 0.6 * m["real"]["precision"]
        assert m[bad]["classifier_score"] < 0.5 * m["real"]["classifier_score"]
        assert m[bad]["swd_mean"] > 3 * m["real"]["swd_mean"]
    assert m["real"]["precision"] > 0.8 and m["real"]["recall"] > 0.8


def test_frechet_distance_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(0)
    a = rng.normal(0, 1, (20000, 3))
    b = rng.normal(1, 2, (20000, 3))  # ||mu||^2 = 3, Tr(1 + 4 - 2*2) * 3 = 3
    assert frechet_distance(a, b) == pytest.approx(6.0, rel=0.05)
    assert frechet_distance(a, a) == pytest.approx(0.0, abs=1e-6)


def test_precision_recall_and_score_extremes():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 1, (400, 2))
    collapsed = rng.normal(0, 0.05, (400, 2))  # mode collapse: precise, no recall
    p, r = precision_recall(real, collapsed)
    assert p > 0.95 and r < 0.3
    onehot = torch.eye(10).repeat(5, 1)
    assert classifier_score(onehot) == pytest.approx(10.0, rel=1e-6)
    assert classifier_score(torch.full((50, 10), 0.1)) == pytest.approx(1.0, rel=1e-6)


def test_sliced_wasserstein_levels_and_shape_check():
    x = load_digits("digits8", "heldout").x
    d = sliced_wasserstein(x, x)  # patches are sampled at random in each set: small, not zero
    assert set(d) == {"swd_8", "swd_mean"}
    assert d["swd_mean"] < sliced_wasserstein(x, x.flip(-1))["swd_mean"] / 3
    with pytest.raises(ValueError, match="shapes differ"):
        sliced_wasserstein(x, torch.rand(10, 1, 16, 16))


def test_importing_metrics_stays_below_training_and_cli():
    import subprocess
    import sys

    code = "import sys, invgan.metrics; print(sorted(m for m in sys.modules if m.startswith(('invgan.training', 'invgan.cli', 'invgan.solvers'))))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_evaluate_estimator_scores_any_model_y_physics():
    from invgan.data import fixed_measurements
    from invgan.metrics import evaluate_estimator, image_metrics, set_operator
    from invgan.physics import lift, make_physics

    model = make_physics("inpainting", (1, 8, 8), keep=0.7, fresh_per_sample=True, noise="none")
    x = torch.rand(5, 1, 8, 8)
    data = fixed_measurements(model, x, seed=0)
    perfect = evaluate_estimator(lambda y, p: x, data, model.physics, batch_size=5)
    assert perfect["psnr"] >= 80 and perfect["ssim"] == pytest.approx(1.0)
    back = evaluate_estimator(lambda y, p: lift(p, y, "adjoint"), data, model.physics, batch_size=2)
    set_operator(model.physics, data.operator_params)  # the masks of all 5 measurements
    m = image_metrics(lift(model.physics, data.y, "adjoint"), x)
    assert back["psnr"] == pytest.approx(float(m["psnr"].mean()), rel=1e-5)


def test_one_evaluation_function_scores_all_three_jobs():
    """A cGAN reconstructor, latent search and the deep image prior are all ``model(y, physics)``,
    so ``evaluate_estimator`` scores each on the same held-out measurements."""
    from invgan.config import DIPConfig
    from invgan.data import fixed_measurements
    from invgan.metrics import evaluate_estimator
    from invgan.nets import ConditionalReconstructor
    from invgan.nets.generators import MLPGenerator
    from invgan.physics import make_physics
    from invgan.solvers import DeepImagePrior, LatentSearch

    torch.manual_seed(0)
    op = make_physics("inpainting", (1, 16, 16), keep=0.6, noise="none")
    data = fixed_measurements(op, torch.rand(2, 1, 16, 16), seed=0)
    G = MLPGenerator(latent_dim=4, out_shape=(1, 16, 16), hidden=(16,), output="sigmoid")
    jobs = {
        "cgan": ConditionalReconstructor(1, width=4, depth=2).eval(),
        "latent": LatentSearch(G, max_steps=5, restarts=1),
        "dip": DeepImagePrior(DIPConfig(net="convdecoder", channels=4, depth=2, in_size=4, max_steps=5, stop="none",
                                        precision="fp32", progress=False)),
    }
    for name, model in jobs.items():
        scores = evaluate_estimator(model, data, op.physics, batch_size=2)
        assert set(scores) == {"psnr", "ssim"} and all(v == v for v in scores.values()), name
