"""Loading, tokens, run_with_cache, run_with_hooks, generate, gradients."""
import json
import os

import numpy as np
import pytest

import glassbox
from conftest import IOI_CLEAN, IOI_CORRUPT


def test_load_by_name_path_and_config(ioi):
    with open(os.path.join(glassbox.models_dir(), "ioi", "config.json")) as f:
        hf = json.load(f)
    assert ioi.cfg.n_layers == hf["n_layer"] and ioi.cfg.d_model == hf["n_embd"]
    assert ioi.cfg.n_heads == hf["n_head"] and ioi.cfg.d_vocab == hf["vocab_size"]
    assert ioi.cfg.normalization_type == "LN" and ioi.cfg.positional_embedding_type == "standard"
    same = glassbox.load(os.path.join(glassbox.models_dir(), "ioi"))
    assert same.cfg.to_dict() == ioi.cfg.to_dict()
    assert "ioi" in glassbox.organisms()


def test_load_errors_name_the_path():
    with pytest.raises(glassbox.GlassboxError, match="no-such-model"):
        glassbox.load("no-such-model")
    assert issubclass(glassbox.GlassboxError, RuntimeError)


def test_tokens_round_trip(ioi):
    toks = ioi.to_tokens(IOI_CLEAN)
    assert toks.ndim == 2 and toks.shape[0] == 1 and toks.dtype == np.int32
    assert IOI_CLEAN in ioi.to_string(toks[0])
    assert ioi.to_string(toks) == [ioi.to_string(toks[0])]
    strs = ioi.to_str_tokens(IOI_CLEAN)
    assert len(strs) == toks.shape[1] and strs[-1] == " to"
    assert ioi.to_single_token(" Mary") == toks[0][strs.index(" Mary")]
    with pytest.raises(glassbox.GlassboxError, match="not one"):
        ioi.to_single_token(" Mary John")


def test_bad_tokens_are_errors(ioi):
    with pytest.raises(glassbox.GlassboxError, match="outside the model's vocabulary"):
        ioi([1, 2, 10 ** 6])
    with pytest.raises(glassbox.GlassboxError, match="no tokens"):
        ioi(np.zeros(0, dtype=np.int32))
    with pytest.raises(glassbox.GlassboxError, match="hook_resid_postt"):
        ioi.run_with_cache(IOI_CLEAN, names_filter="blocks.0.hook_resid_postt")


def test_run_with_cache_matches_forward(ioi):
    logits = ioi(IOI_CLEAN)
    logits2, cache = ioi.run_with_cache(IOI_CLEAN)
    np.testing.assert_array_equal(logits, logits2)
    assert logits.shape == (1, ioi.to_tokens(IOI_CLEAN).shape[1], ioi.cfg.d_vocab)
    # The residual stream leaving block 0 is the one entering block 1.
    np.testing.assert_array_equal(cache["blocks.0.hook_resid_post"], cache["blocks.1.hook_resid_pre"])
    np.testing.assert_array_equal(cache["resid_post", 0], cache["blocks.0.hook_resid_post"])
    # resid_post = resid_mid + mlp_out, resid_mid = resid_pre + attn_out
    c = cache
    np.testing.assert_allclose(c["blocks.2.hook_resid_mid"], c["blocks.2.hook_resid_pre"] + c["blocks.2.hook_attn_out"],
                               rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(c["blocks.2.hook_resid_post"], c["blocks.2.hook_resid_mid"] + c["blocks.2.hook_mlp_out"],
                               rtol=1e-5, atol=1e-5)
    assert c["pattern", 1].shape == (1, ioi.cfg.n_heads, logits.shape[1], logits.shape[1])
    np.testing.assert_allclose(c["pattern", 1].sum(-1), 1.0, rtol=1e-5)


def test_names_filter_forms(ioi):
    _, c1 = ioi.run_with_cache(IOI_CLEAN, names_filter="blocks.*.hook_resid_post")
    assert list(c1) == [f"blocks.{l}.hook_resid_post" for l in range(ioi.cfg.n_layers)]
    _, c2 = ioi.run_with_cache(IOI_CLEAN, names_filter=lambda n: n.endswith("hook_z"))
    assert len(c2) == ioi.cfg.n_layers and all(k.endswith("attn.hook_z") for k in c2)
    _, c3 = ioi.run_with_cache(IOI_CLEAN, names_filter=["hook_embed", "blocks.3.attn.hook_pattern"], positions=[-1])
    assert c3["hook_embed"].shape == (1, 1, ioi.cfg.d_model)
    assert "blocks.2.hook_resid_post" not in c3


def test_cache_arrays_view_engine_memory(ioi):
    _, cache = ioi.run_with_cache(IOI_CLEAN, names_filter="blocks.*.hook_resid_post")
    a = cache["blocks.1.hook_resid_post"]
    # A copy would own its data (base None); a view's base is the Owner of the C++ tensor.
    assert not a.flags.owndata and isinstance(a.base, glassbox.Owner)
    assert "blocks.1.hook_resid_post" in a.base.what
    expected = a.copy()
    view = a[0, -1]
    assert np.shares_memory(view, a) and view.base is a
    del cache, a
    import gc
    gc.collect()
    ioi.run_with_cache(IOI_CORRUPT)  # the engine may reuse memory nobody holds; `view` still holds its tensor
    np.testing.assert_array_equal(view, expected[0, -1])


def test_bf16_cache(ioi):
    _, f32 = ioi.run_with_cache(IOI_CLEAN, names_filter="blocks.3.hook_resid_post")
    _, bf = ioi.run_with_cache(IOI_CLEAN, names_filter="blocks.3.hook_resid_post", dtype="bf16")
    _, raw = ioi.run_with_cache(IOI_CLEAN, names_filter="blocks.3.hook_resid_post", dtype="bf16", raw=True)
    name = "blocks.3.hook_resid_post"
    assert bf[name].dtype == np.float32 and raw[name].dtype == np.uint16
    assert isinstance(raw[name].base, glassbox.Owner)  # raw bits: zero copy
    np.testing.assert_array_equal(glassbox.bf16_to_float32(raw[name]), bf[name])
    np.testing.assert_allclose(bf[name], f32[name], rtol=1e-2, atol=1e-2)
    assert not np.array_equal(bf[name], f32[name])  # really rounded to 8 mantissa bits
    with pytest.raises(glassbox.GlassboxError, match="uint16"):
        glassbox.bf16_to_float32(np.zeros(3, np.float32))


def test_weights_are_read_only_views(ioi):
    w1, w2 = ioi._m.weights(), ioi._m.weights()
    for name in ("embed.W_E", "blocks.0.attn.W_Q", "blocks.1.attn.W_O", "unembed.W_U"):
        # Two independent views of the same weight start at the same address: the model's memory.
        assert w1[name].__array_interface__["data"][0] == w2[name].__array_interface__["data"][0]
        assert not w1[name].flags.owndata and not w1[name].flags.writeable
    with pytest.raises(ValueError):
        ioi.W_E[0, 0] = 1.0
    c = ioi.cfg
    assert ioi.blocks[0].attn.W_Q.shape == (c.n_heads, c.d_model, c.d_head)
    assert ioi.blocks[0].attn.W_O.shape == (c.n_heads, c.d_head, c.d_model)
    assert ioi.W_U.shape == (c.d_model, c.d_vocab)


def test_weight_views_compute_the_activations(ioi):
    toks = ioi.to_tokens(IOI_CLEAN)
    _, c = ioi.run_with_cache(toks)
    T = toks.shape[1]
    np.testing.assert_array_equal(c["hook_embed"][0], ioi.W_E[toks[0]])
    np.testing.assert_array_equal(c["hook_pos_embed"][0], ioi.W_pos[:T])
    b = ioi.blocks[1]
    attn_out = np.einsum("bthd,hdm->btm", c["blocks.1.attn.hook_z"], b.attn.W_O) + b.attn.b_O
    np.testing.assert_allclose(attn_out, c["blocks.1.hook_attn_out"], rtol=1e-4, atol=1e-4)
    mlp_out = c["blocks.1.mlp.hook_post"] @ b.mlp.W_out + b.mlp.b_out
    np.testing.assert_allclose(mlp_out, c["blocks.1.hook_mlp_out"], rtol=1e-4, atol=1e-4)


def test_weights_keep_the_model_alive():
    w = glassbox.load("ioi").W_E  # the Model object is gone after this line
    import gc
    gc.collect()
    assert isinstance(w.base, glassbox.Owner) and "ioi" in w.base.what
    assert np.isfinite(w).all() and w.std() > 0


def test_hooks_in_place_replace_and_interventions_agree(ioi):
    clean = ioi(IOI_CLEAN).copy()
    seen = []

    def zero(act, hook):
        seen.append((hook.name, hook.layer(), act.shape))
        act[:] = 0

    a = ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[("blocks.*.hook_attn_out", zero)]).copy()
    b = ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[("blocks.*.hook_attn_out", lambda act, hook: act * 0)]).copy()

    def zero_and_return(act, hook):  # TransformerLens' idiom: change in place, return the activation
        act *= 0
        return act

    np.testing.assert_array_equal(ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[("blocks.*.hook_attn_out", zero_and_return)]), a)
    c = ioi(IOI_CLEAN, interventions=[{"type": "zero_ablate", "hook": "blocks.*.hook_attn_out"}])
    assert [s[0] for s in seen] == [f"blocks.{l}.hook_attn_out" for l in range(ioi.cfg.n_layers)]
    assert [s[1] for s in seen] == list(range(ioi.cfg.n_layers))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, c)
    assert np.abs(a - clean).max() > 1.0  # the ablation changed the prediction


def test_hook_errors(ioi):
    kept = []
    with pytest.raises(glassbox.GlassboxError, match="copy"):
        ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[("blocks.0.hook_resid_post", lambda a, h: kept.append(a))])
    kept.clear()
    with pytest.raises(glassbox.GlassboxError, match=r"shape \[1, 2\]"):
        ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[("blocks.0.hook_resid_post", lambda a, h: np.zeros((1, 2)))])

    def boom(a, h):
        raise ValueError("from the hook")

    with pytest.raises(ValueError, match="from the hook"):
        ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[("blocks.0.hook_resid_post", boom)])
    # The engine is usable after every failure, hooks detached.
    np.testing.assert_array_equal(ioi(IOI_CLEAN), ioi(IOI_CLEAN))


def test_generate_greedy_and_interventions(ioi):
    out = ioi.generate(IOI_CLEAN, max_new_tokens=1, temperature=0)
    assert out == IOI_CLEAN + " Mary"
    toks = ioi.to_tokens(IOI_CLEAN)[0]
    ids = ioi.generate(toks, max_new_tokens=3, temperature=0)
    assert ids.shape == (len(toks) + 3,) and ids[len(toks)] == ioi.to_single_token(" Mary")
    # Steering: a large vector along (W_U[John] - W_U[Mary]) at the last block flips the answer.
    d = ioi.W_U[:, ioi.to_single_token(" John")] - ioi.W_U[:, ioi.to_single_token(" Mary")]
    steer = {"type": "add_vector", "hook": f"blocks.{ioi.cfg.n_layers - 1}.hook_resid_post", "vector": d.tolist(),
             "alpha": 50.0}
    assert ioi.generate(IOI_CLEAN, max_new_tokens=1, temperature=0, interventions=[steer]) == IOI_CLEAN + " John"
    assert ioi.generate(IOI_CLEAN, max_new_tokens=1, temperature=0, interventions=json.dumps(steer)) == IOI_CLEAN + " John"
    with pytest.raises(glassbox.GlassboxError, match="vector"):
        ioi.generate(IOI_CLEAN, max_new_tokens=1, interventions=[dict(steer, vector=[1.0, 2.0])])


def test_grad_matches_finite_differences(ioi):
    site = "blocks.1.hook_resid_post"
    value, grads = ioi.grad(IOI_CLEAN, "logit_diff", [site], answer=" Mary", wrong=" John")
    logits = ioi(IOI_CLEAN)
    mary, john = ioi.to_single_token(" Mary"), ioi.to_single_token(" John")
    assert value == pytest.approx(logits[0, -1, mary] - logits[0, -1, john], rel=1e-5)
    g = grads[site]
    assert g.shape == (1, logits.shape[1], ioi.cfg.d_model) and isinstance(g.base, glassbox.Owner)
    rng = np.random.default_rng(0)
    direction = rng.standard_normal(g.shape).astype(np.float32)
    eps = 1e-2

    def metric_with(delta):
        def add(act, hook):
            act += delta
        lg = ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[(site, add)])
        return float(lg[0, -1, mary]) - float(lg[0, -1, john])

    fd = (metric_with(eps * direction) - metric_with(-eps * direction)) / (2 * eps)
    assert float((g * direction).sum()) == pytest.approx(fd, rel=2e-2, abs=2e-3)


def test_grad_of_loss(ioi):
    loss = ioi(IOI_CLEAN, return_type="loss")
    value, grads = ioi.grad(IOI_CLEAN, "loss", "blocks.*.hook_resid_pre")
    assert value == pytest.approx(loss, rel=1e-6) and 0 < loss < 20
    assert len(grads) == ioi.cfg.n_layers and all(np.abs(g).sum() > 0 for g in grads.values())


def test_token_arguments(ioi):
    toks = ioi.to_tokens(IOI_CLEAN)
    np.testing.assert_array_equal(ioi(toks), ioi(toks[0].tolist()))
    np.testing.assert_array_equal(ioi(toks), ioi(toks.astype(np.int64)))
    with pytest.raises(glassbox.GlassboxError, match="integers"):
        ioi(toks.astype(np.float32))
    with pytest.raises(glassbox.GlassboxError, match="4294967296"):
        ioi([1, 2 ** 32])
    # Prompts of different lengths are padded and masked: each row's logits are its own.
    short = "When Mary went to"
    both = ioi([IOI_CLEAN, short])
    n = ioi.to_tokens(short).shape[1]
    np.testing.assert_allclose(both[1, :n], ioi(short)[0], rtol=1e-4, atol=1e-4)
    with pytest.raises(glassbox.GlassboxError, match="different token lengths"):
        ioi.to_tokens([IOI_CLEAN, short])


def test_hook_name_filter_function(ioi):
    names = []
    ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[(lambda n: n.endswith("hook_pattern"), lambda a, h: names.append(h.name))])
    assert names == [f"blocks.{l}.attn.hook_pattern" for l in range(ioi.cfg.n_layers)]


def test_threads_share_a_model(ioi):
    # Passes from several threads (the GIL released, the engine locked), some
    # with Python hooks that take the GIL back: no deadlock, the same results.
    from concurrent.futures import ThreadPoolExecutor
    want = ioi(IOI_CLEAN).copy()
    want_z = ioi(IOI_CLEAN, interventions=[{"type": "zero_ablate", "hook": "blocks.1.hook_attn_out"}]).copy()

    def job(i):
        if i % 2:
            return "hook", ioi.run_with_hooks(IOI_CLEAN, fwd_hooks=[("blocks.1.hook_attn_out", lambda a, h: a * 0)]).copy()
        return "plain", ioi(IOI_CLEAN).copy()

    with ThreadPoolExecutor(4) as pool:
        for kind, got in pool.map(job, range(16)):
            np.testing.assert_array_equal(got, want_z if kind == "hook" else want)


def test_persistent_hooks(ioi):
    clean = ioi(IOI_CLEAN).copy()
    zeroed = ioi(IOI_CLEAN, interventions=[{"type": "zero_ablate", "hook": "blocks.0.hook_mlp_out"}]).copy()
    zero = ("blocks.0.hook_mlp_out", lambda a, h: a * 0)
    with ioi.hooks(fwd_hooks=[zero]):
        np.testing.assert_array_equal(ioi(IOI_CLEAN), zeroed)
        _, cache = ioi.run_with_cache(IOI_CLEAN, names_filter="blocks.0.hook_mlp_out")
        assert not cache["blocks.0.hook_mlp_out"].any()
    np.testing.assert_array_equal(ioi(IOI_CLEAN), clean)
    ioi.add_hook(*zero)
    try:
        np.testing.assert_array_equal(ioi(IOI_CLEAN), zeroed)
    finally:
        ioi.reset_hooks()
    np.testing.assert_array_equal(ioi(IOI_CLEAN), clean)


def test_accumulated_and_decomposed_resid(ioi):
    _, c = ioi.run_with_cache(IOI_CLEAN)
    acc, labels = c.accumulated_resid(return_labels=True)
    assert acc.shape[0] == ioi.cfg.n_layers + 1 and labels[-1] == "final_post"
    np.testing.assert_array_equal(acc[2], c["blocks.2.hook_resid_pre"])
    parts, names = c.decompose_resid(return_labels=True)
    assert names[:2] == ["hook_embed", "hook_pos_embed"] and len(names) == 2 + 2 * ioi.cfg.n_layers
    np.testing.assert_allclose(parts.sum(0), acc[-1], rtol=1e-4, atol=1e-4)


def test_patch_intervention_from_a_cache(ioi, tmp_path):
    # Patching head 1.0's z from the clean run into the corrupted one: the
    # same with the cache object, with its saved file, and with a hand-written hook.
    hook = "blocks.1.attn.hook_z"
    _, clean = ioi.run_with_cache(IOI_CLEAN, names_filter=hook)
    patch = {"type": "patch", "hook": hook, "heads": [0], "source": clean}
    a = ioi(IOI_CORRUPT, interventions=[patch]).copy()
    clean.save(tmp_path / "clean.safetensors")
    b = ioi(IOI_CORRUPT, interventions=[dict(patch, source=str(tmp_path / "clean.safetensors"))])
    np.testing.assert_array_equal(a, b)
    src = clean[hook]

    def by_hand(z, h):
        z[:, :, 0] = src[:, :, 0]

    np.testing.assert_array_equal(a, ioi.run_with_hooks(IOI_CORRUPT, fwd_hooks=[(hook, by_hand)]))
    assert np.abs(a - ioi(IOI_CORRUPT)).max() > 0.1


def test_generate_with_profiles(ioi):
    # A profile carries the interventions: the same steer as interventions=.
    d = ioi.W_U[:, ioi.to_single_token(" John")] - ioi.W_U[:, ioi.to_single_token(" Mary")]
    last = f"blocks.{ioi.cfg.n_layers - 1}.hook_resid_post"
    steer = {"type": "add_vector", "hook": last, "vector": d.tolist(), "alpha": 50.0}
    flag = {"name": "john", "type": "projection", "hook": last, "direction": d.tolist(), "threshold": 0.0}
    entropy = {"type": "entropy", "threshold": 100.0}  # never crosses: values, no events
    profile = {"interventions": [steer], "monitors": [flag, entropy]}
    out, mon = ioi.generate(IOI_CLEAN, max_new_tokens=1, temperature=0, profile=profile)
    assert out == IOI_CLEAN + " John"
    assert mon["monitors"] == ["john", mon["monitors"][1]]
    assert len(mon["events"]) == 1 and mon["events"][0]["name"] == "john" and mon["events"][0]["action"] == "flag"
    assert mon["values"][1][0][0] > 0  # the entropy of the one step, in nats
    # The same as a JSON string; a plain profile (no steer) keeps the model's answer.
    out2, _ = ioi.generate(IOI_CLEAN, max_new_tokens=1, temperature=0, profile=json.dumps(profile))
    assert out2 == out
    plain, mon_plain = ioi.generate(IOI_CLEAN, max_new_tokens=1, temperature=0, profile={"monitors": [flag]})
    assert plain == IOI_CLEAN + " Mary" and mon_plain["events"] == []
    with pytest.raises(glassbox.GlassboxError, match="direction"):
        ioi.generate(IOI_CLEAN, max_new_tokens=1, profile={"monitors": [dict(flag, direction=[1.0, 2.0])]})
    with pytest.raises(glassbox.GlassboxError, match="not both"):
        ioi.generate(IOI_CLEAN, max_new_tokens=1, profile=profile, interventions=[steer])


def test_profiles_run_concurrently(ioi):
    # Two profiles on one loaded model from several threads: each request gets
    # exactly what it gets alone.
    from concurrent.futures import ThreadPoolExecutor
    d = ioi.W_U[:, ioi.to_single_token(" John")] - ioi.W_U[:, ioi.to_single_token(" Mary")]
    last = f"blocks.{ioi.cfg.n_layers - 1}.hook_resid_post"
    profiles = [{"interventions": [{"type": "add_vector", "hook": last, "vector": d.tolist(), "alpha": 50.0}]},
                {"interventions": [{"type": "project_out", "hook": "blocks.*.hook_resid_post", "vector": d.tolist()}],
                 "monitors": [{"type": "entropy", "threshold": 0.5, "when": "below"}]}]
    alone = [ioi.generate(IOI_CLEAN, max_new_tokens=4, temperature=0, profile=p) for p in profiles]
    assert alone[0][0] != alone[1][0]

    def job(i):
        return i % 2, ioi.generate(IOI_CLEAN, max_new_tokens=4, temperature=0, profile=profiles[i % 2])

    with ThreadPoolExecutor(4) as pool:
        for k, got in pool.map(job, range(8)):
            assert got == alone[k]
