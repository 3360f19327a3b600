"""Helpers shared by the sub-commands: config arguments, result tables, loading a trained reconstructor."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch
from torch import nn


def add_config_arguments(p: argparse.ArgumentParser, kinds: tuple[str, ...] = ()) -> None:
    """``--config``, ``--preset`` and ``--set``; the help ends with every option of the ``kinds``
    of job the command runs (:func:`options_epilog`)."""
    p.add_argument("--config", help="run configuration (.toml, .yaml or .json)")
    p.add_argument("--preset", help="named starting configuration (see `invgan train --list-presets`)")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="override one entry, e.g. --set train.steps=500 (repeatable)")
    if kinds:
        p.formatter_class = argparse.RawDescriptionHelpFormatter
        p.epilog = options_epilog(kinds)


def options_epilog(kinds: tuple[str, ...]) -> str:
    """Every option of each kind of job, ``section.key (default): help``, generated from the
    schemas (:data:`invgan.config.KINDS`), for the ``--help`` of the commands that take ``--set``."""
    from ..config import KINDS, iter_options

    blocks = []
    for kind in kinds:
        lines = [f"options of {'an' if kind[0] in 'aeiou' else 'a'} {kind} run (--config file, --set KEY=VALUE; default in parentheses):"]
        lines += [f"  {key} ({json.dumps(default)}): {about}" for key, default, about in iter_options(KINDS[kind]())]
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


def _flag_type(hint: Any):
    """The argparse type of a config field's annotation (``int | None`` -> int)."""
    args = [a for a in getattr(hint, "__args__", (hint,)) if a is not type(None)]
    kind = args[0]
    if kind is bool:
        return _boolean
    return kind


def _boolean(text: str) -> bool:
    """``true``/``false`` (or ``1``/``0``, ``yes``/``no``) for a boolean flag."""
    values = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
    if text.lower() not in values:
        raise argparse.ArgumentTypeError(f"expected true or false, got {text!r}")
    return values[text.lower()]


def add_section_arguments(p: argparse.ArgumentParser, schema: type, section: str, title: str, rename: dict[str, str] | None = None,
                          skip: tuple[str, ...] = ()) -> None:
    """One ``--key`` flag per field of a config section (``schema``), typed and described by the
    field itself; a flag left unset leaves the config's value (``--set``, preset or default)."""
    from dataclasses import fields
    from typing import get_type_hints

    hints = get_type_hints(schema)
    group = p.add_argument_group(title, f"flags for the [{section}] section of the config; unset ones keep its values")
    for f in fields(schema):
        if f.name in skip:
            continue
        flag = (rename or {}).get(f.name, f.name).replace("_", "-")
        group.add_argument(f"--{flag}", dest=f"{section}.{f.name}", type=_flag_type(hints[f.name]), default=None,
                           metavar=f.name.upper(), help=f"{f.metadata.get('help', '')} (config: {section}.{f.name})")


def section_overrides(args: argparse.Namespace, section: str) -> list[str]:
    """``section.key=value`` overrides for the flags of :func:`add_section_arguments` that were given."""
    return [f"{k}={json.dumps(v)}" for k, v in vars(args).items() if k.startswith(section + ".") and v is not None]


def add_physics_arguments(p: argparse.ArgumentParser) -> None:
    """The operator flags (``--physics NAME``, ``--sigma``, ``--keep``, ...), one per field of
    :class:`invgan.config.PhysicsConfig`, the one place physics parameters are declared."""
    from ..config import PhysicsConfig

    add_section_arguments(p, PhysicsConfig, "physics", "forward operator", rename={"name": "physics"}, skip=("seed",))


def results_table(metrics: dict[str, float]) -> str:
    """Baselines vs reconstruction, PSNR (dB) and SSIM."""
    rows = [
        ("back-projection A^T y", metrics.get("baseline_psnr"), metrics.get("baseline_ssim")),
        ("bicubic (on the operator's grid)", metrics.get("bicubic_psnr"), metrics.get("bicubic_ssim")),
        (f"Tikhonov, best gamma={metrics.get('classical_gamma', float('nan')):.2g}", metrics.get("classical_psnr"), metrics.get("classical_ssim")),
        ("biharmonic inpainting", metrics.get("biharmonic_psnr"), metrics.get("biharmonic_ssim")),
        (f"Wiener, best balance={metrics.get('wiener_balance', float('nan')):.2g}", metrics.get("wiener_psnr"), metrics.get("wiener_ssim")),
        ("invgan reconstructor", metrics.get("psnr"), metrics.get("ssim")),
    ]
    lines = [f"{'method':<34} {'PSNR (dB)':>10} {'SSIM':>8}", "-" * 54]
    for name, psnr, ssim in rows:
        if psnr is not None:
            lines.append(f"{name:<34} {psnr:>10.2f} {ssim:>8.4f}")
    return "\n".join(lines)


def print_metrics(metrics: dict[str, float]) -> None:
    """The baselines table for a reconstructor, one metric a line otherwise."""
    if "baseline_psnr" in metrics:
        print(results_table(metrics))
    else:
        for k, v in metrics.items():
            print(f"{k:<16} {v:.4g}")


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")


def load_reconstructor(checkpoint: str | Path, device: torch.device) -> tuple[nn.Module, Any]:
    """The trained reconstructor of a checkpoint (its EMA copy when the run kept one), or of a
    shipped model by name (:mod:`invgan.pretrained`), and the run config."""
    from ..config import ConditionalConfig, resolve
    from ..builders import build_trained_generator
    from ..loading import export_network
    from ..pretrained import load_checkpoint_or_weights

    state, where, _ = load_checkpoint_or_weights(str(checkpoint), map_location=device)
    weights, config = export_network(state, "G", ema=True, map_location=device, name=where)
    cfg = resolve(data=config)
    if not isinstance(cfg, ConditionalConfig):
        raise ValueError(f"{where} is a checkpoint of a generator run, not of a reconstructor")
    model = build_trained_generator(cfg).to(device)
    model.load_state_dict(weights)
    return model.eval(), cfg


def check_named(value: str | None, flag: str, default: str | None = None,
                expected: str = "a checkpoint file or the name of a shipped model (`invgan weights` lists them)") -> str | None:
    """Refuse an empty or blank checkpoint argument (an unset shell variable, ``--generator "$G"``)
    rather than let it fall back to a default or to the current folder; ``None`` (not given) passes.

    >>> check_named(None, "--generator") is None
    True
    """
    if value is not None and not value.strip():
        hint = f", or leave {flag} out for the default {default!r}" if default else ""
        raise ValueError(f"{flag} is empty (an unset shell variable?): give {expected}{hint}")
    return value


def check_writable_folder(path: str | Path, what: str = "output folder") -> Path:
    """Fail now, before any work, when ``path`` cannot be a folder we write to: it is an existing
    file, an ancestor is a file, or the nearest existing ancestor is not writable."""
    import os

    p = Path(path)
    if p.exists() and not p.is_dir():
        raise NotADirectoryError(f"{what} {p} is an existing file, not a folder")
    probe = p
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise NotADirectoryError(f"cannot create {what} {p}: {probe} is a file")
    if probe.exists() and not os.access(probe, os.W_OK | os.X_OK):
        raise PermissionError(f"cannot write {what} {p}: {probe} is not writable")
    return p


def check_image_output(path: str | Path) -> Path:
    """Fail now, before any work, when ``path`` cannot be written as an image: a folder, an
    unknown extension, or a folder that cannot be made or written."""
    from ..data.images import IMAGE_SUFFIXES

    p = Path(path)
    if p.is_dir():
        raise IsADirectoryError(f"--out {p} is a folder: expected an image file name such as {p / 'result.png'}")
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise ValueError(f"--out {p}: unknown image extension {p.suffix!r}, expected one of {', '.join(IMAGE_SUFFIXES)}")
    check_writable_folder(p.parent if str(p.parent) else ".", "folder of --out")
    return p


def unique_names(paths: list[str]) -> list[str]:
    """One output name per input file: its stem, with ``_2``, ``_3``, ... added to the second and
    later files of a stem already taken (``a/x.png b/x.png`` -> ``x``, ``x_2``), so no output
    overwrites another."""
    names: list[str] = []
    taken: set[str] = set()
    for path in paths:
        stem, k, name = Path(path).stem, 1, Path(path).stem
        while name in taken:
            k += 1
            name = f"{stem}_{k}"
        taken.add(name)
        names.append(name)
    return names
