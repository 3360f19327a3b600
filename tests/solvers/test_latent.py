import copy

import deepinv.physics as dphys
import pytest
import torch

from invgan.nets.generators import MLPGenerator, make_generator
from invgan.physics import make_physics
from invgan.solvers import LatentSearchConfig, latent_search


def _generator(seed=0, shape=(1, 8, 8)):
    torch.manual_seed(seed)
    return MLPGenerator(latent_dim=6, out_shape=shape, hidden=(32,), output="sigmoid")


def _truth(G, n, seed=1):
    with torch.no_grad():
        return G.eval()(torch.randn(n, G.latent_dim, generator=torch.Generator().manual_seed(seed)))


def test_n_measurements_give_n_reconstructions_each_fitting_its_own_y():
    G = _generator()
    phys = make_physics("cs", (1, 8, 8), m=24, noise="none").physics
    x = _truth(G, 5)
    y = phys.A(x)
    res = latent_search(y, phys, G, max_steps=300, restarts=3, lr=0.1, prior_weight=0.0)
    assert res.x_hat.shape == x.shape and res.z_hat.shape == (5, 6) and res.objective.shape == (5,)
    # residual of reconstruction i against every y_j: the diagonal is the smallest of each row
    r = (phys.A(res.x_hat)[:, None] - y[None]).flatten(2).pow(2).sum(-1)
    assert torch.equal(r.argmin(1), torch.arange(5))
    assert (r.diagonal() < 1e-3 * r.mean()).all()
    # N distinct outputs (deepinv's CSGMGenerator would return one image for the batch)
    assert torch.cdist(res.x_hat.flatten(1), res.x_hat.flatten(1)).fill_diagonal_(1).min() > 1e-2
    assert (res.x_hat - x).pow(2).mean() < 1e-3


@pytest.mark.parametrize("name, kwargs", [("inpainting", {"keep": 0.6}), ("cs", {"m": 40})])
def test_per_sample_operators_are_respected(name, kwargs):
    G = _generator()
    model = make_physics(name, (1, 8, 8), fresh_per_sample=True, noise="none", **kwargs)
    x = _truth(G, 3)
    y = model.measure(x)  # physics now holds 3 different masks / matrices
    res = latent_search(y, model.physics, G, max_steps=200, restarts=2, lr=0.1, prior_weight=0.0)
    assert res.x_hat.shape == x.shape
    assert (res.objective < 1e-3 * y.pow(2).flatten(1).sum(1)).all()


def test_best_restart_is_kept():
    G = _generator()
    phys = make_physics("cs", (1, 8, 8), m=16, noise="none").physics
    y = phys.A(_truth(G, 4))
    cfg = LatentSearchConfig(max_steps=15, lr=0.05, tolerance=0.0, prior_weight=0.1, deviation="none")  # the plain search
    res = latent_search(y, phys, G, cfg, restarts=4)
    single = latent_search(y, phys, G, cfg, restarts=1)  # same seed: restart 0 of the 4
    assert torch.allclose(res.restart_objectives[:, 0], single.objective, rtol=1e-4)
    assert torch.equal(res.objective, res.restart_objectives.min(1).values)
    assert (res.restart_objectives.max(1).values > 1.5 * res.objective).any()  # restarts really differ
    # the reported objective is that of the returned image and latent, prior term included
    assert cfg.prior_weight > 0
    recomputed = (phys.A(res.x_hat) - y).flatten(1).pow(2).sum(1) + cfg.prior_weight * res.z_hat.pow(2).sum(1)
    assert torch.allclose(recomputed, res.objective, rtol=1e-4, atol=1e-7)


def test_generator_weights_untouched_and_modes_restored():
    G = make_generator("dcgan", 8, (1, 16, 16), output="sigmoid", width=4)  # batch norm: buffers too
    G.train()
    before = copy.deepcopy(G.state_dict())
    phys = make_physics("cs", (1, 16, 16), m=40, noise="none").physics
    y = phys.A(torch.rand(3, 1, 16, 16))
    for opt in ("adam", "lbfgs"):
        latent_search(y, phys, G, max_steps=5, restarts=2, optimizer=opt)
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())
    assert all(p.grad is None and p.requires_grad for p in G.parameters())
    assert G.training


def test_prior_weight_lbfgs_and_early_stopping():
    G = _generator()
    phys = make_physics("cs", (1, 8, 8), m=20, noise="gaussian", noise_sigma=0.1).physics
    y = phys(_truth(G, 4))
    free = latent_search(y, phys, G, max_steps=60, restarts=2, optimizer="lbfgs", prior_weight=0.0)
    tied = latent_search(y, phys, G, max_steps=60, restarts=2, optimizer="lbfgs", prior_weight=1.0)
    assert tied.z_hat.norm(dim=1).mean() < free.z_hat.norm(dim=1).mean()
    quick = latent_search(y, phys, G, max_steps=400, restarts=2, lr=0.1, tolerance=1e-2, patience=5, prior_weight=0.0)
    assert (quick.steps < 400).all() and quick.steps.unique().numel() > 1  # each search stops on its own


def test_bad_inputs_get_clear_errors():
    G = _generator()
    phys = make_physics("cs", (1, 8, 8), m=20, noise="none").physics
    y = phys.A(torch.rand(2, 1, 8, 8))
    with pytest.raises(ValueError, match="batch"):
        latent_search(y[0, 0], phys, G)
    with pytest.raises(ValueError, match="A\\(G\\(z\\)\\)"):
        latent_search(torch.randn(2, 30), phys, G)
    with pytest.raises(ValueError, match="m = 80 .* exceed n = 64"):
        tall = dphys.CompressedSensing(m=80, img_size=(1, 8, 8))
        latent_search(torch.randn(2, 80), tall, G)
    with pytest.raises(ValueError, match="does not match the operator"):
        latent_search(y, phys, _generator(shape=(1, 16, 16)))
    with pytest.raises(ValueError, match="does not fit the operator"):
        blur = dphys.Blur(filter=torch.ones(1, 2, 3, 3) / 9)  # 2-channel kernel, 1-channel images
        latent_search(torch.randn(2, 1, 8, 8), blur, G)
    with pytest.raises(ValueError, match="NaN"):
        latent_search(torch.full_like(y, float("nan")), phys, G)
    with pytest.raises(ValueError, match="optimizer"):
        latent_search(y, phys, G, optimizer="sgd")
    with pytest.raises(ValueError, match="latent_dim"):
        latent_search(y, phys, torch.nn.Identity())


def _checkpoint(tmp_path):
    G = make_generator("mlp", 6, (1, 8, 8), output="sigmoid", hidden=(16,))
    path = tmp_path / "g.pt"
    torch.save({"config": {"generator": G.config, "data": {"dataset": "digits8"}}, "networks": {"G": G.state_dict()}, "ema": None}, path)
    return G, path


def test_lr_none_is_each_optimizers_default_and_an_explicit_lr_is_used():
    G = _generator()
    phys = make_physics("cs", (1, 8, 8), m=20, noise="none").physics
    y = phys.A(_truth(G, 2))
    opts = dict(max_steps=8, restarts=1, prior_weight=0.0)
    for opt, default in (("adam", 0.05), ("lbfgs", 1.0)):
        assert LatentSearchConfig().lr is None
        auto = latent_search(y, phys, G, optimizer=opt, **opts)
        assert torch.equal(auto.z_hat, latent_search(y, phys, G, optimizer=opt, lr=default, **opts).z_hat)
    small = latent_search(y, phys, G, optimizer="lbfgs", lr=0.05, **opts)  # once silently replaced by 1.0
    assert not torch.equal(small.z_hat, latent_search(y, phys, G, optimizer="lbfgs", lr=1.0, **opts).z_hat)
    with pytest.raises(ValueError, match="'steps' \\(now 'max_steps'\\)"):
        latent_search(y, phys, G, steps=5)
    with pytest.raises(ValueError, match="invalid lr=0.0: expected a value > 0"):
        latent_search(y, phys, G, lr=0.0)


def test_latent_search_as_a_deepinv_reconstructor_and_in_evaluate_estimator():
    from deepinv.models import Reconstructor

    from invgan.data import fixed_measurements
    from invgan.metrics import evaluate_estimator
    from invgan.solvers import LatentSearch

    G = _generator()
    model = make_physics("inpainting", (1, 8, 8), keep=0.7, fresh_per_sample=True, noise="none")
    x = _truth(G, 4)
    data = fixed_measurements(model, x, seed=0)
    search = LatentSearch(G, LatentSearchConfig(max_steps=150, restarts=2, lr=0.1), prior_weight=0.0)
    assert isinstance(search, Reconstructor) and search.config.prior_weight == 0.0
    x_hat = search(data.y, model.physics)  # physics holds the 4 masks that made data.y
    direct = latent_search(data.y, model.physics, G, search.config)
    assert torch.equal(x_hat, direct.x_hat) and torch.equal(search.result.objective, direct.objective)
    scores = evaluate_estimator(search, data, model.physics, batch_size=2)  # under no_grad: the search enables its own
    assert scores["psnr"] > 30 and scores["ssim"] > 0.95
