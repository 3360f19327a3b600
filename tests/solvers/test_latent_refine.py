"""Beyond the generator's range: sparse deviations, generator fine-tuning and Langevin samples,
each checked against what can be computed by hand."""

import math

import pytest
import torch
from torch import nn

from invgan.nets.generators import MLPGenerator
from invgan.physics import make_physics
from invgan.solvers import LatentSearchConfig, latent_search
from invgan.solvers.latent_refine import soft_threshold
from invgan.solvers.latent_sampling import langevin_samples


def test_soft_threshold_is_the_proximal_map_of_the_l1_norm():
    v, t = torch.tensor([-2.0, -0.3, 0.0, 0.7, 1.5]), 0.5
    grid = torch.linspace(-3, 3, 60001)
    brute = torch.stack([grid[(0.5 * (grid - vi) ** 2 + t * grid.abs()).argmin()] for vi in v])
    assert torch.allclose(soft_threshold(v, t), brute, atol=1e-3)


class Affine(nn.Module):
    """A linear-Gaussian 'generator' G(z) = W z + b of (1, 2, 2) images."""

    def __init__(self, d: int = 3, dtype: torch.dtype = torch.float64):
        super().__init__()
        g = torch.Generator().manual_seed(1)
        self.W, self.b = torch.randn(4, d, generator=g, dtype=dtype), torch.rand(4, dtype=dtype)
        self.latent_dim, self.out_shape, self.output_range = d, (1, 2, 2), None

    def forward(self, z):
        return (z @ self.W.T + self.b).view(-1, 1, 2, 2)


class Identity:
    @staticmethod
    def A(x):
        return x


def test_langevin_matches_the_closed_form_posterior_of_a_linear_gaussian_model():
    G, sigma = Affine(), 0.5
    y = torch.tensor([[[[0.3, -0.2], [0.8, 0.1]]]], dtype=torch.float64)
    W, b = G.W, G.b
    cov_z = torch.linalg.inv(W.T @ W / sigma**2 + torch.eye(3, dtype=torch.float64))
    mean_z = cov_z @ W.T @ (y.flatten() - b) / sigma**2
    mean_x, std_x = W @ mean_z + b, torch.diag(W @ cov_z @ W.T).sqrt()
    samples, mean, std, rate = langevin_samples(y, Identity, G, mean_z[None], sigma, 64, steps=1200, seed=0)
    assert samples.shape == (1, 64, 1, 2, 2) and 0.3 < float(rate) < 0.9
    assert torch.allclose(mean.flatten(), mean_x, atol=0.1 * float(std_x.min()) + 0.02)
    assert torch.allclose(std.flatten(), std_x, rtol=0.15)


def test_the_samples_likelihood_holds_the_searchs_misfit_beside_the_noise():
    """sampling_noise='residual': s = max(sigma, rms of A G(z_hat) - y), and the chains sample the
    closed-form posterior of a linear-Gaussian G with that s; 'noise' keeps s = sigma."""
    from invgan.solvers.latent_sampling import sampling_std

    sigma = torch.tensor([0.1, 0.1, 0.8])
    assert torch.allclose(sampling_std(sigma, torch.tensor([0.3, 0.0, 0.3])), torch.tensor([0.3, 0.1, 0.8]))
    assert torch.equal(sampling_std(sigma, torch.tensor([0.3, 0.0, 0.3]), "noise"), sigma)
    G = Affine(d=2, dtype=torch.float32)  # float32: the search checks G on float32 latents; 4 pixels, 2 latents: a misfit is left
    physics = make_physics("inpainting", (1, 2, 2), keep=1.0, noise="none").physics
    y = torch.tensor([[[[0.3, -0.2], [0.8, 0.1]]]])
    common = dict(restarts=2, max_steps=2000, prior_weight=0.3, tolerance=0.0, samples=64, sampling_steps=1200, noise_level=0.01)
    res = latent_search(y, physics, G, **common)
    rms = float((res.x_map - y).pow(2).mean().sqrt())
    assert rms > 0.05 and torch.allclose(res.sampling_std, torch.tensor([rms]))
    W, b, eye, s = G.W.double(), G.b.double(), torch.eye(2, dtype=torch.float64), rms
    cov_z = torch.linalg.inv(W.T @ W / s**2 + eye)
    mean_x = W @ (cov_z @ W.T @ (y.flatten().double() - b) / s**2) + b
    std_x = torch.diag(W @ cov_z @ W.T).sqrt()
    assert torch.allclose(res.mean.flatten().double(), mean_x, atol=0.1 * float(std_x.min()) + 0.02)
    assert torch.allclose(res.std.flatten().double(), std_x, rtol=0.15)
    narrow = latent_search(y, physics, G, **common, sampling_noise="noise")
    assert torch.allclose(narrow.sampling_std, torch.tensor([0.01])) and float(narrow.std.mean()) < 0.5 * float(res.std.mean())


def test_the_heldout_rule_sizes_the_samples_by_the_misfit_on_entries_the_fit_did_not_see():
    """sampling_noise='heldout': s = max(sigma, the rms misfit of the held-out folds at the kept lambda), recorded in
    result.choice; an image off G's range is fitted better where the fit saw the entries than where it did not."""
    torch.manual_seed(0)
    G = MLPGenerator(4, (1, 8, 8), (32,), output="sigmoid").eval()
    physics = make_physics("inpainting", (1, 8, 8), keep=1.0, noise="none").physics
    y = torch.rand(2, 1, 8, 8)
    common = dict(restarts=2, max_steps=200, prior_weight=0.1, samples=4, sampling_steps=20, noise_level=0.01)
    res = latent_search(y, physics, G, **common, sampling_noise="heldout")
    held = torch.tensor(res.choice["heldout_rms"])
    error, count = torch.tensor(res.choice["heldout_error"]["prior_weight=0.1"]), torch.tensor(res.choice["heldout_entries"], dtype=torch.float)
    assert res.choice["folds"] == [5, 5] and torch.allclose(held, (error / count).sqrt())
    assert torch.allclose(res.sampling_std, held.clamp_min(0.01))
    in_sample = latent_search(y, physics, G, **common)  # the residual rule: the search's own misfit, on entries it fitted
    assert torch.allclose(in_sample.x_map, res.x_map, atol=1e-4)  # the same search on every entry (the warm chain repeats restart 0)
    assert bool((res.sampling_std > in_sample.sampling_std).all())


@pytest.fixture
def in_range():
    """A small generator, a latent in its range and noiseless CS measurements of its image."""
    torch.manual_seed(0)
    G = MLPGenerator(4, (1, 8, 8), (32,), output="sigmoid").eval()
    x = G(torch.randn(2, 4)).detach()
    model = make_physics("cs", (1, 8, 8), m=48, noise="none")
    return G, x, model.physics, model.physics.A(x)


@pytest.mark.parametrize("extra", [{}, {"deviation": "dct", "deviation_weight": 1e-4}, {"deviation": "pixels", "deviation_weight": 1e-4},
                                   {"finetune": 40, "noise_level": 0.0}])
def test_each_method_recovers_an_image_of_the_generators_range_at_zero_noise(in_range, extra):
    G, x, physics, y = in_range
    before = [p.detach().clone() for p in G.parameters()]
    res = latent_search(y, physics, G, restarts=4, max_steps=400, prior_weight=0.0, tolerance=0.0, **extra)
    assert float((res.x_hat - x).pow(2).mean()) < 1e-4
    assert all(torch.equal(a, p) for a, p in zip(before, G.parameters()))  # G itself never changes


def test_deviation_fits_what_the_generator_cannot():
    torch.manual_seed(0)
    G = MLPGenerator(2, (1, 8, 8), (16,), output="sigmoid").eval()
    x = G(torch.randn(1, 2)).detach()
    x[..., 2, 5] = 1.0 - x[..., 2, 5]  # one pixel outside the range of a 2-d generator
    model = make_physics("inpainting", (1, 8, 8), keep=1.0, noise="none")
    y = model.physics.A(x)
    plain = latent_search(y, model.physics, G, restarts=4, max_steps=300, prior_weight=0.0, deviation="none")
    sparse = latent_search(y, model.physics, G, restarts=4, max_steps=300, prior_weight=0.0, deviation="pixels", deviation_weight=1e-3)
    assert float((sparse.x_hat - x).pow(2).mean()) < 0.25 * float((plain.x_hat - x).pow(2).mean())
    assert torch.equal(sparse.x_map, plain.x_hat)


def test_the_operator_norm_of_the_proximal_step_does_not_depend_on_the_global_random_state():
    """The sparse deviation's step size comes from a power iteration with a seeded start: the same
    whatever ran before (the benchmark's figures must not depend on the order of its settings)."""
    from invgan.solvers.latent_refine import _operator_norm_squared

    model = make_physics("cs", (1, 16, 16), m=100, noise="none")
    x = torch.zeros(3, 1, 16, 16)
    values = []
    for seed in (1, 2):
        torch.manual_seed(seed)
        values.append(_operator_norm_squared(model.physics, x))
    assert values[0] == values[1] and values[0] > 0


def test_samples_give_a_mean_std_and_the_settings_refuse_bad_combinations(in_range):
    G, x, physics, y = in_range
    res = latent_search(y + 0.05 * torch.randn_like(y), physics, G, restarts=2, max_steps=100, samples=3, sampling_steps=40)
    assert res.samples.shape == (2, 3, 1, 8, 8) and res.std.shape == (2, 1, 8, 8) and torch.equal(res.x_hat, res.mean)
    assert float(res.std.mean()) > 0 and res.sigma.shape == (2,)
    with pytest.raises(ValueError, match="invalid samples=1"):
        LatentSearchConfig(samples=1)
    with pytest.raises(ValueError, match="invalid finetune=5"):
        LatentSearchConfig(finetune=5, deviation="dct")
    with pytest.raises(ValueError, match="invalid deviation='wavelet'"):
        LatentSearchConfig(deviation="wavelet")
    with pytest.raises(ValueError, match="invalid heldout_entries=0"):
        LatentSearchConfig(heldout_entries=0)
    with pytest.raises(ValueError, match="invalid sampling_noise='lambda'"):
        LatentSearchConfig(sampling_noise="lambda")
    assert math.isfinite(float(res.acceptance.mean()))


def test_the_default_chooses_from_the_measurements_alone_never_the_truth(in_range):
    from invgan.data import MeasuredSet
    from invgan.metrics import evaluate_estimator
    from invgan.solvers import LatentSearch

    G, x, physics, y = in_range
    noisy = y + 0.02 * torch.randn(y.shape, generator=torch.Generator().manual_seed(3))
    search = LatentSearch(G, restarts=2, max_steps=60, deviation_steps=30)
    outputs = []
    scores = evaluate_estimator(search, MeasuredSet(x=torch.full_like(x, float("nan")), y=noisy, operator_params={}), physics, outputs=outputs)
    assert math.isnan(scores["psnr"]) and torch.isfinite(outputs[0]).all()  # the truth is NaN, the estimate is not
    choice = search.result.choice
    assert set(choice) == {"rule", "prior_weight", "refinement", "heldout_error", "heldout_rms", "posterior_mean", "folds", "heldout_entries", "finetune_steps"}
    assert choice["finetune_steps"] == [0, 0]  # no noise level known here: no discrepancy stop, no fine-tuning
    assert "no ground truth" in choice["rule"]
    assert len(choice["prior_weight"]) == 2 and set(choice["refinement"]) <= {"none", "pixels", "dct"}
    assert all(len(v) == 2 and all(math.isfinite(e) for e in v) for v in choice["heldout_error"].values())
    again = latent_search(noisy, physics, G, restarts=2, max_steps=60, deviation_steps=30)
    assert torch.equal(again.x_hat, search.result.x_hat)  # seeded: the same split and the same choice


def test_with_few_entries_for_the_latents_the_default_is_the_posterior_mean_of_z():
    """At most mean_share * d informative entries per y (z far from pinned down): the default skips the
    refinements and the fine-tuning and returns the mean of mean_chains MALA chains from the kept z, with the
    likelihood std max(sigma, held-out rms); with one entry more, or mean_chains=0, it does not."""
    torch.manual_seed(0)
    G = MLPGenerator(6, (1, 8, 8), (32,), output="sigmoid").eval()
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(1))
    kw = dict(restarts=2, max_steps=60, deviation_steps=20, discrepancy_finetune=20, mean_chains=4, sampling_steps=20, noise_level=0.05)
    few = make_physics("cs", (1, 8, 8), m=3, noise="none").physics  # d = 6, mean_share = 0.5
    y = few.A(x)
    res = latent_search(y, few, G, **kw)
    c = res.choice
    assert c["posterior_mean"] == [True, True] and c["finetune_steps"] == [0, 0] and c["refinement"] == ["none", "none"]
    assert set(c["heldout_error"]) == {"prior_weight=0.01", "prior_weight=0.1", "prior_weight=1"}  # no refinement tried
    assert "posterior mean" in c["rule"]
    s = torch.tensor(c["heldout_rms"]).clamp_min(0.05)
    with torch.enable_grad():
        _, mean, _, _ = langevin_samples(y, few, G, res.z_hat, s, 4, steps=20, seed=0)
    assert torch.allclose(res.x_hat, mean) and not torch.allclose(res.x_hat, res.x_map)
    off = latent_search(y, few, G, **{**kw, "mean_chains": 0})
    assert off.choice["posterior_mean"] == [False, False] and "posterior mean" not in off.choice["rule"]
    many = make_physics("cs", (1, 8, 8), m=4, noise="none").physics
    assert latent_search(many.A(x), many, G, **kw).choice["posterior_mean"] == [False, False]
    assert latent_search(many.A(x), many, G, **{**kw, "mean_share": 4 / 6}).choice["posterior_mean"] == [True, True]
    with pytest.raises(ValueError, match="invalid mean_chains=1"):
        LatentSearchConfig(mean_chains=1)
    with pytest.raises(ValueError, match="invalid mean_share=1.5"):
        LatentSearchConfig(mean_share=1.5)


def test_the_default_fine_tunes_by_the_discrepancy_principle_from_what_it_kept(in_range):
    """With the noise level known, the default leaves the generator's range where its held-out
    choice does not explain y down to the noise: from G(z) where no refinement won, and from z
    beside the kept sparse deviation where one won. A fine-tuned copy of G lowers the residual,
    never below the first step that reaches m sigma^2, and G itself is unchanged; with
    ``discrepancy_finetune=0`` the answer is the choice's (the search's, or the deviation's)."""
    G, x, physics, y = in_range
    before = [p.detach().clone() for p in G.parameters()]
    outside = physics.A(torch.rand(x.shape, generator=torch.Generator().manual_seed(7)))  # images G cannot make
    kw = dict(restarts=2, max_steps=60, deviation_steps=30, noise_level=0.01)
    res = latent_search(outside, physics, G, **kw)
    off = latent_search(outside, physics, G, discrepancy_finetune=0, **kw)
    steps, kept = res.choice["finetune_steps"], res.choice["refinement"]
    assert "discrepancy" in res.choice["rule"] and off.choice["finetune_steps"] == [0, 0]
    assert sorted(kept) == ["none", "pixels"] and off.choice["refinement"] == kept  # (this seed gives both cases)
    for i in range(2):
        if kept[i] == "none":
            assert torch.equal(off.x_hat[i], off.x_map[i])
        else:  # the deviation's answer, clipped to G's output range
            assert not torch.equal(off.x_hat[i], off.x_map[i]) and 0 <= float(res.x_hat[i].min()) and float(res.x_hat[i].max()) <= 1
        assert 0 < steps[i] <= 200
        r_tuned = float((physics.A(res.x_hat)[i] - outside[i]).pow(2).sum())
        r_choice = float((physics.A(off.x_hat)[i] - outside[i]).pow(2).sum())
        assert r_tuned < r_choice and (steps[i] == 200 or r_tuned <= 1.5 * outside[i].numel() * 0.01**2)
    assert all(torch.equal(a, p) for a, p in zip(before, G.parameters()))
    # an answer already at the noise level (the image in range, noise_level above the fit's residual) is left as it is
    again = latent_search(y, physics, G, restarts=2, max_steps=200, deviation_steps=30, noise_level=0.05)
    assert again.choice["finetune_steps"] == [0, 0]


def test_held_out_entries_never_pick_the_weakest_prior_for_pure_noise(in_range):
    """A measurement that is pure noise: the weakest prior fits it best on its own entries, which
    says nothing of the held-out ones; the rule keeps the reference 0.1 unless the strongest prior
    wins by enough standard errors."""
    G, x, physics, y = in_range
    noise = 5.0 * torch.randn(y.shape, generator=torch.Generator().manual_seed(4))
    res = latent_search(noise, physics, G, restarts=2, max_steps=100, deviation="none")
    errors = res.choice["heldout_error"]
    assert sum(errors["prior_weight=1"]) < sum(errors["prior_weight=0.01"])
    picked = [round(w, 6) for w in res.choice["prior_weight"]]
    assert set(picked) <= {0.1, 1.0}  # never the weakest prior
    # where the reference stands, the answer is plain CSGM's at that weight (no other optimum picked without evidence)
    plain = latent_search(noise, physics, G, restarts=2, max_steps=100, prior_weight=0.1, deviation="none")
    for i, w in enumerate(picked):
        if w == 0.1:
            assert torch.allclose(res.x_hat[i], plain.x_hat[i], atol=1e-6)
    assert "standard errors" in res.choice["rule"]


def test_pick_keeps_the_reference_unless_a_candidate_wins_by_enough_standard_errors():
    from invgan.solvers.heldout import pick_candidate

    held = torch.tensor([[1.0, 1.0, 1.0, 1.0, 0.0]] * 3)  # the last entry is not held out: never counted
    ref = torch.ones(3, 5)
    steady = torch.tensor([[0.5, 0.5, 0.5, 0.5, 9.0], [0.9, 0.9, 0.9, 0.9, 0.0], [0.0, 0.0, 0.0, 0.0, 0.0]])
    noisy = torch.tensor([[0.0, 2.0, 0.0, 1.9, 0.0], [0.0, 2.0, 0.0, 1.9, 0.0], [0.1, 0.0, 0.0, 0.0, 0.0]])
    # d = ref - steady: constant 0.5 and 0.1 (standard error 0): wins; row 3: both win, the lower total (steady) is picked
    # d = ref - noisy: mean 0.025, standard error about 0.55: never wins on rows 1 and 2
    picked = pick_candidate([(ref * held), (steady * held), (noisy * held)], 0, held)
    assert picked.tolist() == [1, 1, 1]
    assert pick_candidate([ref * held, noisy * held], 0, held).tolist()[:2] == [0, 0]
    assert pick_candidate([ref * held, noisy * held], None, held).tolist()[:2] == [1, 1]  # no reference: the lowest total
    # d = (1, 0, 0, 0.3): mean 0.325, s_d = 0.4717, standard error 0.2358: a win by 1.38 standard errors,
    # enough against the reference alone (1) but not beside a second challenger (Phi^-1(1 - 0.1587 / 2) = 1.41)
    held1, ref1 = torch.ones(1, 4), torch.ones(1, 4)
    fair = torch.tensor([[0.0, 1.0, 1.0, 0.7]])
    assert pick_candidate([ref1, fair], 0, held1).tolist() == [1]
    assert pick_candidate([ref1, fair, torch.full((1, 4), 5.0)], 0, held1).tolist() == [0]


def test_few_informative_entries_are_held_out_over_disjoint_folds():
    """48 CS rows hold out about 5 per 10 % split: 7 folds pool about 30; an inpainting mask's
    zero rows are never counted; 784 rows need one split."""
    from invgan.solvers.heldout import Entries, fold_count, informative_entries

    assert fold_count(torch.tensor([48, 784, 3]), 0.1, 30).tolist() == [7, 1, 10]
    assert fold_count(torch.tensor([48]), 0.2, 30).tolist() == [4]  # at most 1 / share folds: every entry held out once
    torch.manual_seed(0)
    G = MLPGenerator(4, (1, 8, 8), (32,), output="sigmoid").eval()
    inpaint = make_physics("inpainting", (1, 8, 8), keep=0.3, noise="none", fresh_per_sample=True, seed=0)
    y = inpaint.measure(G(torch.randn(2, 4)).detach())  # two measurements, two masks
    mask = inpaint.physics.mask.expand(2, 1, 8, 8) != 0
    assert torch.equal(informative_entries(inpaint.physics, (1, 8, 8), 2), mask)
    x = torch.rand(6, 1, 8, 8)  # 3 stacked copies of the 2 measurements: each copy through the same 2 masks
    keep = (torch.rand(6, 1, 8, 8) > 0.5).float()
    out = Entries(inpaint.physics, keep, groups=3).A(x)
    assert torch.equal(out, torch.cat([inpaint.physics.A(c) for c in x.chunk(3)]) * keep)

    res = latent_search(y, inpaint.physics, G, restarts=2, max_steps=40, deviation="none")
    kept = mask.flatten(1).sum(1).tolist()
    assert res.choice["folds"] == fold_count(torch.tensor(kept), 0.1, 30).tolist() and min(res.choice["folds"]) > 1
    assert all(0 < h <= k for h, k in zip(res.choice["heldout_entries"], kept))  # the mask's zeros are never held out
    assert "folds" in res.choice["rule"]


def test_l1_ball_projection_by_hand():
    from invgan.solvers.latent_refine import project_l1_ball

    center = torch.tensor([[1.0, 1.0, 1.0]])
    v = torch.tensor([[4.0, 0.0, 1.5]])  # offset (3, -1, 0.5), l1 norm 4.5, onto radius 2
    # soft threshold at theta: (3 - t) + (1 - t) + (0.5 - t) = 2 gives t = 0.833 > 0.5, so the last one is 0:
    # (3 - t) + (1 - t) = 2 gives t = 1: offset (2, 0, 0)
    got = project_l1_ball(v, center, torch.tensor([2.0]))
    assert torch.allclose(got, torch.tensor([[3.0, 1.0, 1.0]]))
    inside = torch.tensor([[1.5, 0.8, 1.0]])
    assert torch.equal(project_l1_ball(inside, center, torch.tensor([2.0])), inside)
    many = torch.randn(5, 2, 3, 3)
    out = project_l1_ball(many, torch.zeros_like(many), torch.full((5,), 1.5))
    assert torch.allclose(out.flatten(1).abs().sum(1), torch.full((5,), 1.5), atol=1e-5)


def test_intermediate_layer_search_recovers_in_range_and_undeclared_spaces_are_refused():
    from invgan.nets.generators import make_generator

    torch.manual_seed(0)
    G = make_generator("dcgan", 8, (1, 16, 16), output="sigmoid", width=4).eval()
    x = G(torch.randn(2, 8)).detach()
    model = make_physics("cs", (1, 16, 16), m=200, noise="none")
    y = model.physics.A(x)
    res = latent_search(y, model.physics, G, restarts=4, max_steps=300, prior_weight=0.0, deviation="none", space="layer:1", space_steps=200)
    assert float((res.x_hat - x).pow(2).mean()) < 1e-4 and res.x_map is not None
    with pytest.raises(ValueError, match=r"declares no latent space 'w\+' to search: expected one of \('z', 'layer:0'"):
        latent_search(y, model.physics, G, space="w+")


def test_a_layer_search_keeps_its_best_iterate_and_stops_on_its_own():
    from invgan.nets.generators import make_generator
    from invgan.solvers.latent_refine import search_space

    torch.manual_seed(0)
    G = make_generator("dcgan", 8, (1, 16, 16), output="sigmoid", width=4).eval()
    z = torch.randn(2, 8)
    x = G(z).detach()
    model = make_physics("cs", (1, 16, 16), m=120, noise="none")
    calls = []

    class Counted:
        @staticmethod
        def A(v):
            calls.append(1)
            return model.physics.A(v)

    def misfit(xx):
        return (model.physics.A(xx) - model.physics.A(x)).flatten(1).pow(2).sum(1)

    start = z + 0.5 * torch.randn(2, 8)
    got, _ = search_space(model.physics.A(x), Counted, G, start, "layer:1", steps=300, lr=0.05, patience=10)
    assert (misfit(got) <= misfit(G(start).detach()) + 1e-6).all()  # never worse than where it started
    calls.clear()
    search_space(model.physics.A(x), Counted, G, z, "layer:1", steps=300, lr=1e-9, patience=10)  # nothing to gain: stops
    assert len(calls) <= 12


@pytest.mark.parametrize("space", ["w", "w+", "layer:1"])
def test_stylegan2_spaces_are_searched_and_fit_at_least_as_well_as_z(space):
    from invgan.nets.generators import make_generator

    torch.manual_seed(0)
    G = make_generator("stylegan2", 8, (1, 16, 16), output="sigmoid", width=4, mapping_layers=2).eval()
    x = G(torch.randn(2, 8)).detach()
    model = make_physics("inpainting", (1, 16, 16), keep=0.5, noise="none")
    y = model.physics.A(x)
    common = dict(restarts=2, max_steps=60, prior_weight=0.01, deviation="none")
    plain = latent_search(y, model.physics, G, **common)
    res = latent_search(y, model.physics, G, **common, space=space, space_steps=60)
    fit = lambda r: float((model.physics.A(r.x_hat) - y).pow(2).sum())  # noqa: E731
    assert res.x_hat.shape == x.shape and fit(res) <= fit(plain) * 1.01


def test_latent_samples_are_scored_by_the_one_posterior_evaluation(in_range):
    from invgan.metrics import evaluate_posterior

    G, x, physics, y = in_range
    res = latent_search(y + 0.05 * torch.randn_like(y), physics, G, restarts=2, max_steps=100, samples=4, sampling_steps=40)
    scores = evaluate_posterior(res.posterior, x)
    assert res.posterior.k == 4 and 0.0 <= scores["coverage"] <= 1.0 and math.isfinite(scores["psnr_mean"])
    assert latent_search(y, physics, G, restarts=1, max_steps=5, deviation="none", prior_weight=0.1).posterior is None


@pytest.mark.parametrize("kind", ["dcgan", "stylegan2"])
def test_fine_tuning_from_an_ilo_layer_trains_only_the_blocks_after_it(kind):
    """``finetune_generator(space="layer:1")`` fine-tunes a copy of G from an ILO point: only the
    blocks the output depends on from that layer take part, the residual falls, G is unchanged, and
    a residual already below the discrepancy target stops it at step 0 (the point's own image)."""
    from invgan.nets.generators import make_generator
    from invgan.solvers.latent_refine import _blocks, _blocks_reached, finetune_generator, one_measurement, space_inputs

    torch.manual_seed(0)
    extra = dict(mapping_layers=2) if kind == "stylegan2" else {}
    G = make_generator(kind, 8, (1, 16, 16), output="sigmoid", width=4, **extra).eval()
    before = [p.detach().clone() for p in G.parameters()]
    z = torch.randn(2, 8)
    with torch.no_grad():
        v = G.to_space("layer:1", z)
    inputs = space_inputs(G, "layer:1", z)
    start = G.from_space("layer:1", v, **inputs).detach()
    later = _blocks_reached(G, lambda: G.from_space("layer:1", v, **inputs).sum())
    assert 0 < len(later) < len(_blocks(G))  # the blocks before layer 1 (and the mapping network) cannot move the output
    model = make_physics("cs", (1, 16, 16), m=200, noise="none")
    y = model.physics.A(torch.rand(2, 1, 16, 16, generator=torch.Generator().manual_seed(3)))  # outside G's range
    x, steps = finetune_generator(y, one_measurement(model.physics, 2), G, v, steps=60, space="layer:1", inputs=inputs)
    misfit = lambda xx: (model.physics.A(xx) - y).flatten(1).pow(2).sum(1)  # noqa: E731
    assert steps.tolist() == [60, 60] and (misfit(x) < 0.9 * misfit(start)).all()
    assert all(torch.equal(a, p) for a, p in zip(before, G.parameters()))
    loose = float(misfit(start).max() / 200) ** 0.5 * 1.01  # m sigma^2 above the start's residual: nothing to do
    x0, steps0 = finetune_generator(y, one_measurement(model.physics, 2), G, v, steps=60, space="layer:1", inputs=inputs, sigma=loose)
    assert steps0.tolist() == [0, 0] and torch.allclose(x0, start, atol=1e-6)


def test_the_default_fine_tunes_from_the_ilo_layer_that_won():
    """Where an ILO layer wins the held-out choice and its fit leaves more than the noise, the
    default fine-tunes G's later blocks from that layer's point until the discrepancy principle
    holds: the residual falls below the ILO fit's (``discrepancy_finetune=0``)."""
    import copy

    from invgan.nets.generators import make_generator

    torch.manual_seed(0)
    G = make_generator("dcgan", 8, (1, 16, 16), output="sigmoid", width=4).eval()
    H, g = copy.deepcopy(G), torch.Generator().manual_seed(0)
    with torch.no_grad():  # images of a generator whose first block differs: in the range of G's later layers, not of z
        for p in H.project.parameters():
            p.add_(0.5 * torch.randn(p.shape, generator=g) * p.std())
        x = H(torch.randn(2, 8, generator=g))
    model = make_physics("cs", (1, 16, 16), m=200, noise="none")
    y = model.physics.A(x) + 0.01 * torch.randn(2, 200, generator=g)
    kw = dict(restarts=2, max_steps=60, deviation_steps=30, space_steps=60, noise_level=0.01)
    res = latent_search(y, model.physics, G, **kw)
    off = latent_search(y, model.physics, G, discrepancy_finetune=0, **kw)
    kept, steps = res.choice["refinement"], res.choice["finetune_steps"]
    assert kept == ["none", "layer:1"] and off.choice["refinement"] == kept  # (this seed gives both cases)
    misfit = lambda xx: (model.physics.A(xx) - y).flatten(1).pow(2).sum(1)  # noqa: E731
    assert steps[1] > 0 and float(misfit(res.x_hat)[1]) < float(misfit(off.x_hat)[1])
    assert steps[1] == 200 or float(misfit(res.x_hat)[1]) <= 1.5 * 200 * 0.01**2


def test_a_layer_search_runs_under_no_grad():
    """deepinv evaluates reconstructors under ``torch.no_grad()``: the layer search turns gradients on itself."""
    from invgan.nets.generators import make_generator
    from invgan.solvers.latent_refine import search_space

    torch.manual_seed(0)
    G = make_generator("dcgan", 8, (1, 16, 16), output="sigmoid", width=4).eval()
    z = torch.randn(2, 8)
    model = make_physics("cs", (1, 16, 16), m=120, noise="none")
    y = model.physics.A(G(z).detach() + 0.05)
    with torch.no_grad():
        x, _ = search_space(y, model.physics, G, z, "layer:1", steps=20)
    assert x.shape == (2, 1, 16, 16) and torch.isfinite(x).all()


def test_the_discrepancy_target_and_the_residual_count_only_the_entries_that_carry_the_image():
    """Inpainting: y is 0 off the mask, in the truth's image and every estimate's alike, so the
    discrepancy principle's m is the kept pixels, not every pixel (m sigma^2 would be 1/keep times
    too loose), and the residual's rms is taken over them."""
    from invgan.solvers.latent_refine import finetune_generator, one_measurement, residual_rms

    torch.manual_seed(0)
    G = MLPGenerator(4, (1, 8, 8), (16,), output="sigmoid").eval()
    model = make_physics("inpainting", (1, 8, 8), keep=0.25, noise="none", fresh_per_sample=True, seed=0)
    x = torch.rand(2, 1, 8, 8, generator=torch.Generator().manual_seed(3))  # outside G's range
    y = model.measure(x)
    z = torch.randn(2, 4)
    kept = (model.physics.A(torch.ones_like(x)) != 0).flatten(1).sum(1).float()
    sq = (model.physics.A(G(z)) - y).flatten(1).pow(2).sum(1).detach()
    assert 0 < kept.max() < 64 and torch.allclose(residual_rms(model.physics, G(z), y), (sq / kept).sqrt())
    # sigma with 64 sigma^2 = 2 r0 (every pixel: nothing to do) but kept sigma^2 < r0 (the kept pixels: fine-tune)
    sigma = float((2 * sq.min() / 64).sqrt())
    assert (kept * sigma**2 < sq).all()
    x_hat, steps = finetune_generator(y, one_measurement(model.physics, 2), G, z, steps=40, sigma=sigma)
    after = (model.physics.A(x_hat) - y).flatten(1).pow(2).sum(1)
    assert (steps > 0).all() and (after < sq).all()


def test_the_defaults_noise_estimate_counts_only_the_kept_pixels():
    """Unknown noise: the default estimates sigma from its fit's residual over the fitting entries that
    carry the image; the zeros off an inpainting mask (25 % kept) deflated it about twofold."""
    from invgan.solvers.latent_refine import residual_rms

    torch.manual_seed(0)
    G = MLPGenerator(4, (1, 8, 8), (16,), output="sigmoid").eval()
    model = make_physics("inpainting", (1, 8, 8), keep=0.25, noise="none", fresh_per_sample=True, seed=0)
    y = model.measure(torch.rand(3, 1, 8, 8, generator=torch.Generator().manual_seed(3)))  # outside G's range
    res = latent_search(y, model.physics, G, restarts=2, max_steps=60, deviation_steps=20, discrepancy_finetune=0)
    rms = residual_rms(model.physics, res.x_map, y)
    assert (res.sigma > 0.8 * rms).all() and (res.sigma < 1.25 * rms).all()
