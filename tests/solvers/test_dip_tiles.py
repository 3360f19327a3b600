"""The deep image prior on overlapping tiles (invgan.solvers.dip_tiles)."""

import pytest
import torch

from invgan.physics import make_physics
from invgan.solvers.dip import DeepImagePrior, DIPConfig, deep_image_prior
from invgan.solvers.dip_tiles import cut_tiles, ramp_window, stitch_tiles, tile_operator, tile_origins

SMALL = dict(channels=8, depth=2, min_steps=5, progress=False)


@pytest.mark.parametrize("length,tile,overlap", [(256, 144, 32), (256, 96, 16), (100, 40, 8), (65, 64, 0), (48, 32, 8)])
def test_tiles_cover_the_axis_and_overlap_by_at_least_the_overlap(length, tile, overlap):
    origins = tile_origins(length, tile, overlap)
    assert origins[0] == 0 and origins[-1] + tile == length
    assert all(a + tile - b >= overlap for a, b in zip(origins, origins[1:]))
    assert len(tile_origins(length - 1, tile, overlap)) <= len(origins)  # the fewest tiles: never more for a shorter axis


def test_the_ramp_is_one_inside_positive_at_the_edges_and_symmetric():
    w = ramp_window(20, 12, 4)
    assert w.shape == (20, 12) and bool((w > 0).all())
    assert torch.equal(w[4:16, 4:8], torch.ones(12, 4))
    assert torch.allclose(w, w.flip(0)) and torch.allclose(w, w.flip(1))
    assert float(w[0, 0]) == pytest.approx((0.5 / 4) ** 2)


def test_stitching_the_tiles_of_an_image_gives_it_back():
    x = torch.rand(2, 3, 50, 37)
    boxes = [(t, s, 32, 24) for t in tile_origins(50, 32, 8) for s in tile_origins(37, 24, 8)]
    tiles = cut_tiles(x, boxes)
    assert tiles.shape == (2 * len(boxes), 3, 32, 24)
    assert torch.equal(tiles[len(boxes)], x[1, :, :32, :24])  # image-major: the second image's first tile
    assert torch.allclose(stitch_tiles(tiles, boxes, (50, 37), 8), x, atol=1e-6)


def test_the_tile_operator_measures_each_tile_as_the_whole_operator_does():
    x = torch.rand(2, 1, 40, 40)
    boxes = [(t, s, 24, 24) for t in tile_origins(40, 24, 8) for s in tile_origins(40, 24, 8)]
    model = make_physics("inpainting", (1, 40, 40), keep=0.5, noise="gaussian", noise_sigma=0.05, seed=3)
    tiled = tile_operator(model.physics, boxes, 2)
    assert torch.equal(tiled.A(cut_tiles(x, boxes)), cut_tiles(model.physics.A(x), boxes))
    assert tiled.noise_model is model.physics.noise_model
    denoising = make_physics("denoising", (1, 40, 40), noise_sigma=0.05).physics
    assert tile_operator(denoising, boxes, 2) is denoising


def test_a_tiled_run_stops_each_tile_by_its_own_rule_and_returns_the_whole_image():
    torch.manual_seed(0)
    x = torch.rand(1, 1, 48, 48)
    x[..., :24, :] = 0.5  # a flat half and a noisy half: their tiles fit at different speeds
    model = make_physics("denoising", (1, 48, 48), noise_sigma=0.1, seed=1)
    y = model.measure(x)
    res = deep_image_prior(y, model.physics, reference=x, tile=32, tile_overlap=8, max_steps=150, **SMALL)
    assert res.x_hat.shape == x.shape and len(res.tiles) == 1 and len(res.tiles[0]) == 4
    steps = [t["stopped_at"] for t in res.tiles[0]]
    assert res.stopped_at == [max(steps)] and res.decided_at == [max(t["decided_at"] for t in res.tiles[0])]
    assert res.loss_history.shape == (res.steps, 1) and res.psnr_history.shape == (res.steps, 1)
    assert [t["box"] for t in res.tiles[0]] == [[0, 0, 32, 32], [0, 16, 32, 32], [16, 0, 32, 32], [16, 16, 32, 32]]
    assert res.config.tile == 32 and len(res.blend_weight) == 1
    # the same tiles solved as a batch and stitched by hand give the same estimate
    boxes = [tuple(t["box"]) for t in res.tiles[0]]
    batch = deep_image_prior(cut_tiles(y, boxes), model.physics, max_steps=150, **SMALL)
    assert torch.allclose(stitch_tiles(batch.x_hat, boxes, (48, 48), 8).clamp(0, 1), res.x_hat, atol=1e-6)


def test_an_image_no_larger_than_a_tile_is_fitted_whole():
    x = torch.rand(1, 1, 24, 24)
    model = make_physics("inpainting", (1, 24, 24), keep=0.5, noise="none", seed=0)
    y = model.measure(x)
    whole = deep_image_prior(y, model.physics, max_steps=20, **SMALL)
    tiled = deep_image_prior(y, model.physics, max_steps=20, tile=32, tile_overlap=8, **SMALL)
    assert torch.equal(whole.x_hat, tiled.x_hat) and tiled.tiles == []


def test_tiles_need_an_operator_that_acts_pixel_by_pixel_and_a_sound_size():
    model = make_physics("downsampling", (1, 48, 48), factor=2, noise="none")
    with pytest.raises(ValueError, match="tile=32 needs an operator that acts pixel by pixel.*Downsampling.*tile=0"):
        deep_image_prior(torch.rand(1, 1, 24, 24), model.physics, tile=32, tile_overlap=8, max_steps=2, **SMALL)
    with pytest.raises(ValueError, match="tile"):
        DIPConfig(tile=8)
    with pytest.raises(ValueError, match="tile_overlap"):
        DIPConfig(tile=32, tile_overlap=16)


def test_the_reconstructor_builds_its_network_for_a_tile():
    shapes = []

    def factory(shape):
        shapes.append(shape)
        from invgan.nets.dip import make_dip_net
        return make_dip_net("skip", shape, depth=2, channels=8)

    model = make_physics("denoising", (1, 40, 40), noise_sigma=0.1, seed=0)
    x_hat = DeepImagePrior(net_factory=factory, tile=24, tile_overlap=8, max_steps=10, min_steps=2)(model.measure(torch.rand(1, 1, 40, 40)), model.physics)
    assert shapes == [(1, 24, 24)] and x_hat.shape == (1, 1, 40, 40)


def test_a_network_passed_in_is_fitted_to_the_whole_image_by_default():
    """``tile=None`` would tile this 144x144 denoising image; a network built for the whole image keeps it whole."""
    from invgan.nets.dip import make_dip_net

    model = make_physics("denoising", (1, 144, 144), noise_sigma=0.1, seed=0)
    y = model.measure(torch.rand(1, 1, 144, 144))
    res = deep_image_prior(y, model.physics, net=make_dip_net("skip", (1, 144, 144), depth=2, channels=4), max_steps=2, min_steps=1,
                           progress=False)
    assert res.x_hat.shape == (1, 1, 144, 144) and res.tiles == [] and res.config.tile == 0
