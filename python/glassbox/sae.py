"""Sparse dictionaries, SAELens-shaped: ``glassbox.SAE.load(dir)`` (SAEs,
transcoders, crosscoders in SAELens' cfg.json + sae_weights.safetensors
layout), ``sae.encode(acts)`` / ``sae.decode(f)`` / ``sae(acts)``, weights as
numpy views; ``train_sae`` and ``evaluate_sae`` as `glassbox sae train` /
`sae eval` run them, on activations from numpy arrays, a safetensors file, a
harvest directory or a model run over a corpus."""
import os

import numpy as np

from . import _glassbox
from ._glassbox import SAE, GlassboxError

SAE.__call__ = SAE.forward


def _source(activations, model, corpus):
    """(arrays, file, harvest, model handle, corpus) from the ways activations arrive."""
    arrays, file, harvest = None, "", ""
    if activations is None:
        if model is None:
            raise GlassboxError("activations: give activations= (arrays, a file, a harvest) or model= with corpus=")
    elif isinstance(activations, dict):
        arrays = {str(k): np.ascontiguousarray(v, dtype=np.float32) for k, v in activations.items()}
    elif isinstance(activations, _glassbox.Harvest):
        harvest = activations.dir
    elif isinstance(activations, (str, os.PathLike)):
        p = os.fspath(activations)
        if os.path.isdir(p):
            harvest = p
        else:
            file = p
    else:
        raise GlassboxError("activations: expected a dict {site: [rows, d] array}, an activation file (.safetensors), "
                            f"a harvest directory or glassbox.Harvest, got {type(activations).__name__}")
    if activations is not None and model is not None:
        raise GlassboxError("activations: give activations= or model= with corpus=, not both")
    if corpus is not None and not isinstance(corpus, (str, os.PathLike)):
        corpus = np.asarray(corpus).reshape(-1).astype(np.int64).tolist()
    elif corpus is not None:
        corpus = os.fspath(corpus)
    return arrays, file, harvest, (model._m if model is not None else None), corpus


def train_sae(activations=None, hook=None, *, model=None, corpus=None, context=128, max_tokens=0, exclude_bos=False,
              target="", sources=(), arch="topk", k=32, expansion=16, d_sae=0, tokens=2_000_000, batch=4096, lr=4e-4,
              warmup_steps=0, decay="constant", min_lr_ratio=0.0, l1=5.0, l0=1e-3, bandwidth=1e-3,
              threshold_init=1e-3, aux_k=0, dead_after=10_000_000, b_dec_init="geometric_median", normalize=False,
              seed=0, out="", shuffle_rows=65536, checkpoint_every=0, stop_at=0, resume=True):
    """Trains sparse dictionaries (`glassbox sae train`): one per hook (a str
    or a list; default: the activations' only site); ``target=`` makes a
    transcoder (reads hook, predicts target); ``sources=[a, b]`` a crosscoder.
    activations: {site: [rows, d] array}, an activation .safetensors file, a
    harvest directory / glassbox.Harvest; or model=glassbox.Model with
    corpus= (a text or token file, or token ids). ``tokens`` training tokens
    in steps of ``batch``. Writes SAELens directories into ``out`` when given
    (OUT, or OUT/<hook> for several). Returns `sae train --json`'s dict with
    each dictionary's "log" added and "saes": the trained glassbox.SAE objects."""
    arrays, file, harvest, m, corpus = _source(activations, model, corpus)
    hooks = [] if hook is None else ([hook] if isinstance(hook, str) else list(hook))
    return _glassbox.train_sae(arrays, file, harvest, m, corpus, context, max_tokens, exclude_bos, hooks, target,
                               list(sources), arch, k, expansion, d_sae, int(tokens), batch, lr, warmup_steps, decay,
                               min_lr_ratio, l1, l0, bandwidth, threshold_init, aux_k, int(dead_after), b_dec_init,
                               normalize, seed, os.fspath(out), shuffle_rows, checkpoint_every, stop_at, resume)


def evaluate_sae(sae, activations=None, *, model=None, corpus=None, context=128, max_tokens=0, rows=0,
                 frequency=False, splice=True):
    """Stream metrics of a dictionary (`glassbox sae eval --json`): rows, l0,
    mse, explained_variance, fvu, dead_fraction, dense_fraction,
    density_histogram (and "frequency" per latent with frequency=True). With
    model= and corpus= (an autoencoder saved on disk) also "splice": the CE
    loss recovered and KL with the reconstruction spliced into the model."""
    if isinstance(sae, (str, os.PathLike)):
        sae = SAE.load(os.fspath(sae))
    arrays, file, harvest, m, corpus = _source(activations, model, corpus)
    return _glassbox.evaluate_sae(sae, arrays, file, harvest, m, corpus, context, max_tokens, rows, frequency, splice)


def sae_info(sae):
    """A dictionary's configuration and decoder statistics (`glassbox sae info --json`)."""
    if isinstance(sae, (str, os.PathLike)):
        sae = SAE.load(os.fspath(sae))
    return _glassbox.sae_info(sae)
