"""bench/train_throughput.py's bookkeeping: repeated contenders keep a result each, and the
setting variants name real config keys."""

from __future__ import annotations

from bench_script import load_bench

bench = load_bench("train_throughput")


def test_a_contender_listed_again_runs_again_under_its_own_key():
    names = ["instructune+fused", "instructune+unfused", "instructune+fused", "trl", "instructune+fused"]
    assert bench.run_keys(names) == [("instructune+fused", "instructune+fused"),
                                     ("instructune+unfused", "instructune+unfused"),
                                     ("instructune+fused#2", "instructune+fused"), ("trl", "trl"),
                                     ("instructune+fused#3", "instructune+fused")]


def test_the_fused_variants_set_the_lora_switch_and_load_as_config():
    from instructune.config import load_config

    for variant, value in (("fused", True), ("unfused", False)):
        assert bench.known_contender(f"instructune+{variant}")
        cfg = load_config(None, bench.addon_overrides(variant))
        assert cfg.lora.fuse_adapters is value
