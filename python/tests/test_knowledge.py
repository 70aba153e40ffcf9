"""Causal tracing, knowledge editing, known vs unseen subjects and model
diffing from Python, checked against the CLI's --json on the shipped organisms."""
import os

import numpy as np
import pytest

import glassbox

PROMPT, SUBJECT = "Mina Selia lives in", "Mina Selia"


@pytest.fixture(scope="session")
def facts():
    return glassbox.load("facts")


def organism(name):
    return os.path.join(glassbox.models_dir(), name)


def test_causal_trace_matches_cli(facts, cli, tmp_path):
    r = glassbox.causal_trace(facts, PROMPT, subject=SUBJECT, samples=3, html=tmp_path / "trace.html")
    want = cli("trace", "-m", organism("facts"), PROMPT, "--subject", SUBJECT, "--samples", "3")
    (p,), (w,) = r["prompts"], want["prompts"]
    assert p["answer"] == w["answer"] == " Jerusalem" and p["subject_span"] == w["subject_span"]
    assert p["p_clean"] == pytest.approx(w["p_clean"], rel=1e-5)
    assert p["p_corrupt"] == pytest.approx(w["p_corrupt"], rel=1e-4, abs=1e-7)
    for site in ("resid", "mlp", "attn"):
        grid = p["effect"][site]
        assert grid.shape == (facts.cfg.n_layers, len(p["tokens"]))
        ref = np.array([[np.nan if v is None else v for v in row] for row in w["effect"][site]])
        np.testing.assert_allclose(grid, ref, rtol=1e-4, atol=1e-6)
    # Restoring the last layer's residual at the last position restores the clean output exactly.
    assert p["effect"]["resid"][-1, -1] == pytest.approx(p["p_clean"] - p["p_corrupt"], rel=1e-4)
    assert p["p_clean"] - p["p_corrupt"] > 0.5  # the noise hides the subject
    assert (tmp_path / "trace.html").stat().st_size > 1000
    with pytest.raises(glassbox.GlassboxError, match="Nobody"):
        glassbox.causal_trace(facts, PROMPT, subject="Nobody")


def test_rome_edit_matches_cli_and_saves_a_checkpoint(facts, cli, tmp_path):
    r = glassbox.edit("facts", PROMPT, SUBJECT, " Athens", old=" Jerusalem", cov_tokens=1000, v_steps=10, prefixes=4,
                      out=tmp_path / "edited", save_edit=tmp_path / "mina.safetensors")
    want = cli("edit", "apply", "-m", organism("facts"), "--prompt", PROMPT, "--subject", SUBJECT, "--new", " Athens",
               "--old", " Jerusalem", "--cov-tokens", "1000", "--v-steps", "10", "--prefixes", "4")
    assert r["changes"] == want["changes"] == [{"layer": 0, "rank": 1}]
    for when in ("before", "after"):
        for k in ("p_new", "p_old"):
            assert r[when][k] == pytest.approx(want[when][k], rel=2e-3, abs=1e-6), (when, k)
    assert r["after"]["p_new"] > 10 * r["before"]["p_new"]  # the rank-one change moves p(new)
    # The saved checkpoint is an ordinary model whose margin of Athens over Jerusalem grew.
    edited = glassbox.load(tmp_path / "edited")
    logits = edited(PROMPT)[0, -1]
    ath, jer = facts.to_single_token(" Athens"), facts.to_single_token(" Jerusalem")
    before = facts(PROMPT)[0, -1]
    assert logits[ath] - logits[jer] > before[ath] - before[jer] + 1
    # The saved change applies to a fresh copy of the model with the same effect.
    ed = glassbox.Editor(organism("facts"))
    about = ed.apply_edit_file(tmp_path / "mina.safetensors")
    assert about["subject"] == SUBJECT
    np.testing.assert_allclose(ed.logits(PROMPT)[-1], logits, rtol=1e-4, atol=1e-4)
    # The change is rank one in layer 0's W_out, seen through a view of the editable weights.
    W = ed.W_out(0)
    assert W.shape == (facts.cfg.d_mlp, facts.cfg.d_model) and W.base is not None
    delta = W - facts.blocks[0].mlp.W_out
    assert np.linalg.matrix_rank(delta, tol=1e-4 * np.abs(delta).max()) == 1
    ed.reset()
    np.testing.assert_allclose(ed.logits(PROMPT)[-1], facts(PROMPT)[0, -1], rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(W, facts.blocks[0].mlp.W_out)  # the view sees the reset
    W[:] = 0  # and writes reach the passes: no MLP output at layer 0
    assert np.abs(ed.logits(PROMPT)[-1] - facts(PROMPT)[0, -1]).max() > 1e-3
    ed.reset()
    with pytest.raises(glassbox.GlassboxError, match="one token"):
        ed.apply(PROMPT, SUBJECT, " Athens Greece")
    with pytest.raises(glassbox.GlassboxError, match="unknown option"):
        ed.apply(PROMPT, SUBJECT, " Athens", options={"v_stepz": 3})
    with pytest.raises(glassbox.GlassboxError, match="memit_keys 'median'"):
        ed.apply(PROMPT, SUBJECT, " Athens", method="memit", options={"memit_keys": "median"})


def test_known_matches_cli(facts, cli, tmp_path):
    # An SAE at the last layer (trained on random rows: the check is that
    # Python and the CLI load and score it the same way).
    hook = "blocks.3.hook_resid_post"
    rows = np.random.default_rng(0).standard_normal((8192, 128)).astype(np.float32)
    glassbox.train_sae({hook: rows}, arch="topk", k=8, d_sae=256, tokens=8192, batch=1024, out=tmp_path / "sae")
    r = glassbox.known(facts, save_probe=tmp_path / "probe.json", sae=tmp_path / "sae")
    want = cli("known", "-m", organism("facts"), "--sae", str(tmp_path / "sae"))
    assert [s["kind"] for s in want["signals"]].count("sae") == 4 and want["sae"]["hook"] == hook
    assert r["sae"] == want["sae"]
    assert r["n_known"] == want["n_known"] and r["n_test"] == want["n_test"]
    assert [s["name"] for s in r["signals"]] == [s["name"] for s in want["signals"]]
    for a, b in zip(r["signals"], want["signals"]):
        assert a["auroc"] == pytest.approx(b["auroc"], abs=1e-6)
    assert r["best"] == want["best"]
    assert isinstance(r["best_probe"], glassbox.LinearProbe) and r["probe"]["format"] == "glassbox-probe"
    assert (tmp_path / "probe.json").is_file()
    # A monitor reads the prompt's last token first: the probe fitted there, as --probe-position end saves it.
    end = glassbox.known(facts, probe_position="end")["probe"]
    assert end["position"] == "end" and end["auroc"] <= r["probe"]["auroc"]
    with pytest.raises(glassbox.GlassboxError, match="expected subject or end"):
        glassbox.known(facts, probe_position="middle")


def test_model_diff_matches_cli(cli):
    base, tuned = glassbox.load("tiny-lm"), glassbox.load("tiny-lm-chat")
    prompts = ["Once upon a time", "The little dog"]
    r = glassbox.model_diff(base, tuned, prompts, max_new_tokens=6, patching=True, top_k=3)
    want = cli("diff", "--base", organism("tiny-lm"), "--tuned", organism("tiny-lm-chat"), *prompts,
               "--max-new-tokens", "6", "--top-k", "3")
    np.testing.assert_allclose(r["kl"]["by_position"], want["kl"]["by_position"], rtol=1e-4, atol=1e-6)
    assert [c["hook"] for c in r["components"]] == [c["hook"] for c in want["components"]]
    for a, b in zip(r["components"], want["components"]):
        assert a["base_into_tuned"] == pytest.approx(b["base_into_tuned"], rel=1e-3, abs=1e-5)
    assert [w["relative"] for w in r["weights"]] == pytest.approx([w["relative"] for w in want["weights"]], rel=1e-5)
    top = r["lens"]["start"][-1]["promoted"][0]
    assert top["text"] == want["lens"]["start"][-1]["promoted"][0]["text"]
    with pytest.raises(glassbox.GlassboxError):
        glassbox.model_diff(base, glassbox.load("ioi"), prompts)


def test_edit_eval_matches_cli(cli):
    r = glassbox.edit_eval("facts", methods=["ft"], batches=[1], edits=1, cov_tokens=2000)
    want = cli("edit", "eval", "-m", organism("facts"), "--methods", "ft", "--batches", "1", "--edits", "1",
               "--cov-tokens", "2000")
    (a,), (b,) = r["methods"], want["methods"]
    for k in ("method", "edits", "layers", "efficacy", "paraphrase", "neighbourhood"):
        assert a[k] == b[k], k
    assert a["heldout_ce_after"] == pytest.approx(b["heldout_ce_after"], rel=1e-4)
    assert a["efficacy"] == 1.0  # fine-tuning the MLP writes the fact
    with pytest.raises(glassbox.GlassboxError, match="no facts"):
        glassbox.edit_eval("ioi", methods=["ft"], batches=[1], edits=1)


def test_generate_prepend_bos_shows_a_rome_edit_on_facts_lm(tmp_path):
    # facts-lm was trained on rows that begin with <|endoftext|>, which GPT-2's BPE does not add.
    if not os.path.exists(os.path.join(organism("facts-lm"), "model.safetensors")):
        pytest.skip("no shipped facts-lm")
    glassbox.edit(glassbox.load("facts-lm"), "Mina Selia lives in", "Mina Selia", " At", old=" J", out=tmp_path / "e")
    edited = glassbox.load(str(tmp_path / "e"))
    assert edited.generate("Mina Selia lives in", max_new_tokens=1, temperature=0, prepend_bos=True) == \
        "Mina Selia lives in At"
    both = edited.generate(["Mina Selia lives in", "<|endoftext|>Mina Selia lives in"], max_new_tokens=1,
                           temperature=0, prepend_bos=True)
    assert both == ["Mina Selia lives in At", "<|endoftext|>Mina Selia lives in At"]
    with pytest.raises(glassbox.GlassboxError, match="string prompts"):
        edited.generate(edited.to_tokens("Mina"), prepend_bos=True)
