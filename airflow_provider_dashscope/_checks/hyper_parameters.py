"""The ``hyper_parameters`` of a fine-tune job, checked where a DAG author can still fix them.

A literal value is checked when the DAG is parsed, a template's rendered value at the start of ``execute``:

* it must be a mapping. A plain string (``"n_epochs=3"``) is refused with the two ways to pass a dict: build it in
  Python, or let a Jinja template render to one with ``render_template_as_native_obj=True`` on the DAG;
* its keys must be strings;
* a key that is not a documented hyper-parameter is sent as is (the service adds new ones) with a WARNING, which
  asks "did you mean ...?" when the key is close to a documented one (``n_epoch`` for ``n_epochs``).

The documented keys are those of the fine-tune API's parameter tables: text models (SFT, LoRA, DPO, CPT), the Wan
video models and the CosyVoice speech models. Values are not checked: their types differ between the pages (the
examples send ``learning_rate`` as a string).
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from airflow_provider_dashscope.exceptions import DashScopeConfigError

#: Hyper-parameters the API documents for text models.
TEXT_KEYS = frozenset(
    {
        "n_epochs",
        "batch_size",
        "max_length",
        "learning_rate",
        "lr_scheduler_type",
        "split",
        "max_split_val_dataset_sample",
        "eval_steps",
        "logging_steps",
        "warmup_ratio",
        "weight_decay",
        "freeze_vit",
        "lora_rank",
        "lora_alpha",
        "lora_dropout",
        "data_augmentation",
        "augmentation_types",
        "augmentation_ratio",
        "save_strategy",
        "save_steps",
        "save_total_limit",
    }
)
#: Those the video (Wan) and speech (CosyVoice) models add.
MEDIA_KEYS = frozenset(
    {"eval_epochs", "max_pixels"}
    | {f"{stage}_{name}" for stage in ("lm", "fm") for name in ("max_epoch", "step", "num", "batch_size")}
)
DOCUMENTED_KEYS = TEXT_KEYS | MEDIA_KEYS
#: How alike a key must be to a documented one (difflib's ratio) to be asked about.
SIMILARITY = 0.8

TIP = (
    "build the dict in Python (hyper_parameters={'n_epochs': 3}), or, for a Jinja template, set "
    "render_template_as_native_obj=True on the DAG so that the template renders to a dict instead of text"
)


def check_hyper_parameters(value: Any) -> list[str]:
    """Refuse a value that is not a mapping of string keys; return a warning per undocumented key (maybe none)."""
    if value is None:
        return []
    if not isinstance(value, Mapping):
        shown = f"the string {value!r}" if isinstance(value, str) else f"a value of type {type(value).__name__}"
        raise DashScopeConfigError(f"hyper_parameters must be a dict such as {{'n_epochs': 3}}, got {shown}: {TIP}")
    bad = [key for key in value if not isinstance(key, str) or not key]
    if bad:
        raise DashScopeConfigError(f"hyper_parameters keys must be non-empty strings such as 'n_epochs', got {bad!r}")
    return [_unknown_key_warning(key) for key in value if key not in DOCUMENTED_KEYS]


def _unknown_key_warning(key: str) -> str:
    close = difflib.get_close_matches(key.lower(), sorted(DOCUMENTED_KEYS), n=1, cutoff=SIMILARITY)
    guess = f" (did you mean {close[0]!r}?)" if close else ""
    return (
        f"hyper_parameters key {key!r} is not a documented hyper-parameter{guess}; it is sent as is, since the "
        "service adds hyper-parameters over time"
    )
