"""The CLI's analyses as functions: each takes a glassbox.Model and returns
what the matching command prints with --json, as dicts and lists, with grids
and per-head / per-neuron tables as numpy arrays. Prompts may be text (the
model's tokenizer adds its special tokens) or token ids; answer tokens ids or
single-token texts (" Mary")."""
import numpy as np

from . import _glassbox
from ._glassbox import GlassboxError

PATCH_SITES = ("resid_pre", "attn_out", "mlp_out", "z")


def _ids(model, x):
    if x is None:
        return []
    if isinstance(x, (str, int, np.integer)):
        return [model.to_single_token(x)]
    return [model.to_single_token(t) for t in x]


def _metric(model, metric, answer, wrong, pos, normalize):
    if isinstance(metric, dict):
        return metric
    if answer is None:
        raise GlassboxError(f"metric {metric}: give answer= (and wrong= for logit_diff)")
    return model.metric(metric, answer, wrong, pos, normalize)


def _lens_arrays(r):
    # The cells' numbers as [layers, positions] arrays, for plotting.
    cells = r["cells"]
    r["top_token"] = np.array([[c["top_tokens"][0] for c in row] for row in cells], dtype=np.int32)
    r["top_prob"] = np.array([[c["top_probs"][0] for c in row] for row in cells], dtype=np.float32)
    r["kl_to_final"] = np.array([[c["kl_to_final"] for c in row] for row in cells], dtype=np.float32)
    return r


def logit_lens(model, tokens, top_k=5, positions=None, targets=None, row=0):
    """The logit lens (`glassbox lens --json`): "layers", "positions" and
    "cells" [layer][position] with the top-k tokens and probabilities, the
    target's rank and probability and the KL to the final distribution; plus
    "top_token", "top_prob" and "kl_to_final" as [layers, positions] arrays."""
    return _lens_arrays(_glassbox.logit_lens(model._m, tokens, top_k, row, list(positions or []),
                                             _ids(model, targets)))


def tuned_lens(model, lens, tokens, top_k=5, positions=None, targets=None, row=0):
    """The tuned lens (`glassbox lens --tuned DIR`): as logit_lens, each
    layer's residual decoded through the translator in directory `lens`."""
    return _lens_arrays(_glassbox.tuned_lens(model._m, str(lens), tokens, top_k, row, list(positions or []),
                                             _ids(model, targets)))


def train_tuned_lens(model, out, tokens=None, sample=0, steps=250, seed=0):
    """Trains a tuned lens (`glassbox tuned-lens train`) on token ids (or
    text) or on `sample` tokens the model writes itself; saves it to `out`;
    returns the losses and the held-out comparison with the logit lens."""
    ids = [] if tokens is None else (model._m.encode(tokens, True) if isinstance(tokens, str)
                                     else np.asarray(tokens).reshape(-1).tolist())
    return _glassbox.train_tuned_lens(model._m, str(out), ids, sample, steps, seed)


def dla(model, tokens, answer, wrong=None, pos=-1, heads=True, neurons=True):
    """Direct logit attribution (`glassbox dla`): by_layer {component: value}
    summing (with "bias") to `logit`, by_head [n_layers, n_heads], by_neuron
    [n_layers, d_mlp] (numpy)."""
    return _glassbox.dla(model._m, tokens, _ids(model, answer), _ids(model, wrong), pos, heads, neurons)


def activation_patching(model, clean, corrupt, answer=None, wrong=None, metric="logit_diff",
                        sites=PATCH_SITES, direction="denoise", pos=-1, normalize=True, method="activation"):
    """Activation patching (`glassbox patch`): {"metric", "grids": [{"hook",
    "axis", "values" [n_layers, n_cols], "clean", "corrupt", ...}]}.
    method: "activation", "attribution" or "both" (adds "correlation")."""
    if method not in ("activation", "attribution", "both"):
        raise GlassboxError(f"method: expected activation, attribution or both, got {method!r}")
    m = _metric(model, metric, answer, wrong, pos, normalize)
    return _glassbox.patching(model._m, clean, corrupt, m, list(sites), direction,
                              method != "attribution", method != "activation")


def attribution_patching(model, clean, corrupt, answer=None, wrong=None, **kw):
    """Attribution patching: activation_patching's estimate from one forward + backward."""
    return activation_patching(model, clean, corrupt, answer, wrong, method="attribution", **kw)


def _receivers(rs):
    out = []
    for r in rs:
        if r == "logits":
            out.append((-1, 0, "q"))
        elif isinstance(r, str):
            parts = r.split(".")
            if len(parts) != 3 or parts[2] not in ("q", "k", "v"):
                raise GlassboxError(f"receivers: {r!r} is not 'logits' or 'LAYER.HEAD.q|k|v' (e.g. '2.1.k')")
            out.append((int(parts[0]), int(parts[1]), parts[2]))
        else:
            layer, head, inp = r
            out.append((int(layer), int(head), str(inp)))
    return out


def path_patching(model, clean, corrupt, answer=None, wrong=None, receivers=("logits",), senders=None,
                  metric="logit_diff", direction="noise", pos=-1, normalize=True, freeze_mlps=False):
    """Path patching (`glassbox patch --method path`): every sender head ->
    `receivers` ("logits" and / or "LAYER.HEAD.q|k|v"), a grid dict with
    values [n_layers, n_heads]. With senders=[(layer, head), ...]: the
    metric of that one path patch (a float)."""
    m = _metric(model, metric, answer, wrong, pos, normalize)
    rs = _receivers(receivers)
    if senders is not None:
        return _glassbox.path_patch(model._m, clean, corrupt, m, [tuple(s) for s in senders], rs, direction,
                                    freeze_mlps)
    return _glassbox.path_patching(model._m, clean, corrupt, m, rs, direction, freeze_mlps)


def circuit(model, clean, corrupt=None, answer=None, wrong=None, metric="logit_diff", method="eap-ig",
            ablation="resample", criterion="kl", threshold=0.01, ig_steps=5, keep_top=0, target_faithfulness=0.9,
            curve_points=16, pos=-1, normalize=True):
    """Circuit discovery (`glassbox circuit`): ACDC, EAP or EAP-IG over the
    head graph; nodes, scored edges (kept or not) and the faithfulness curve.
    `corrupt` holds the ablation values (resample: the corrupted prompts; mean:
    a reference batch; zero: unused)."""
    m = _metric(model, metric, answer, wrong, pos, normalize)
    return _glassbox.circuit(model._m, clean, corrupt, m, method, ablation, criterion, threshold, ig_steps, keep_top,
                             target_faithfulness, curve_points)


def head_detectors(model, tokens=None, patterns=("previous_token", "duplicate_token", "induction"), seq_len=0,
                   rows=4, seed=0, exclude_bos=False, exclude_current_token=False, matched_rows_only=True):
    """Head detector scores (`glassbox heads`): {pattern: [n_layers, n_heads]}
    on `tokens`, or on repeated random tokens ([bos] r r, r of seq_len
    tokens, `rows` rows) when tokens is None."""
    return _glassbox.head_detectors(model._m, tokens, list(patterns), seq_len, rows, seed, exclude_bos,
                                    exclude_current_token, matched_rows_only)


def head_roles(models, names=None, seq_len=20, rows=8, seed=1, copying=True):
    """`glassbox compare`'s head roles: previous-token, duplicate-token,
    induction (and OV copying) scores of several models side by side, with
    each model's best head per role."""
    names = list(names) if names is not None else [m.source for m in models]
    return _glassbox.head_roles([m._m for m in models], names, seq_len, rows, seed, copying)


def copying_scores(model, tokens=None):
    """The OV circuit's copying score (positivity of its eigenvalues) of every head: [n_layers, n_heads]."""
    return _glassbox.copying_scores(model._m, _ids(model, tokens) if tokens is not None else [])


def ov_circuit(model, layer, head, tokens=None):
    """``matrix, tokens``: the head's OV circuit over `tokens` (default: the
    whole vocabulary), matrix[s, t] = source token s -> logit of t."""
    return _glassbox.ov_circuit(model._m, layer, head, _ids(model, tokens) if tokens is not None else [])


def qk_circuit(model, layer, head, tokens=None):
    """``matrix, tokens``: the head's QK circuit, matrix[q, k] = query token q attending to key token k."""
    return _glassbox.qk_circuit(model._m, layer, head, _ids(model, tokens) if tokens is not None else [])
