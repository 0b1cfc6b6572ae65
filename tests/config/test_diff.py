"""Flat config comparison: what resume checks and ablation cell keys rest on."""

from instructune.config.diff import differences, flatten


def test_flatten_joins_nested_keys_with_dots_and_keeps_empty_sections_as_values():
    assert flatten({"train": {"lr": 1e-3, "seed": 0}, "addons": {}, "output_dir": "x"}) == \
        {"train.lr": 1e-3, "train.seed": 0, "addons": {}, "output_dir": "x"}


def test_differences_name_each_changed_key_with_both_values_and_respect_only_and_ignore():
    old = {"train.lr": 1e-3, "train.seed": 0, "lora.r": 8, "output_dir": "a", "gone": 1}
    new = {"train.lr": 1e-4, "train.seed": 0, "lora.r": 16, "output_dir": "b"}
    assert differences(old, new) == ["train.lr (saved 0.001, now 0.0001)", "lora.r (saved 8, now 16)",
                                     "output_dir (saved 'a', now 'b')", "gone (saved 1, now None)"]
    assert differences(old, new, only=["lora"]) == ["lora.r (saved 8, now 16)"]
    assert differences(old, new, ignore=["output_dir", "gone", "train"]) == ["lora.r (saved 8, now 16)"]
    assert differences(new, dict(new)) == []
