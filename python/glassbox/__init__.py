"""glassbox from Python: the engine's models, hooks, caches and analyses,
shaped like TransformerLens.

    import glassbox
    model = glassbox.load("ioi")                  # a shipped organism, a model dir, .safetensors or .gguf
    logits, cache = model.run_with_cache("When Mary and John went to the store, John gave a drink to")
    cache["blocks.0.hook_resid_post"]             # a numpy view of the engine's tensor: no copy

Activations and weights are numpy arrays that view glassbox's memory; each
array's ``base`` is a :class:`glassbox.Owner` that keeps that memory alive.
Errors are :class:`glassbox.GlassboxError` carrying glassbox's message.
"""
import os as _os
from pathlib import Path as _Path

import numpy as _np


def _find_resources():
    # The compiled module does not run from an executable that has
    # share/glassbox beside it (glassbox/resources.h), so point the library's
    # environment variables at the share/glassbox above this package: the
    # build tree's (<build>/python/glassbox -> <build>/share/glassbox) or an
    # installed prefix's. A variable the user has set decides alone.
    here = _Path(__file__).parent  # not resolved: in a build tree the .py files are links
    for d in [here, *here.parents]:
        share = d / "share" / "glassbox"
        if share.is_dir():
            for env, sub in (("GLASSBOX_MODELS", "models"), ("GLASSBOX_ZOO_DATA", "zoo-src"),
                             ("GLASSBOX_LABEL_DATA", "labels"), ("GLASSBOX_WEB_ASSETS", "web")):
                if env not in _os.environ and (share / sub).is_dir():
                    _os.environ[env] = str(share / sub)
            return


_find_resources()

from ._glassbox import SAE, Editor, GlassboxError, Harvest, HookPoint, LinearProbe, Owner  # noqa: E402
from .cache import ActivationCache, act_name  # noqa: E402
from .model import Config, Model, load, models_dir, organisms  # noqa: E402
from .analysis import (activation_patching, attribution_patching, circuit, copying_scores, dla,  # noqa: E402
                       head_detectors, head_roles, logit_lens, ov_circuit, path_patching, qk_circuit, train_tuned_lens,
                       tuned_lens)
from .features import (control_vector_interventions, fit_probe, load_steering, steering_from_pairs,  # noqa: E402
                       steering_interventions, write_control_vector)
from .sae import evaluate_sae, sae_info, train_sae  # noqa: E402
from .harvest import harvest, load_harvest  # noqa: E402
from .knowledge import causal_trace, edit, edit_eval, known, model_diff  # noqa: E402
from .compare import compare_circuits, convert, probe_sweep  # noqa: E402
from .acting import (ablation_interventions, explain, feature_dashboards, monitor_run, orthogonalize,  # noqa: E402
                     planted_monitor, steering_sweep, suppress, zoo_eval, zoo_info, zoo_list)

Sae = SAE  # the name before SAE.load / train_sae existed


def bf16_to_float32(raw):
    """Raw bfloat16 bits (a uint16 array, as ``run_with_cache(dtype="bf16",
    raw=True)`` returns them) as float32 values. Exact: a bfloat16 is the
    upper half of a float32."""
    raw = _np.asarray(raw)
    if raw.dtype != _np.uint16:
        raise GlassboxError(f"bf16_to_float32: expected a uint16 array of raw bfloat16 bits, got {raw.dtype}")
    return (raw.astype(_np.uint32) << 16).view(_np.float32)


__all__ = [
    "ActivationCache", "Config", "GlassboxError", "Harvest", "HookPoint", "LinearProbe", "Model", "Owner", "SAE", "Sae",
    "evaluate_sae", "harvest", "load_harvest", "sae_info", "train_sae", "Editor", "causal_trace", "edit", "edit_eval",
    "known", "model_diff", "ablation_interventions", "explain", "feature_dashboards", "monitor_run", "orthogonalize",
    "planted_monitor", "suppress", "zoo_eval", "zoo_info", "zoo_list", "compare_circuits", "convert", "probe_sweep",
    "steering_sweep",
    "act_name", "activation_patching", "attribution_patching", "bf16_to_float32", "circuit",
    "control_vector_interventions", "copying_scores", "dla", "fit_probe", "head_detectors", "head_roles", "load",
    "load_steering", "logit_lens", "models_dir", "organisms", "ov_circuit", "path_patching", "qk_circuit",
    "steering_from_pairs", "steering_interventions", "train_tuned_lens", "tuned_lens", "write_control_vector",
]
