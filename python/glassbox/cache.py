"""ActivationCache: hook name -> numpy view, as TransformerLens' cache reads."""
from collections.abc import Mapping

import numpy as np

from . import _glassbox

# TransformerLens' get_act_name aliases -> glassbox site names.
_ALIASES = {"attn": "pattern", "attn_logits": "attn_scores", "key": "k", "query": "q", "value": "v",
            "pre": "mlp_pre", "post": "mlp_post", "pre_linear": "mlp_pre_linear"}


def act_name(name, layer=None, layer_type=None):
    """The full hook name, as TransformerLens' ``utils.get_act_name``:
    ``act_name("resid_post", 3)`` -> ``"blocks.3.hook_resid_post"``,
    ``act_name("pattern", 1)`` -> ``"blocks.1.attn.hook_pattern"``,
    ``act_name("scale", 0, "ln1")`` -> ``"blocks.0.ln1.hook_scale"``."""
    site = _ALIASES.get(name, name)
    if site in ("scale", "normalized"):
        prefix = layer_type or ("ln_final" if layer is None else "ln1")
        site = f"{prefix}_{site}"
    return _glassbox.act_name(site, -1 if layer is None else int(layer))


class ActivationCache(Mapping):
    """The activations of one pass by hook name. Values are numpy arrays that
    view the engine's tensors (no copies); ``cache[name].base`` is the
    :class:`glassbox.Owner` keeping the tensor alive. Index by full name,
    or TransformerLens-style by ``(name, layer)``: ``cache["resid_post", 0]``.
    A cache can be the "source" of a patch intervention as it is:
    ``{"type": "patch", "hook": "blocks.1.attn.hook_z", "heads": [0], "source": clean_cache}``."""

    def __init__(self, entries, tokens, model=None, ref=None):
        self._acts = dict(entries)
        self.tokens = tokens
        self.model = model
        self._ref = ref  # the C++ cache: save(), and the "source" of patch / mean_ablate interventions

    def save(self, path):
        """Writes glassbox's cache file (safetensors, tensors named by hook,
        plus "logits" and "tokens"), what `glassbox cache` writes and a
        patch intervention's "source" reads. Atomic."""
        self._ref.save(str(path))

    def _key(self, key):
        if isinstance(key, tuple):
            return act_name(*key)
        return key

    def __getitem__(self, key):
        name = self._key(key)
        try:
            return self._acts[name]
        except KeyError:
            near = [k for k in self._acts if name.split(".")[-1] in k][:5]
            raise KeyError(f"{name!r} is not in the cache ({len(self._acts)} hooks cached"
                           + (f"; e.g. {', '.join(near)}" if near else "") + "); pass names_filter to cache it") from None

    def __contains__(self, key):
        return self._key(key) in self._acts

    def __iter__(self):
        return iter(self._acts)

    def __len__(self):
        return len(self._acts)

    def _n_layers(self):
        if self.model is None:
            raise KeyError("this cache has no model to read the number of layers from")
        return self.model.cfg.n_layers

    def accumulated_resid(self, layer=None, return_labels=False):
        """The residual stream entering each layer up to `layer` (default:
        all, plus the final stream), stacked: [n, batch, pos, d_model]. A new
        array (stacking copies). Needs hook_resid_pre cached (and the last
        hook_resid_post for the final stream)."""
        L = self._n_layers()
        layer = L if layer is None else layer
        names = [f"blocks.{l}.hook_resid_pre" for l in range(min(layer, L))]
        labels = [f"{l}_pre" for l in range(min(layer, L))]
        if layer >= L:
            names.append(f"blocks.{L - 1}.hook_resid_post")
            labels.append("final_post")
        stacked = np.stack([self[n] for n in names])
        return (stacked, labels) if return_labels else stacked

    def decompose_resid(self, layer=None, return_labels=False):
        """The components that sum to the residual stream entering `layer`
        (default: the final stream): embeddings, then each layer's attention
        and MLP outputs, stacked [n, batch, pos, d_model] (a new array)."""
        L = self._n_layers()
        layer = L if layer is None else layer
        names = [n for n in ("hook_embed", "hook_pos_embed") if n in self._acts]
        for l in range(min(layer, L)):
            names.append(f"blocks.{l}.hook_attn_out")
            if f"blocks.{l}.hook_mlp_out" in self._acts or not self.model.cfg.attn_only:
                names.append(f"blocks.{l}.hook_mlp_out")
        stacked = np.stack([self[n] for n in names])
        return (stacked, names) if return_labels else stacked

    def __repr__(self):
        return f"ActivationCache({len(self._acts)} hooks: {', '.join(list(self._acts)[:4])}{' ...' if len(self._acts) > 4 else ''})"
