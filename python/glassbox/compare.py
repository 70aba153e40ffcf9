"""Sweeps and comparisons: linear probes at every layer and site (`glassbox
probe`), circuits of several models on one prompt pair and how much they
overlap (`glassbox compare`), and a model written as a llama.cpp GGUF file
(`glassbox convert`)."""
import os

from . import _glassbox
from ._glassbox import GlassboxError


def probe_sweep(model, task, sites=("resid_post",), position="last", kind="logistic", l2=1e-2, covariance=False,
                limit=0, test_fraction=0.25, seed=0, control=True, with_probes=False, label_data="", html=""):
    """Linear probes by layer and site (`glassbox probe --json`): held-out
    accuracy, AUROC, the control task and selectivity for each cell. task: a
    label set ("ioi-io", "ioi-order", "facts-relation", "sentiment", "spam")
    or a JSONL file; kind "logistic", "ridge" or "mass-mean". Adds "probes":
    each cell's fitted glassbox.LinearProbe, in the order of "cells"."""
    return _glassbox.probe_sweep(model._m, os.fspath(task), list(sites), position, kind, l2, covariance, limit,
                                 test_fraction, seed, control, with_probes, os.fspath(label_data), os.fspath(html))


def compare_circuits(models, clean, corrupt, answer, wrong, names=None, method="eap-ig"):
    """Circuit overlap of several models on one prompt pair (`glassbox
    compare --json`'s "circuits"): each model's circuit (method eap-ig, eap or
    acdc; the metric is the answer - wrong logit difference), the Jaccard
    and coverage of their kept edges and nodes, and the edges every circuit
    keeps. Text prompts go through each model's own tokenizer."""
    if len(models) < 2:
        raise GlassboxError("compare_circuits: give at least two models")
    names = list(names) if names is not None else [os.path.basename(os.path.normpath(m.source)) for m in models]
    pairs = []
    for m in models:
        c = m.to_tokens(clean)[0] if isinstance(clean, str) else clean
        x = m.to_tokens(corrupt)[0] if isinstance(corrupt, str) else corrupt
        pairs.append(([int(t) for t in c], [int(t) for t in x], m.to_single_token(answer), m.to_single_token(wrong)))
    return _glassbox.compare_circuits([m._m for m in models], names, pairs, method)


def convert(model, out, dtype="f32", name=""):
    """Writes the model as a llama.cpp GGUF file (`glassbox convert --json`):
    architecture gpt2 or llama, matrices in f32 or f16, its tokenizer
    embedded. Returns {model, out, architecture, dtype, bytes, tokenizer}."""
    out = os.fspath(out)
    arch = _glassbox.save_gguf(model._m, out, dtype, name)
    try:
        model._m.encode("a", False)
        has_tokenizer = True
    except GlassboxError:
        has_tokenizer = False
    return {"model": model.source, "out": out, "architecture": arch, "dtype": dtype,
            "bytes": os.path.getsize(out), "tokenizer": has_tokenizer}
