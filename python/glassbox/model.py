"""glassbox.Model: a loaded model with TransformerLens' calls (to_tokens,
run_with_cache, run_with_hooks, generate) plus gradients at hook sites."""
import contextlib
import os
from pathlib import Path

import numpy as np

from . import _glassbox
from ._glassbox import GlassboxError
from .cache import ActivationCache


def models_dir():
    """Where the shipped organisms are (GLASSBOX_MODELS, set from the share/glassbox beside the module)."""
    d = os.environ.get("GLASSBOX_MODELS")
    return Path(d) if d else None


def organisms():
    """Names of the shipped models that load (``glassbox.load(name)``)."""
    return _glassbox.shipped_models()


def load(name_or_path):
    """A model from a directory (config.json + model.safetensors), a
    .safetensors file with a config.json beside it, a .gguf file, or the name
    of a shipped organism ("ioi", "tiny-lm", "induction", ...)."""
    p = _glassbox.resolve_model(os.fspath(name_or_path))
    return Model(_glassbox.Model(p))


class Config:
    """The architecture (glassbox's Config), with TransformerLens' names too:
    n_layers, d_model, n_heads, d_head, d_mlp, d_vocab, n_ctx, act_fn,
    normalization_type ("LN", "RMS" or None), positional_embedding_type."""

    def __init__(self, d):
        self._d = dict(d)
        for k, v in self._d.items():
            setattr(self, k, v)
        self.act_fn = self._d["act"]
        self.normalization_type = {"LayerNorm": "LN", "RMSNorm": "RMS"}.get(self._d["norm"])
        self.positional_embedding_type = {"learned": "standard", "rotary": "rotary"}.get(self._d["positional"], "none")
        self.n_key_value_heads = self._d["n_kv_heads"]

    def to_dict(self):
        return dict(self._d)

    def __repr__(self):
        return "Config(" + ", ".join(f"{k}={v!r}" for k, v in self._d.items()) + ")"


class _Namespace:
    def __init__(self, **kw):
        self.__dict__.update(kw)

    def __repr__(self):
        return "(" + ", ".join(self.__dict__) + ")"


class Model:
    """A loaded model. ``model.cfg`` is its architecture; ``model.W_E``,
    ``model.blocks[l].attn.W_Q`` ... are read-only numpy views of its weights
    (TransformerLens' shapes, no copies; the Model is kept alive by them)."""

    def __init__(self, handle):
        self._m = handle
        self.cfg = Config(handle.config_json())
        self._weights = None
        self._blocks = None
        self._hooks = []  # add_hook's: active in every call until reset_hooks()

    # ---- identity
    @property
    def source(self):
        return self._m.source

    @property
    def n_params(self):
        return self._m.n_params

    def __repr__(self):
        c = self.cfg
        return f"<glassbox.Model {self.source}: {c.family}, {c.n_layers} layers, d_model {c.d_model}, {self.n_params} params>"

    @property
    def hook_names(self):
        """Every hook site of this architecture, in forward order."""
        return self._m.hook_names()

    def add_hook(self, name, fn):
        """Adds a hook to every later call (TransformerLens' add_hook); it
        fires before the call's own fwd_hooks. reset_hooks() removes them all."""
        self._hooks.extend(self._fwd_hooks([(name, fn)], persistent=False))

    def reset_hooks(self):
        """Removes every hook add_hook added."""
        self._hooks = []

    @contextlib.contextmanager
    def hooks(self, fwd_hooks=()):
        """``with model.hooks(fwd_hooks=[...]):`` the hooks are active for
        every call inside the block, and removed on leaving it (also on an
        exception)."""
        before = list(self._hooks)
        self._hooks.extend(self._fwd_hooks(list(fwd_hooks), persistent=False))
        try:
            yield self
        finally:
            self._hooks = before

    def _fwd_hooks(self, fwd_hooks, persistent=True):
        # (name_or_glob, fn), or TransformerLens' (filter function, fn): one
        # entry per name it accepts; add_hook's persistent hooks first.
        out = list(self._hooks) if persistent else []
        if fwd_hooks is None:
            return out or None
        for name, fn in fwd_hooks:
            if callable(name):
                names = [n for n in self.hook_names if name(n)]
                if not names:
                    raise GlassboxError("fwd_hooks: the name filter accepted none of the model's hooks")
                out.extend((n, fn) for n in names)
            else:
                out.append((name, fn))
        return out

    # ---- tokens
    def to_tokens(self, text, prepend_bos=True):
        """Token ids [batch, pos] (int32) of a string or a list of strings of
        equal token length (pass ragged prompts straight to run_with_cache /
        the analyses instead: they are padded and masked there)."""
        texts = [text] if isinstance(text, str) else list(text)
        rows = [self._m.encode(t, prepend_bos) for t in texts]
        if len({len(r) for r in rows}) != 1:
            raise GlassboxError("to_tokens: the prompts have different token lengths "
                                f"({', '.join(str(len(r)) for r in rows)}); pass the list of strings to the call "
                                "instead, which pads and masks them")
        return np.stack(rows)

    def to_string(self, tokens):
        """Text of token ids: a string for one row, a list for [batch, pos]."""
        a = np.asarray(tokens)
        if a.ndim == 2:
            return [self._m.decode(r) for r in a]
        return self._m.decode(a.reshape(-1))

    def to_str_tokens(self, x, prepend_bos=True):
        """Each token's text: of a string (tokenized first) or of token ids."""
        ids = self._m.encode(x, prepend_bos) if isinstance(x, str) else np.asarray(x).reshape(-1)
        return [self._m.token_text(int(i)) for i in ids]

    def to_single_token(self, text):
        """The id of a text that is exactly one token (" Mary"). Error otherwise."""
        if isinstance(text, (int, np.integer)):
            return int(text)
        ids = self._m.encode(text, False)
        if len(ids) != 1:
            raise GlassboxError(f"{text!r} is {len(ids)} tokens, not one: {self.to_str_tokens(ids)}")
        return int(ids[0])

    # ---- passes
    def __call__(self, tokens, return_type="logits", interventions=None, fwd_hooks=None):
        """Logits [batch, pos, d_vocab] (a numpy view, no copy), or with
        return_type="loss" the mean next-token cross-entropy."""
        if return_type == "loss":
            return self._m.loss(tokens, interventions, self._fwd_hooks(fwd_hooks))
        logits = self._m.forward(tokens, interventions, self._fwd_hooks(fwd_hooks))
        return None if return_type is None else logits

    forward = __call__

    def run_with_cache(self, tokens, names_filter=None, positions=None, dtype="f32", raw=False,
                       interventions=None, fwd_hooks=None):
        """``logits, cache``. names_filter: None (every hook), a name or glob,
        a list of them, or a function name -> bool (TransformerLens'). dtype:
        "f32", "f16" or "bf16" storage; bf16 comes back as float32 arrays,
        or with raw=True as uint16 arrays of the raw bits (zero copy;
        glassbox.bf16_to_float32 converts them)."""
        if names_filter is None:
            names = []
        elif isinstance(names_filter, str):
            names = [names_filter]
        elif callable(names_filter):
            names = [n for n in self.hook_names if names_filter(n)]
            if not names:
                raise GlassboxError("run_with_cache: names_filter accepted none of the model's hooks")
        else:
            names = list(names_filter)
        logits, entries, toks, ref = self._m.run_with_cache(tokens, names, list(positions or []), dtype, raw,
                                                            interventions, self._fwd_hooks(fwd_hooks))
        return logits, ActivationCache(entries, toks, self, ref)

    def run_with_hooks(self, tokens, fwd_hooks=(), return_type="logits", interventions=None):
        """Runs with ``fwd_hooks=[(name_or_glob, fn)]``. ``fn(activation, hook)``
        gets a writable numpy view of the activation ([batch, pos, ...]),
        valid during the call only: change it in place, or return a
        replacement of the same shape (or None). ``hook.name`` is the hook's
        name, ``hook.layer()`` its block."""
        return self(tokens, return_type=return_type, interventions=interventions, fwd_hooks=list(fwd_hooks))

    def generate(self, input, max_new_tokens=32, temperature=1.0, top_k=0, top_p=1.0, seed=0, stop_at_eos=True,
                 interventions=None, fwd_hooks=None, profile=None, prepend_bos=False):
        """Samples a continuation (temperature 0: greedy). A string comes back
        as prompt + completion (TransformerLens' return); a list of strings as a
        list of them; token ids as an array of prompt + new ids (a list of
        arrays for several rows). ``interventions``: a dict, a list of dicts or
        a JSON string in glassbox's intervention format (add_vector,
        project_out, zero_ablate, patch, sae, ...), active for every token.

        ``profile``: a per-request profile (a dict, JSON string or file path:
        {"interventions": [...], "monitors": [...]}, as ``glassbox generate
        --profile`` reads it). It runs in an engine of its own over the shared
        weights, so requests with different profiles may run concurrently from
        several threads. The return is then ``(output, monitors)``, monitors
        being a dict: "monitors" (their names), "events" (row, token, value,
        action) and "values" (values[m][row][token]).

        ``prepend_bos``: string prompts get the tokenizer's BOS first unless
        they start with it (`glassbox generate --prepend-bos`; GPT-2's BPE adds
        none, and facts-lm was trained on rows that begin with it)."""
        stop = [self._m.eos_id] if stop_at_eos and self._m.eos_id >= 0 else []
        run = self._with_bos(input) if prepend_bos else input
        new = self._m.generate(run, max_new_tokens, temperature, top_k, top_p, seed, stop, interventions,
                               self._fwd_hooks(fwd_hooks), profile)
        if profile is not None:
            monitors = {k: v for k, v in new.items() if k != "tokens"}
            return self._generated(input, new["tokens"]), monitors
        return self._generated(input, new)

    def _with_bos(self, input):
        """String prompts as token rows that start with the BOS token."""
        texts = [input] if isinstance(input, str) else list(input)
        if not texts or not all(isinstance(t, str) for t in texts):
            raise GlassboxError("generate: prepend_bos applies to string prompts (token ids are used as given)")
        if self._m.bos_id < 0:
            raise GlassboxError("generate: prepend_bos: the model's tokenizer has no BOS token")
        return [self._m.encode_after_bos(t) for t in texts]

    def _generated(self, input, new):
        """Prompt + new tokens in the form the prompt came in."""
        if isinstance(input, str):
            return input + self._m.decode(new[0]) if len(new[0]) else input
        if isinstance(input, (list, tuple)) and input and isinstance(input[0], str):
            return [p + (self._m.decode(n) if len(n) else "") for p, n in zip(input, new)]
        a = np.asarray(input)
        if a.ndim == 1:
            return np.concatenate([a.astype(np.int32), new[0]])
        return [np.concatenate([r.astype(np.int32), n]) for r, n in zip(a, new)]

    # ---- gradients
    def metric(self, kind="logit_diff", answer=None, wrong=None, pos=-1, normalize=True):
        """A metric as the analyses read it: "logit_diff" (answer - wrong),
        "logit", "prob" or "logprob" of `answer` at `pos`. Tokens as ids or
        single-token texts; one for every row or a list with one per row."""
        def ids(x):
            if x is None:
                return []
            if isinstance(x, (str, int, np.integer)):
                return [self.to_single_token(x)]
            return [self.to_single_token(t) for t in x]
        return {"kind": kind, "answer": ids(answer), "wrong": ids(wrong), "pos": int(pos), "normalize": bool(normalize)}

    def grad(self, tokens, metric="loss", sites=("blocks.*.hook_resid_post",), answer=None, wrong=None, pos=-1,
             interventions=None, fwd_hooks=None):
        """``value, grads``: the metric and d(metric)/d(activation) at every
        hook site in `sites` (names or globs), as a dict of arrays of the
        activations' shapes. metric: "loss" (next-token cross-entropy),
        "logit_diff" / "logit" / "prob" / "logprob" with answer (and wrong),
        a metric dict (Model.metric), or an array of d(metric)/d(logits)."""
        if isinstance(metric, str) and metric != "loss":
            metric = self.metric(metric, answer, wrong, pos)
        if isinstance(sites, str):
            sites = [sites]
        value, grads = self._m.grad(tokens, metric, list(sites), interventions, self._fwd_hooks(fwd_hooks))
        return value, dict(grads)

    # ---- weights
    def state_dict(self):
        """name -> read-only numpy view of the weight (TransformerLens' names
        and shapes: blocks.{l}.attn.W_Q [n_heads, d_model, d_head], ...)."""
        if self._weights is None:
            self._weights = self._m.weights()
        return self._weights

    def _w(self, name):
        w = self.state_dict()
        if name not in w:
            raise GlassboxError(f"{self.source} has no weight {name}")
        return w[name]

    @property
    def W_E(self):
        return self._w("embed.W_E")

    @property
    def W_pos(self):
        return self._w("pos_embed.W_pos")

    @property
    def W_U(self):
        return self._w("unembed.W_U")

    @property
    def b_U(self):
        return self._w("unembed.b_U")

    @property
    def blocks(self):
        """blocks[l].attn.W_Q / W_K / W_V / W_O / b_*, blocks[l].mlp.W_in / W_out / ..., blocks[l].ln1.w ..."""
        if self._blocks is None:
            w = self.state_dict()
            blocks = []
            for l in range(self.cfg.n_layers):
                parts = {"attn": {}, "mlp": {}, "ln1": {}, "ln2": {}}
                prefix = f"blocks.{l}."
                for k, v in w.items():
                    if k.startswith(prefix):
                        part, name = k[len(prefix):].split(".", 1)
                        parts[part][name] = v
                blocks.append(_Namespace(**{p: _Namespace(**d) for p, d in parts.items()}))
            self._blocks = blocks
        return self._blocks
