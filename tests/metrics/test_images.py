"""Image metrics and ``evaluate_estimator`` on any ``model(y, physics)``."""

import pytest
import torch


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


@pytest.mark.parametrize("name, keys", [("inpainting", {"biharmonic_psnr", "biharmonic_ssim"}),
                                        ("blur", {"wiener_psnr", "wiener_ssim", "wiener_balance"})])
def test_baselines_add_the_classical_method_of_the_operator(name, keys, synthetic):
    from invgan.data import fixed_measurements
    from invgan.metrics import baselines
    from invgan.physics import make_physics

    model = make_physics(name, (1, 32, 32), sigma=1.5, noise_sigma=0.01, fresh_per_sample=True)
    data = fixed_measurements(model, torch.cat([synthetic(32, seed=s) for s in range(3)]), seed=0)
    m = baselines(data, model.physics)
    others = {"biharmonic_psnr", "biharmonic_ssim", "wiener_psnr", "wiener_ssim", "wiener_balance"} - keys
    assert keys <= set(m) and not others & set(m)
    method = next(iter(k for k in keys if k.endswith("psnr")))
    assert m[method] > m["baseline_psnr"] + 1.0 and m[method] > m["classical_psnr"], m  # Wiener's Laplacian prior beats Tikhonov's


def test_held_out_measured_pixels_rank_estimators_without_the_truth(synthetic):
    from invgan.data import fixed_measurements
    from invgan.metrics.images import held_out_measurement_psnr
    from invgan.classical import biharmonic_inpaint
    from invgan.physics import make_physics

    model = make_physics("inpainting", (1, 32, 32), keep=0.5, noise_sigma=0.01, fresh_per_sample=True)
    data = fixed_measurements(model, torch.cat([synthetic(32, seed=s) for s in range(3)]), seed=0)
    adjoint = held_out_measurement_psnr(lambda y, p: p.A_adjoint(y), data, model.physics)
    biharmonic = held_out_measurement_psnr(biharmonic_inpaint, data, model.physics)
    assert biharmonic > adjoint + 10  # the estimator that fills the pixels scores far higher
    assert held_out_measurement_psnr(biharmonic_inpaint, data, model.physics) == biharmonic  # a fixed split
    with pytest.raises(ValueError, match="need an inpainting operator, got BlurFFT"):
        blur = make_physics("blur", (1, 32, 32))
        held_out_measurement_psnr(lambda y, p: y, fixed_measurements(blur, torch.rand(2, 1, 32, 32)), blur.physics)
