"""Facts: where a model recalls them (causal tracing), whether it knows a
subject (known vs unseen), rewriting them (ROME, MEMIT, FT, FT-L) and what
fine-tuning changed (model diffing). Each function returns the matching
command's --json document as a dict, grids as numpy arrays."""
import os

import numpy as np

from . import _glassbox
from ._glassbox import Editor, GlassboxError


def _grid(rows):
    return np.array([[np.nan if v is None else v for v in row] for row in rows], dtype=np.float64)


def causal_trace(model, prompt=None, subject=None, answer="", facts=None, sites=("resid", "mlp", "attn"), window=1,
                 samples=10, noise=3.0, noise_std=0.0, seed=1, html=""):
    """Causal tracing (`glassbox trace --json`, Meng et al. 2022): noise the
    subject's embeddings, restore one state (resid / mlp / attn at one layer
    and position, ``window`` layers at once for mlp / attn), measure
    p(answer). One prompt with its subject (answer: one token's text; default
    the clean top prediction), or ``facts=[{"prompt", "subject"[, "answer"]}]``.
    Each prompt's "effect" {site: [n_layers, positions]} is a numpy array;
    "averages" {site: {role: {"prompts", "effect"}}} averages over prompts by
    token role. ``html``: also write the page with the heatmaps."""
    if facts is None:
        if prompt is None or subject is None:
            raise GlassboxError("causal_trace: give a prompt and subject=, or facts=[{prompt, subject, answer}]")
        facts = [{"prompt": prompt, "subject": subject, "answer": answer}]
    elif prompt is not None:
        raise GlassboxError("causal_trace: give a prompt or facts=, not both")
    r = _glassbox.causal_trace(model._m, list(facts), list(sites), window, samples, noise, noise_std, seed,
                               os.fspath(html))
    for p in r["prompts"]:
        p["effect"] = {site: _grid(g) for site, g in p["effect"].items()}
    for site, roles in r["averages"].items():
        for v in roles.values():
            v["effect"] = np.array([np.nan if x is None else x for x in v["effect"]], dtype=np.float64)
    return r


def known(model, labels="facts-known", test_fraction=0.25, l2=1e-2, seed=0, save_probe="", sae="", probe_position=""):
    """Known vs unseen subjects (`glassbox known --json`): probes per layer at
    the subject and at the final token, answer entropy, top probability and
    the lens's settling layer, each scored by held-out AUROC. Adds "probe"
    (what --save-probe writes, for a monitor) and "best_probe" (a
    glassbox.LinearProbe). ``model``: the facts organism (or a model with its
    vocabulary); ``labels``: "facts-known" or a JSONL file (label known /
    unknown, positions subject and end); ``sae``: a SAELens directory whose
    latents are scored too (`--sae`); ``probe_position``: "subject" or "end"
    restricts the saved probe (`--probe-position`; a generation monitor
    wants "end")."""
    return _glassbox.known(model._m, os.fspath(labels), test_fraction, l2, seed, os.fspath(save_probe),
                           os.fspath(sae), probe_position)


def _model_path(m):
    from .harvest import _model_path as p
    return p(m)


def edit(model, prompt, subject, new, old="", method="rome", layers=None, out="", save_edit="", cov_tokens=20000,
         **options):
    """Writes one fact into a copy of a model and saves it (`glassbox edit
    apply --json`): ``prompt`` holds the subject ("Mina Selia lives in"),
    ``new`` the new object (one token, " Athens"), ``old`` the current one.
    method "rome", "memit", "ft" or "ft-l"; options as the CLI's flags
    (v_steps, v_lr, kl_factor, prefixes, mom2_weight, memit_keys ("bare" or
    "mean"), memit_preserve, memit_rounds, memit_retry_below, ft_steps, ft_lr, ft_linf, seed). ``out``: save the edited model (a directory, or a .gguf);
    ``save_edit``: the change itself. Returns {"edit", "before", "after",
    "changes"} (p_new, p_old, top before and after). For several edits or to
    look at the edited model, use glassbox.Editor(path) directly."""
    ed = Editor(_model_path(model))
    r = ed.apply(prompt, subject, new, old, method, list(layers or []), cov_tokens, options)
    if save_edit:
        ed.save_edit(os.fspath(save_edit))
        r["edit_file"] = os.fspath(save_edit)
    if out:
        ed.save(os.fspath(out))
        r["out"] = os.fspath(out)
    return r


def edit_eval(model, methods=("rome", "memit", "ft", "ft-l"), batches=(1, 10, 100), edits=100, neighbours=10,
              layers=None, memit_layers=None, cov_tokens=20000, text_organism="", data_seed=0, per_request=False,
              html="", **options):
    """Every method on counterfactual edits of a facts organism, in batches
    (`glassbox edit eval --json`): efficacy, paraphrase, neighbourhood,
    fluency per method and batch size."""
    return _glassbox.edit_eval(_model_path(model), list(methods), list(batches), edits, neighbours,
                               list(layers or []), list(memit_layers or []), cov_tokens, text_organism, data_seed,
                               per_request, os.fspath(html), options)


def model_diff(base, tuned, prompts=None, response_by="tuned", max_new_tokens=16, start=0,
               sites=("attn_out", "mlp_out"), patching=True, top_k=8, chat=16, html=""):
    """What fine-tuning changed (`glassbox diff --json`): base and tuned
    (glassbox.Model, same shape and vocabulary) on the same prompts, each
    followed by a response (the ``response_by`` model's greedy continuation,
    or given: prompts as {"prompt", "response"} dicts). Default prompts:
    held-out tiny-lm-chat chats. KL by response position, each component's
    share (patched both ways), weight-difference norms and the lens of the
    difference (with token "text")."""
    if response_by not in ("tuned", "base"):
        raise GlassboxError(f"model_diff: response_by must be 'tuned' or 'base', got {response_by!r}")
    asked = []
    for p in prompts or []:
        if isinstance(p, str):
            asked.append((tuned._m.encode(p, True), None))
        elif isinstance(p, dict) and "prompt" in p:
            resp = p.get("response")
            asked.append((tuned._m.encode(p["prompt"], True),
                          None if resp is None else tuned._m.encode(resp, False)))
        else:
            raise GlassboxError("model_diff: each prompt is text or {\"prompt\": ..., \"response\": ...}")
    r = _glassbox.model_diff(base._m, tuned._m, asked, response_by == "base", max_new_tokens, start, list(sites),
                             patching, top_k, chat, os.fspath(html))
    for group in ("start", "rest"):
        for layer in r["lens"][group]:
            for side in ("promoted", "suppressed"):
                for t in layer[side]:
                    t["text"] = tuned._m.token_text(t["token"])
    r["kl"]["by_position"] = np.asarray(r["kl"]["by_position"], dtype=np.float64)
    return r
