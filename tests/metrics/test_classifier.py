"""The digit classifier: trained once, cached, and its scores separate real digits from noise and blur."""

import pytest
import torch

from invgan.data.digits import load_digits
from invgan.metrics import cache_dir, generator_metrics, load_classifier


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
