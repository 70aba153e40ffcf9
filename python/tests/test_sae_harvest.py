"""Dictionaries (SAE.load / encode / decode / train / eval) and harvests from
Python, checked against the C++ CLI's --json output on the same inputs."""
import json
import os

import numpy as np
import pytest

import glassbox

SAE_HOOK = "blocks.2.hook_resid_post"
HARVEST_HOOK = "blocks.1.hook_resid_post"
TEXT = ("Once upon a time there was a little girl named Lily. She liked to play in the park with her dog. "
        "One day the sun was hot and she went home to drink some water. Her mom gave her a big red apple. ") * 6


def shipped_sae_dir():
    return os.path.join(glassbox.models_dir(), "tiny-lm", "saes", SAE_HOOK)


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    p = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    p.write_text(TEXT)
    return p


@pytest.fixture(scope="module")
def harvested(tiny_lm, corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("harvest") / "h"
    r = glassbox.harvest(tiny_lm, HARVEST_HOOK, corpus, out, context=16, batch=4, max_tokens=160, shard_tokens=64)
    return out, r


def test_sae_load_weights_are_views_and_encode_matches_numpy(tiny_lm):
    sae = glassbox.SAE.load(shipped_sae_dir())
    assert isinstance(sae, glassbox.Sae) and sae.hook_name == SAE_HOOK
    assert sae.d_in == tiny_lm.cfg.d_model and sae.cfg["d_sae"] == sae.d_sae
    W_enc, b_enc, W_dec, b_dec = sae.W_enc, sae.b_enc, sae.W_dec, sae.b_dec
    assert W_enc.shape == (sae.d_in, sae.d_sae) and W_dec.shape == (sae.d_sae, sae.d_in)
    assert isinstance(W_enc.base, glassbox.Owner)  # a view of the C++ weights, no copy
    _, cache = tiny_lm.run_with_cache("Once upon a time there was a little girl who", names_filter=SAE_HOOK)
    x = cache[SAE_HOOK][0]
    f = sae.encode(x)
    # The architecture's formula in numpy (SAELens' encode).
    pre = (x - b_dec * sae.cfg.get("apply_b_dec_to_input", True)) @ W_enc + b_enc
    if sae.architecture == "topk":
        ref = np.zeros_like(pre)
        top = np.argsort(-pre, axis=1)[:, :sae.k]
        np.put_along_axis(ref, top, np.maximum(np.take_along_axis(pre, top, 1), 0), 1)
    elif sae.architecture in ("jumprelu", "batchtopk"):
        ref = np.where(pre > sae.threshold, pre, 0) * (pre > 0)
    else:
        ref = np.maximum(pre, 0)
    np.testing.assert_allclose(f, ref, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(sae.decode(f), f @ W_dec + b_dec, rtol=1e-4, atol=1e-4)
    np.testing.assert_allclose(sae(x), sae.decode(f), rtol=1e-5, atol=1e-5)
    assert sae.encode(x[None]).shape == (1, x.shape[0], sae.d_sae)  # any leading axes
    with pytest.raises(glassbox.GlassboxError, match="SAE.encode"):
        sae.encode(np.zeros((2, 3), np.float32))
    with pytest.raises(glassbox.GlassboxError, match="no-such-sae"):
        glassbox.SAE.load("no-such-sae")


def test_sae_info_save_roundtrip_and_cli(tmp_path, cli):
    sae = glassbox.SAE.load(shipped_sae_dir())
    info = glassbox.sae_info(sae)
    want = cli("sae", "info", shipped_sae_dir())
    for k, v in want.items():
        if isinstance(v, float) or isinstance(v, dict):
            assert json.dumps(info[k], sort_keys=True) == json.dumps(v, sort_keys=True) or \
                all(abs(info[k][kk] - v[kk]) < 1e-5 * max(1, abs(v[kk])) for kk in v), k
        else:
            assert info[k] == v, k
    # A change through the weight view is what encode / save see.
    sae.b_enc[:] += 0.0
    sae.W_dec[0] *= 2
    sae.save(tmp_path / "copy")
    back = glassbox.SAE.load(tmp_path / "copy")
    np.testing.assert_array_equal(back.W_dec, sae.W_dec)
    assert back.dir == str(tmp_path / "copy")


def test_harvest_matches_cli_and_the_forward_pass(tiny_lm, corpus, harvested, tmp_path, cli):
    out, r = harvested
    assert r["rows"] == 160 and r["shards"] == 3 and r["shards_written"] == 3
    want = cli("harvest", "-m", os.path.join(glassbox.models_dir(), "tiny-lm"), "--hooks", HARVEST_HOOK,
               "--corpus", str(corpus), "--context", "16", "--batch", "4", "--max-tokens", "160", "--shard-tokens",
               "64", "-o", str(tmp_path / "cli"))
    assert [s["sha256"] for s in r["manifest"]["shards"]] == [s["sha256"] for s in want["manifest"]["shards"]]
    h = glassbox.load_harvest(out)
    assert h.sites == [HARVEST_HOOK] and h.rows == 160 and h.n_shards == 3
    s0 = h.shard(0)
    acts, toks = s0[HARVEST_HOOK], s0["tokens"]
    assert acts.shape == (64, tiny_lm.cfg.d_model) and acts.dtype == np.float32
    assert isinstance(acts.base, glassbox.Owner) and not acts.flags.writeable  # the mapped file, no copy
    # Row i of the first sequence is the model's residual at position i of BOS + corpus tokens.
    seq = toks[:16]
    _, cache = tiny_lm.run_with_cache(seq.astype(np.int64), names_filter=HARVEST_HOOK)
    np.testing.assert_allclose(acts[:16], cache[HARVEST_HOOK][0], rtol=1e-4, atol=1e-4)
    # read(): every row, float32, in harvest order.
    allrows = h.read()
    np.testing.assert_array_equal(allrows[HARVEST_HOOK][:64], acts)
    np.testing.assert_array_equal(allrows["tokens"][64:128], h.shard(1)["tokens"])
    assert h.read(max_rows=10)[HARVEST_HOOK].shape == (10, tiny_lm.cfg.d_model)
    # Rerunning resumes: nothing rewritten.
    again = glassbox.harvest(tiny_lm, HARVEST_HOOK, corpus, out, context=16, batch=4, max_tokens=160, shard_tokens=64)
    assert again["shards_written"] == 0 and again["shards_kept"] == 3
    with pytest.raises(glassbox.GlassboxError, match="no-such-hook"):
        glassbox.harvest(tiny_lm, "blocks.0.no-such-hook", corpus, tmp_path / "bad", context=16, max_tokens=32)


def test_train_and_evaluate_sae_on_a_harvest_match_cli(harvested, tmp_path, cli):
    out, _ = harvested
    kw = dict(arch="topk", k=4, d_sae=64, tokens=1280, batch=128, seed=3)
    r = glassbox.train_sae(str(out), HARVEST_HOOK, out=tmp_path / "py", **kw)
    assert r["finished"] and r["steps_done"] == 10
    (d,) = r["dictionaries"]
    assert len(d["log"]) >= 1 and d["hook_name"] == HARVEST_HOOK
    sae = r["saes"][0]
    assert sae.dir == str(tmp_path / "py") and sae.d_sae == 64
    cli("sae", "train", "--harvest", str(out), "--hook", HARVEST_HOOK, "--arch", "topk", "--k", "4", "--d-sae", "64",
        "--tokens", "1280", "--batch", "128", "--seed", "3", "--out", str(tmp_path / "cli"))
    np.testing.assert_allclose(sae.W_dec, glassbox.SAE.load(tmp_path / "cli").W_dec, rtol=1e-4, atol=1e-5)
    m = glassbox.evaluate_sae(sae, glassbox.load_harvest(out))
    want = cli("sae", "eval", str(tmp_path / "py"), "--harvest", str(out))
    for k in ("rows", "l0", "mse", "explained_variance", "dead_fraction"):
        assert m[k] == pytest.approx(want[k], rel=1e-5, abs=1e-7), k
    # From arrays in memory: the same metric on the same rows.
    rows = glassbox.load_harvest(out).read()[HARVEST_HOOK]
    m2 = glassbox.evaluate_sae(sae, {HARVEST_HOOK: rows})
    assert m2["mse"] == pytest.approx(m["mse"], rel=1e-5)
    with pytest.raises(glassbox.GlassboxError, match="not-a-site"):
        glassbox.train_sae({"x": rows}, "not-a-site", tokens=256, batch=128)


def test_train_sae_on_a_live_model_and_splice(tiny_lm, corpus, tmp_path):
    r = glassbox.train_sae(hook=SAE_HOOK, model=tiny_lm, corpus=corpus, context=16, arch="relu", d_sae=32,
                           tokens=128, batch=64, out=tmp_path / "live", shuffle_rows=64)
    sae = r["saes"][0]
    assert sae.architecture == "relu" and sae.cfg["model_name"] == "tiny-lm"
    m = glassbox.evaluate_sae(sae, model=tiny_lm, corpus=corpus, context=16, max_tokens=32)
    assert m["rows"] == 32 and "splice" in m
    assert m["splice"]["ce_spliced_with_error"] == pytest.approx(m["splice"]["ce_clean"], abs=1e-3)


def test_crosscoder_on_a_two_model_harvest_and_transcoder(tiny_lm, corpus, tmp_path, cli):
    chat = glassbox.load("tiny-lm-chat")
    r = glassbox.harvest([tiny_lm, chat], HARVEST_HOOK, corpus, tmp_path / "h2", context=16, max_tokens=128)
    h = glassbox.load_harvest(tmp_path / "h2")
    sites = h.sites
    assert sites == [f"tiny-lm/{HARVEST_HOOK}", f"tiny-lm-chat/{HARVEST_HOOK}"] and r["rows"] == 128
    cc = glassbox.train_sae(h, sources=sites, d_sae=16, k=4, tokens=256, batch=64, out=tmp_path / "cc")["saes"][0]
    assert cc.n_sources == 2 and cc.source_names == sites and cc.W_enc.shape == (2 * cc.d_in, 16)
    x = np.concatenate([h.read()[s] for s in sites], axis=1)
    assert cc.encode(x).shape == (128, 16) and cc(x).shape == x.shape
    info = glassbox.sae_info(cc)
    want = cli("sae", "info", tmp_path / "cc")
    for k in ("source_names", "latents_exclusive_to_source", "latents_shared", "d_sae", "architecture"):
        assert info[k] == want[k], k
    assert info["decoder_norm"] == pytest.approx(want["decoder_norm"], rel=1e-5)
    # A transcoder: reads one site, predicts another.
    acts = {"in": x[:, :cc.d_in], "out": x[:, cc.d_in:]}
    tc = glassbox.train_sae(acts, "in", target="out", d_sae=16, k=4, tokens=256, batch=64)["saes"][0]
    assert tc.hook_name_out == "out" and tc.decode(tc.encode(acts["in"])).shape == acts["out"].shape
    with pytest.raises(glassbox.GlassboxError, match="target"):
        glassbox.train_sae(acts, ["in", "out"], target="out", tokens=256, batch=64)


def test_bf16_harvest_shards_are_raw_bits(tiny_lm, corpus, tmp_path):
    glassbox.harvest(tiny_lm, HARVEST_HOOK, corpus, tmp_path / "bf", context=16, max_tokens=32, dtype="bf16")
    h = glassbox.load_harvest(tmp_path / "bf")
    raw = h.shard(0)[HARVEST_HOOK]
    assert raw.dtype == np.uint16 and raw.shape == (32, tiny_lm.cfg.d_model)
    np.testing.assert_array_equal(glassbox.bf16_to_float32(raw), h.read()[HARVEST_HOOK])
    with pytest.raises(glassbox.GlassboxError, match="no shard 5"):
        h.shard(5)
    with pytest.raises(glassbox.GlassboxError, match="no site"):
        h.read(["blocks.9.nothing"])
