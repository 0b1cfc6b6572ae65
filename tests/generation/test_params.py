"""`GenParams`, the one set of sampling parameters: built from the `generate` section without
losing a field, and a temperature too small to divide by decodes greedily."""

from __future__ import annotations

from dataclasses import fields

from instructune.config import GenerateConfig
from instructune.generation.batched import sampling
from instructune.generation.params import MIN_SAMPLING_TEMPERATURE, GenParams


def test_from_config_carries_every_sampling_field_of_the_generate_section():
    g = GenerateConfig(max_new_tokens=7, temperature=0.3, top_p=0.8, top_k=5, repetition_penalty=1.2,
                       batch_size=3, seed=9)
    p = GenParams.from_config(g)
    carried = {f.name for f in fields(GenerateConfig)} - {"batch_size"}  # the engine's, not sampling
    assert {n: getattr(p, n) for n in carried} == {n: getattr(g, n) for n in carried}
    assert GenParams.from_config(GenerateConfig(temperature="auto")).temperature == "auto"


def test_a_temperature_below_the_minimum_is_greedy():
    tiny = sampling(GenParams(temperature=MIN_SAMPLING_TEMPERATURE / 10), [0.0])
    assert tiny == {"do_sample": False, "temperature": None, "top_p": None, "top_k": None}
    warm = sampling(GenParams(temperature=0.5, top_p=0.9, top_k=4), [0.5])
    assert warm == {"do_sample": True, "temperature": 0.5, "top_p": 0.9, "top_k": 4}


def test_an_int_temperature_samples_as_the_float_it_means():
    """transformers refuses temperature=2 (an int) as "not a strictly positive float"."""
    p = GenParams(temperature=2, top_p=1)
    assert sampling(p, [2.0]) == {"do_sample": True, "temperature": 2.0, "top_p": 1.0, "top_k": 0}
    assert type(p.temperature) is float and type(p.top_p) is float
