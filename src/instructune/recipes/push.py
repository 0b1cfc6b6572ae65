"""`instructune push RUN --repo NAME [--private] [--adapter]`: upload a run's export/ (or its
LoRA adapter alone) with a fresh model card to the Hugging Face hub, through `huggingface_hub`.

Refused in one line, before any run file is read, when the hub is off (HF_HUB_OFFLINE), no
token is set (`hf auth login` or HF_TOKEN) or the hub does not answer a short connect.
"""

from __future__ import annotations

from pathlib import Path

from instructune.config import ConfigError
from instructune.evaluate.card import CARD, write_cards
from instructune.model.hub import hub_offline, hub_reachable
from instructune.rundir import RunDir


def check_hub() -> str:
    """The hub token, or a one-line refusal when the hub cannot be used from here."""
    from huggingface_hub import get_token

    if hub_offline():
        raise ConfigError("push: HF_HUB_OFFLINE is set; unset it to upload")
    token = get_token()
    if not token:
        raise ConfigError("push: no Hugging Face token; run `hf auth login` or set HF_TOKEN")
    if not hub_reachable():
        raise ConfigError("push: the Hugging Face hub does not answer (no network?)")
    return token


def folder_to_push(run_dir: str, adapter: bool) -> Path:
    """export/ or adapter/ of a finished run; a one-line refusal when it is not there."""
    run = RunDir(run_dir)
    folder = run.adapter if adapter else run.export
    if not (folder / ("adapter_config.json" if adapter else "config.json")).is_file():
        what = "a LoRA adapter (adapter/; full fine-tuning runs have none)" if adapter else "a merged model (export/)"
        raise ConfigError(f"push: {run_dir} does not hold {what}")
    return folder


def main(run_dir: str, repo: str, private: bool = False, adapter: bool = False, api=None) -> dict:
    """Upload the run's export/ (or adapter/) with its card to `repo`; returns what was sent.

    Args:
        api: a `huggingface_hub.HfApi` (tests pass a stand-in); None builds one with the token.
    """
    token = check_hub()  # first: nothing of the run is read without a hub to send it to
    folder = folder_to_push(run_dir, adapter)
    write_cards(run_dir)  # the newest eval.json goes into the card that is uploaded
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    url = api.create_repo(repo_id=repo, private=private, exist_ok=True, repo_type="model")
    files = sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file() and not p.name.startswith("."))
    api.upload_folder(repo_id=repo, folder_path=str(folder), repo_type="model", ignore_patterns=[".*"],
                      commit_message=f"instructune: {'adapter' if adapter else 'merged model'} of "
                                     f"{Path(run_dir).resolve().name}")
    return {"repo": repo, "url": str(url), "folder": str(folder), "files": files, "card": CARD in files}
