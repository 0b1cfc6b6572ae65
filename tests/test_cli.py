"""The verb table: every verb parses inputs, flags and overrides the same way."""

import pytest

from instructune.cli import VERBS, is_override, main, parse


def test_overrides_are_told_from_inputs_by_their_config_section():
    assert is_override("train.lr=1e-4") and is_override("output_dir=runs/x")
    assert not is_override("data/a=b.jsonl") and not is_override("starter:train")
    assert not is_override("notasection.x=1")


def test_inputs_flags_and_overrides_mix_in_any_order():
    args = parse(["quality", "quality.judge=true", "a.jsonl", "--output", "out", "b.jsonl", "quality.seed=3"])
    assert args.inputs == ["a.jsonl", "b.jsonl"] and args.output == "out"
    assert args.overrides == ["quality.judge=true", "quality.seed=3"]


def test_a_verb_without_inputs_refuses_a_stray_positional(capsys):
    with pytest.raises(SystemExit) as e:
        parse(["train", "data.jsonl"])
    assert e.value.code == 2 and "unexpected argument(s): data.jsonl" in capsys.readouterr().err


def test_every_verb_has_help(capsys):
    for name in VERBS:
        with pytest.raises(SystemExit) as e:
            parse([name, "--help"])
        assert e.value.code == 0 and f"instructune {name}" in capsys.readouterr().out


def test_config_errors_are_one_line_with_exit_code_2(capsys):
    assert main(["config", "train.batch_size=0"]) == 2
    err = capsys.readouterr().err
    assert err == "instructune config: error: train.batch_size: got 0; expected >= 1\n"


def test_misspelt_starter_split_is_one_line_naming_the_nearest(tmp_path, capsys):
    assert main(["ingest", "starter:trian", "--output", str(tmp_path / "out.jsonl")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert "unknown starter split 'trian'" in err and "did you mean starter:train?" in err


def test_yaml_syntax_error_in_a_recipe_is_one_line_with_its_place(tmp_path, capsys):
    recipe = tmp_path / "bad.yaml"
    recipe.write_text("train:\n  lr: 1e-4\n  epochs: [1\n")
    assert main(["config", "--recipe", str(recipe)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"instructune config: error: {recipe}: not valid YAML: line ")


def test_a_misspelt_section_or_key_names_the_nearest_one(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "tran.lr=1e-4"])
    assert e.value.code == 2
    assert "'tran' in 'tran.lr=1e-4' is not a config section (nearest: train)" in capsys.readouterr().err
    assert main(["config", "train.lrr=1e-4"]) == 2
    assert "unknown key 'train.lrr' (nearest: lr); allowed:" in capsys.readouterr().err


HEAVY = ("torch", "transformers", "datasets")


@pytest.mark.parametrize("argv", [["train", "--nonsense"], ["eval", "--bogus"], ["train", "train.lrr=1e-4"],
                                  ["prepare", "--output", "x", "model.nme=y"],
                                  # a bad model name or a missing data file: checked before train's recipe imports
                                  ["train", "model.name=no-such-model-xyz", "output_dir=runs/never"],
                                  ["train", "data.train=[no_such_file.jsonl]", "output_dir=runs/never"]])
def test_bad_arguments_are_answered_before_the_ml_libraries_load(argv):
    # Bad arguments get their one line before torch / transformers are imported (seconds saved).
    import subprocess
    import sys

    code = ("import sys\nfrom instructune.cli import main\n"
            "try:\n    rc = main(sys.argv[1:])\nexcept SystemExit as e:\n    rc = e.code\n"
            f"print(rc, *[m for m in {HEAVY!r} if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    assert proc.stdout.split() == ["2"], (proc.stdout, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr and "error:" in proc.stderr.splitlines()[-1]


@pytest.mark.parametrize("verb, flags", [("ingest", ["--output", "out.jsonl"]), ("ingest", ["--explain"]),
                                         ("stats", []), ("dedup", ["--output", "out.jsonl"]),
                                         ("quality", ["--output", "q"])])
def test_a_missing_input_file_names_the_nearest_existing_one(verb, flags, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data.jsonl").write_text('{"instruction": "a", "response": "b"}\n')
    assert main([verb, "dta.jsonl", *flags]) == 2  # was: [Errno 2] No such file or directory: 'dta.jsonl'
    assert capsys.readouterr().err == f"instructune {verb}: error: input: dta.jsonl: no such file (did you mean data.jsonl?)\n"
