"""ActivationCache: hook name -> numpy view, as TransformerLens' cache reads."""
from collections.abc import Mapping

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
    or TransformerLens-style by ``(name, layer)``: ``cache["resid_post", 0]``."""

    def __init__(self, entries, tokens, model=None):
        self._acts = dict(entries)
        self.tokens = tokens
        self.model = model

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

    def __repr__(self):
        return f"ActivationCache({len(self._acts)} hooks: {', '.join(list(self._acts)[:4])}{' ...' if len(self._acts) > 4 else ''})"
