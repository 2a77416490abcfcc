"""Pieces of `resgen eval speech` that need none of the evaluation-only packages."""
import json

import numpy as np

from resgen.eval.speech_data import CorpusSplit
from resgen.eval.speech_metrics import cosine, identify, unigram_arpa, words


def test_words_normalise_case_and_punctuation():
    assert words("Don't PANIC -- it's 42, O'Brien!") == ["don't", "panic", "it's", "o'brien"]
    assert words("...") == []


def test_unigram_arpa_is_a_uniform_model_over_the_vocabulary():
    text = unigram_arpa(["cat", "dog", "don't"])
    lines = text.splitlines()
    assert lines[0] == "\\data\\" and "ngram 1=5" in lines and lines[-1] == "\\end\\"
    probs = {ln.split()[1]: float(ln.split()[0]) for ln in lines if ln.count(" ") == 2 and ln[0] == "-"}
    assert set(probs) == {"<s>", "</s>", "cat", "dog", "don't"}
    assert probs["cat"] == probs["dog"] == probs["</s>"] == round(np.log10(1 / 4), 4)


def test_identify_picks_the_nearest_voice():
    enrolled = {3: np.array([1.0, 0, 0]), 7: np.array([0, 1.0, 0])}
    assert identify(np.array([0.9, 0.2, 0.1]), enrolled) == 3
    assert identify(np.array([0.1, 0.8, 0.5]), enrolled) == 7
    assert abs(cosine(np.array([1.0, 1.0]), np.array([2.0, 2.0])) - 1) < 1e-6


def test_triples_use_other_utterances_of_the_same_voice(tmp_path):
    voice = np.array([5, 5, 6, 5, 6, 6, 7, 5], np.int16)       # voice 7 has one utterance: skipped
    lengths = np.arange(1, len(voice) + 1) * 100
    lengths[3] = 22050 * 2                                   # the only prompt long enough for voice 5
    np.savez(tmp_path / "heldout.npz", audio=np.zeros(lengths.sum(), np.int16),
             audio_offsets=np.cumsum([0, *lengths]), voice=voice,
             texts=np.array(json.dumps([f"sentence {i}" for i in range(len(voice))])))
    voices = [{"accent": "en-us"}] * 6 + [{"accent": "en-gb"}, {"accent": "en-us"}]
    (tmp_path / "corpus.json").write_text(json.dumps({"voices": voices, "sample_rate": 22050}))
    held = CorpusSplit(tmp_path)
    assert [len(a) for a in held.audio] == lengths.tolist() and held.accent(2) == "en-gb"
    assert [t[0] for t in held.triples(min_prompt_s=1.0)] == [0, 1, 7]      # only 3 is long enough
    triples = held.triples(min_prompt_s=0.0)
    assert sorted(t[0] for t in triples) == [0, 1, 2, 3, 4, 5, 7]
    for i, j, k in triples:
        assert len({i, j, k}) == 3 and voice[i] == voice[j] == voice[k]
    for i, j, k in held.triples(min_prompt_s=1.0):
        assert j == 3
    assert {voice[t[0]] for t in triples[:2]} == {5, 6}          # round-robin over voices


def test_guidance_on_the_voice_of_a_model_not_trained_for_it_is_a_one_line_error(tiny_speech_dir, tmp_path):
    import shutil
    import subprocess
    import sys
    model = tmp_path / "model"
    shutil.copytree(tiny_speech_dir, model)
    cfg = json.loads((model / "config.json").read_text())
    (model / "config.json").write_text(json.dumps(cfg | {"prompt_drop": 0.0}))    # as the models before 2026-12-06
    lengths = [22050 * 2] * 3
    np.savez(tmp_path / "heldout.npz", audio=np.zeros(sum(lengths), np.int16), audio_offsets=np.cumsum([0, *lengths]),
             voice=np.zeros(3, np.int16), texts=np.array(json.dumps(["one", "two", "three"])))
    (tmp_path / "corpus.json").write_text(json.dumps({"voices": [{"accent": "en-us"}], "sample_rate": 22050}))
    r = subprocess.run([sys.executable, "-m", "resgen", "eval", "speech", "--data", str(tmp_path), "--model",
                        str(model), "--no-resynthesis", "--speaker-cfg", "2", "--repeats", "0"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1, r.stderr
    assert "not trained for guidance on the voice" in r.stderr


def test_no_model_with_no_resynthesis_is_a_one_line_error(tmp_path):
    import subprocess
    import sys
    np.savez(tmp_path / "heldout.npz", voice=np.zeros(1, np.int16))
    r = subprocess.run([sys.executable, "-m", "resgen", "eval", "speech", "--data", str(tmp_path), "--no-model",
                        "--no-resynthesis"], capture_output=True, text=True)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "nothing to evaluate" in r.stderr


def test_per_voice_rows_weight_per_by_reference_length_and_give_each_voice_its_length_ratio():
    """Two voices, two pairs each: PER pooled over the voice's phonemes, similarity and identification averaged,
    length ratio = the voice's generated seconds over its recordings' seconds."""
    import numpy as np

    from resgen.eval.speech_report import per_voice

    class Split:                                   # the two attributes per_voice reads of a CorpusSplit
        voice = np.array([0, 0, 1, 1])

        def voice_name(self, i):
            return f"v{self.voice[i]}"
    triples = [(0, 1, 1), (1, 0, 0), (2, 3, 3), (3, 2, 2)]
    refs = [["a"] * 10, ["a"] * 30, ["a"] * 20, ["a"] * 20]
    row = {"per_utterance": [0.5, 0.1, 0.2, 0.4], "similarity_utterance": [0.8, 0.6, 0.9, 0.7],
           "hit_utterance": [True, False, True, True], "seconds_utterance": [1.0, 2.0, 1.5, 1.5]}
    table = per_voice({"ResGEN": row}, ["ResGEN"], triples, Split(), refs, rec_len=[2.0, 2.0, 1.0, 2.0])
    v0, v1 = table["v0"]["ResGEN"], table["v1"]["ResGEN"]
    assert np.isclose(v0["per"], (5 + 3) / 40) and np.isclose(v0["similarity"], 0.7) and v0["identification"] == 0.5
    assert np.isclose(v0["length_ratio"], 3.0 / 4.0) and np.isclose(v1["length_ratio"], 1.0) and v1["pairs"] == 2


def test_a_model_sampled_with_several_seeds_gets_one_row_of_per_pair_means_and_the_seeds_spread():
    import numpy as np

    from resgen.eval.speech_report import seed_mean
    a = {"per": 0.2, "similarity": 0.80, "identification": 1.0, "length_ratio": 1.0, "sentence_choice": 1.0,
         "per_utterance": [0.1, 0.3], "similarity_utterance": [0.82, 0.78], "hit_utterance": [True, True],
         "seconds_utterance": [1.0, 2.0], "examples": [{"text": "x"}]}
    b = {"per": 0.4, "similarity": 0.84, "identification": 0.5, "length_ratio": 0.9, "sentence_choice": 0.5,
         "per_utterance": [0.5, 0.3], "similarity_utterance": [0.86, 0.82], "hit_utterance": [False, True],
         "seconds_utterance": [0.8, 1.9]}
    m = seed_mean([a, b])
    assert np.isclose(m["per"], 0.3) and np.isclose(m["similarity"], 0.82) and np.isclose(m["identification"], 0.75)
    assert np.allclose(m["similarity_utterance"], [0.84, 0.80]) and np.allclose(m["hit_utterance"], [0.5, 1.0])
    assert np.allclose(m["per_utterance"], [0.3, 0.3]) and np.isclose(m["similarity_std"], 0.02)
    assert m["seeds"]["similarity"] == [0.80, 0.84] and np.isclose(m["seed_sd"]["similarity"], np.std([0.8, 0.84], ddof=1))
    assert "wer" not in m                                       # only what every seed's row has


def test_seeds_or_backend_out_of_range_is_a_one_line_error(tmp_path):
    import subprocess
    import sys
    for flag, value in (("--seeds", "0"), ("--backend", "tensorrt")):
        r = subprocess.run([sys.executable, "-m", "resgen", "eval", "speech", "--data", str(tmp_path), flag, value],
                           capture_output=True, text=True)
        assert r.returncode != 0 and flag in r.stderr and "Traceback" not in r.stderr
