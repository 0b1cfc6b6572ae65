"""Serving an instructune run with add-ons: a chat reaches the model with the ids and segments
of the run's own template (`render_prompt_segments`), as in training, batched or streamed;
temperature "auto" (and an omitted temperature on a model with a temperature head) samples each
prompt at the head's prediction; "auto" on a plain model is a 400 naming `temperature`."""

from __future__ import annotations

import json
import shutil

import httpx2 as httpx
import pytest
import torch

import instructune.generation.engine as engine_mod
import instructune.generation.batched as generation_mod
from instructune.config import load_config, save_config
from instructune.data.record import Record, Turn
from instructune.data.render import render_prompt_segments
from instructune.data.templates import INSTRUCTION, RESPONSE, TEMPLATE, TemplateOptions, get_template
from instructune.generation.auto_temperature import RowTemperature, predict_temperatures
from instructune.generation.engine import Engine, Generation, chat_record
from instructune.generation.params import GenParams
from instructune.model.addons import build_addons
from instructune.model.addons.store import save_addons
from instructune.model.forward import InstructForward
from instructune.model.load import load_model

MESSAGES = [{"role": "system", "content": "Answer briefly."},
            {"role": "user", "content": "Name a colour."},
            {"role": "assistant", "content": "Blue."},
            {"role": "user", "content": "Name a fruit."}]
# The Record `instructune chat` builds for the same conversation.
RECORD = Record(id="chat", instruction="Name a fruit.", response="", system="Answer briefly.",
                history=[Turn("user", "Name a colour."), Turn("assistant", "Blue.")])


@pytest.fixture(scope="module")
def run_dir(tiny_model, tmp_path_factory):
    """A run dir of the tiny model trained (here: perturbed) with the alpaca template, the segment
    embedding and the temperature head: config.yaml, export/, addons/."""
    run = tmp_path_factory.mktemp("addon-run") / "run"
    shutil.copytree(tiny_model, run / "export")
    cfg = load_config(None, [f"model.name={tiny_model}", f"output_dir={run}", "template.name=alpaca",
                             "addons.temperature_head.enabled=true", "addons.segment_embedding.enabled=true"])
    save_config(cfg, run / "config.yaml")
    model = load_model(tiny_model, "float32", "sdpa", device="cpu")
    torch.manual_seed(1)
    fwd = InstructForward(model, build_addons(cfg.addons.enabled(), model.config))
    with torch.no_grad():  # off the zero init, so the add-ons act
        for p in fwd.addons.parameters():
            p.add_(torch.randn_like(p) * 0.1)
    save_addons(fwd, cfg.addons.enabled(), run)
    return str(run)


@pytest.fixture(scope="module")
def run_engine(run_dir):
    return Engine.load(run_dir)


@pytest.fixture(scope="module")
def run_url(start_app, run_engine):
    return start_app(gen=run_engine)


@pytest.fixture
def calls(monkeypatch):
    """Every `generate_ids` call of the engine (prompts, gcfg, segments, streamed?) and every
    running batch it starts (gcfg only), run for real."""
    seen, real = [], engine_mod.generate_ids

    def recorded(model, tokenizer, prompts, gcfg, **kw):
        seen.append({"prompts": prompts, "gcfg": gcfg, "segments": kw.get("segments"),
                     "streamed": kw.get("streamer") is not None})
        return real(model, tokenizer, prompts, gcfg, **kw)

    monkeypatch.setattr(engine_mod, "generate_ids", recorded)
    real_batch = engine_mod.Engine.running_batch

    def batch(self, gcfg):  # a plain model's requests run on a running batch (no prompts known yet)
        seen.append({"prompts": None, "gcfg": gcfg, "segments": None, "streamed": None})
        return real_batch(self, gcfg)

    monkeypatch.setattr(engine_mod.Engine, "running_batch", batch)
    return seen


@pytest.fixture
def row_temperatures(monkeypatch):
    """The temperatures every `RowTemperature` (temperature "auto") was built with."""
    seen = []

    class Recorded(RowTemperature):
        def __init__(self, temperatures):
            seen.append(temperatures.tolist())
            super().__init__(temperatures)

    monkeypatch.setattr(generation_mod, "RowTemperature", Recorded)
    return seen


def post(url: str, path: str, body: dict) -> httpx.Response:
    return httpx.post(url + path, json=body, timeout=120)


def rendered(engine: Engine) -> tuple[list[int], list[int]]:
    return render_prompt_segments(RECORD, engine.tokenizer, get_template("alpaca"), TemplateOptions())


def test_a_run_dir_is_loaded_with_its_template_and_head(run_engine, engine):
    assert run_engine.template.name == "alpaca" and run_engine.has_temperature_head
    assert set(run_engine.model.addons) == {"segment_embedding", "temperature_head"}
    assert engine.template is None and not engine.has_temperature_head  # a plain model: neither


def test_chat_on_a_run_gets_the_ids_and_segments_of_its_template(run_url, run_engine, calls):
    r = post(run_url, "/chat/completions", {"messages": MESSAGES, "max_tokens": 3, "temperature": 0})
    assert r.status_code == 200, r.text
    ids, segments = rendered(run_engine)
    assert calls[-1]["prompts"] == [ids] and calls[-1]["segments"] == [segments]
    # the run's template (alpaca), not the tokenizer's chat template; every segment present
    assert ids != run_engine.chat_ids([MESSAGES])[0]
    assert {TEMPLATE, INSTRUCTION, RESPONSE} <= set(segments)
    assert r.json()["usage"]["prompt_tokens"] == len(ids)


def test_a_streamed_chat_passes_the_same_segments(run_url, run_engine, calls):
    body = {"messages": MESSAGES, "max_tokens": 3, "temperature": 0, "stream": True}
    with httpx.stream("POST", run_url + "/chat/completions", json=body, timeout=120) as r:
        assert r.status_code == 200
        events = [line for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "data: [DONE]" and all("error" not in json.loads(e[6:]) for e in events[:-1])
    ids, segments = rendered(run_engine)
    assert calls[-1]["streamed"] and calls[-1]["prompts"] == [ids] and calls[-1]["segments"] == [segments]


def test_a_raw_completion_on_a_run_is_all_instruction(run_url, run_engine, calls):
    r = post(run_url, "/completions", {"prompt": "Hello", "max_tokens": 2, "temperature": 0})
    assert r.status_code == 200, r.text
    assert calls[-1]["prompts"] == run_engine.complete_ids(["Hello"]) and calls[-1]["segments"] is None


def test_a_plain_model_keeps_its_chat_template_and_no_segments(start_app, engine, monkeypatch):
    """A plain model's requests join the running batch (no segments there): its rows are the
    chat template's ids."""
    from instructune.generation.running_batch import RunningBatch

    added, real = [], RunningBatch.add
    monkeypatch.setattr(RunningBatch, "add", lambda self, rows: added.extend(r.prompt for r in rows) or real(self, rows))
    url = start_app()
    r = post(url, "/chat/completions", {"messages": MESSAGES, "max_tokens": 2, "temperature": 0})
    assert r.status_code == 200, r.text
    assert added[-1:] == engine.chat_ids([MESSAGES])


def test_a_chat_that_does_not_end_with_a_user_turn_is_400_on_a_run(run_url):
    r = post(run_url, "/chat/completions", {"messages": MESSAGES[:3], "max_tokens": 2})
    err = r.json()["error"]
    assert r.status_code == 400 and err["param"] == "messages" and "last message must be a user" in err["message"]


def test_chat_record_is_the_record_instructune_chat_builds():
    assert chat_record(MESSAGES) == RECORD
    later = chat_record([*MESSAGES[1:3], {"role": "system", "content": "Be kind."}, MESSAGES[3]])
    assert later.system == "Be kind." and later.history == RECORD.history
    assert chat_record([{"role": "user", "content": "Hi"}]).system is None


def test_an_omitted_temperature_samples_at_the_heads_prediction(run_url, run_engine, calls, row_temperatures):
    r = post(run_url, "/chat/completions", {"messages": MESSAGES, "max_tokens": 3, "seed": 4})
    assert r.status_code == 200, r.text
    assert calls[-1]["gcfg"].temperature == "auto"
    ids, segments = rendered(run_engine)
    want = predict_temperatures(run_engine.model, [ids], [segments], run_engine.tokenizer.pad_token_id)
    assert row_temperatures == [pytest.approx(want.tolist())]  # the head on the renderer's segments
    explicit = post(run_url, "/chat/completions", {"messages": MESSAGES, "max_tokens": 3, "seed": 4,
                                                   "temperature": "auto"})
    assert explicit.json()["choices"][0]["message"] == r.json()["choices"][0]["message"]
    assert calls[-1]["gcfg"].temperature == "auto" and len(row_temperatures) == 2


def test_auto_with_predicted_zero_is_greedy(run_url, monkeypatch, row_temperatures):
    monkeypatch.setattr(generation_mod, "predict_temperatures",
                        lambda fwd, prompts, segments, pad: torch.zeros(len(prompts)))
    body = {"prompt": ["Hello", "The capital of"], "max_tokens": 6}
    auto = [post(run_url, "/completions", {**body, "seed": s}).json()["choices"] for s in (1, 2)]
    greedy = post(run_url, "/completions", {**body, "temperature": 0}).json()["choices"]
    assert auto[0] == auto[1] == greedy
    assert row_temperatures[0] == [0.0, 0.0]  # one batch, a temperature per prompt


def test_a_batch_holds_several_predicted_temperatures(run_engine, monkeypatch, row_temperatures):
    monkeypatch.setattr(generation_mod, "predict_temperatures",
                        lambda fwd, prompts, segments, pad: torch.tensor([0.25 + 0.5 * i for i in range(len(prompts))]))
    gens = run_engine.generate(run_engine.complete_ids(["Hello", "The capital of", "Explain"]),
                               GenParams(max_new_tokens=2, temperature="auto", seed=0))
    assert len(gens) == 3 and row_temperatures == [[0.25, 0.75, 1.25]]


def test_an_explicit_temperature_is_used_as_given(run_url, run_engine, row_temperatures):
    """On a model with a temperature head, a given temperature samples at that temperature: the
    served text is the engine's at the same temperature, top_p (the API's default, 1.0) and
    seed, and the head is not asked."""
    served = {}
    for t in (0, 0.7, 2):
        r = post(run_url, "/completions", {"prompt": "Hello", "max_tokens": 8, "temperature": t, "seed": 1})
        assert r.status_code == 200, r.text
        served[t] = r.json()["choices"][0]["text"]
        direct = run_engine.generate(run_engine.complete_ids(["Hello"]),
                                     GenParams(max_new_tokens=8, temperature=t, top_p=1.0, seed=1))
        assert served[t] == direct[0].text
    assert len(set(served.values())) > 1  # the temperature reached the sampler
    assert row_temperatures == []


@pytest.mark.parametrize("path,body", [
    ("/chat/completions", {"messages": MESSAGES}),
    ("/completions", {"prompt": "Hello"}),
])
def test_auto_on_a_model_without_the_head_is_400_naming_temperature(start_app, calls, path, body):
    url = start_app()
    r = post(url, path, {**body, "max_tokens": 2, "temperature": "auto"})
    err = r.json()["error"]
    assert r.status_code == 400 and err["param"] == "temperature" and err["type"] == "invalid_request_error"
    assert "temperature head" in err["message"] and "from 0 to 2" in err["message"]
    assert calls == []  # refused before anything ran
    omitted = post(url, path, {**body, "max_tokens": 2, "seed": 3})  # still 1 there, as before
    assert omitted.status_code == 200 and calls[-1]["gcfg"].temperature == 1.0


@pytest.mark.parametrize("value", ["hot", "AUTO", -0.1, 2.5, [1], {"t": 1}])
def test_a_temperature_neither_a_number_in_range_nor_auto_is_400(run_url, value):
    r = post(run_url, "/completions", {"prompt": "Hello", "max_tokens": 2, "temperature": value})
    err = r.json()["error"]
    assert r.status_code == 400 and err["param"] == "temperature"
    assert 'a number from 0 to 2, or "auto"' in err["message"]


def test_the_worker_batches_auto_jobs_and_fills_missing_segments():
    """Jobs with and without segments share an "auto" batch; the ones without read as instruction."""
    import threading

    from instructune.generation.batch_worker import BatchWorker

    entered, release, calls = threading.Event(), threading.Event(), []

    class Recorder:
        def generate(self, prompts, params, segments=None):
            calls.append((prompts, params.temperature, segments))
            entered.set()
            release.wait(30)
            return [Generation("x", "stop", len(p), 1) for p in prompts]

    worker = BatchWorker(Recorder(), batch_size=8, wait_s=0.0)
    auto = GenParams(temperature="auto", seed=1)
    first = worker.submit([[9]], GenParams(temperature=0.0, seed=1))
    assert entered.wait(30)
    a = worker.submit([[1, 2]], auto, [[TEMPLATE, INSTRUCTION]])
    b = worker.submit([[3], [4, 5]], auto)
    release.set()
    for f in (first, a, b):
        f.result(30)
    assert calls[0] == ([[9]], 0.0, None)  # no segments anywhere: none passed (plain models unchanged)
    assert calls[1] == ([[1, 2], [3], [4, 5]], "auto", [[TEMPLATE, INSTRUCTION], [INSTRUCTION], [INSTRUCTION] * 2])


def test_a_trained_run_dir_is_served_with_its_template_and_head(tiny_model, tmp_path, start_app, calls,
                                                                 row_temperatures):
    """A run dir as `instructune train` leaves it (one step): its config.yaml, export/ and addons/."""
    from instructune.recipes import train

    run = tmp_path / "run"
    train.main(load_config(None, [f"model.name={tiny_model}", f"output_dir={run}", "template.name=alpaca",
                                  "addons.temperature_head.enabled=true", "addons.segment_embedding.enabled=true",
                                  "train.max_steps=1", "data.heldout=[]", "data.max_length=256"]))
    gen = Engine.load(str(run))
    assert gen.template.name == "alpaca" and gen.has_temperature_head
    r = post(start_app(gen=gen), "/chat/completions", {"messages": MESSAGES, "max_tokens": 2, "seed": 0})
    assert r.status_code == 200, r.text
    ids, segments = rendered(gen)
    assert calls[-1]["prompts"] == [ids] and calls[-1]["segments"] == [segments]
    assert calls[-1]["gcfg"].temperature == "auto" and len(row_temperatures) == 1
