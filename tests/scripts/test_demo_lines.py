"""``make demo`` prints the DAG's log lines whole: long ids shortened in their middle, long lines wrapped between
words, never a word cut (the lines come from a real upload through the hook to the emulator)."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest

from airflow_provider_dashscope.hooks.dashscope import DashScopeHook

DEMO = Path(__file__).resolve().parents[2] / "scripts" / "demo.py"
RECORD = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'


@pytest.fixture(scope="module")
def demo():
    spec = importlib.util.spec_from_file_location("demo_script", DEMO)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def words_kept(original: str, printed: list[str]) -> None:
    """Every printed word is a word of the line, or a shortened one whose two ends are those of a word."""
    words = original.split()
    for word in " ".join(printed).split():
        if word in words:
            continue
        head, ellipsis, tail = word.partition("…")
        assert ellipsis, f"{word!r} is not a word of {original!r}"
        assert any(w.startswith(head) and w.endswith(tail) and len(w) > len(word) for w in words), word


@pytest.mark.parametrize("width", [160, 100, 60])
def test_the_upload_line_is_never_cut_mid_word(emu, tmp_path, log_lines, demo, width) -> None:
    path = tmp_path / "airflow_faq_sft_with_a_rather_long_name_for_the_demo.jsonl"
    path.write_text(RECORD * 20)
    uploaded = DashScopeHook().upload_file(path)
    line = next(text for text in log_lines.lines("info") if text.startswith("Uploaded "))
    assert len(line) > 160  # the line the demo used to cut at 160 characters

    printed = demo.fit(line, width)

    assert all(len(text) <= width or " " not in text.strip() for text in printed), printed
    words_kept(line, printed)
    shown = " ".join(printed)
    assert re.search(rf"as file {re.escape(uploaded.file_id[:8])}\S*{re.escape(uploaded.file_id[-8:])} ", shown)
    assert shown.rstrip().endswith(")")  # the end of the line is there


def test_a_short_id_is_kept_whole_and_a_key_name_too(demo) -> None:
    assert demo.fit("Submitted fine-tune job ft-202612062130-1c7f (name train)") == [
        "  Submitted fine-tune job ft-202612062130-1c7f (name train)"
    ]
    assert demo.shorten_token("request_id=7a2b1c3d-4e5f-6789-abcd-ef0123456789") == "request_id=7a2b1c3d…23456789"


def test_short_ids_stay_whole_and_long_ones_keep_both_ends(demo) -> None:
    assert demo.shorten_token("file-ft-b2c4") == "file-ft-b2c4"
    assert demo.shorten_token("0123456789abcdef0123456789abcdef", 6) == "012345…abcdef"


def test_names_stay_whole_and_a_line_that_fits_is_unchanged(demo) -> None:
    serving = (
        "SERVING deployed_model=qwen3-14b-ft-202612070536-0f8d model_name=qwen3-14b-ft-202612070536-0f8d "
        "base_model=qwen3-14b status=RUNNING capacity=1"
    )
    printed = demo.fit(serving, 80)
    assert " ".join(printed).split() == serving.split()  # wrapped between words, nothing shortened
    assert all(len(text) <= 80 for text in printed)
    assert demo.fit("Fine-tune job ft-202612070536-0f8d: PENDING -> RUNNING after 1 s") == [
        "  Fine-tune job ft-202612070536-0f8d: PENDING -> RUNNING after 1 s"
    ]
