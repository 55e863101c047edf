"""The checks of a local file before an upload: existence, size limits, the JSONL training format (no network)."""

from __future__ import annotations

import hashlib
import json
import pickle
import tracemalloc
from pathlib import Path

import pytest

from airflow_provider_dashscope._checks import training_file as tf
from airflow_provider_dashscope.exceptions import DashScopeConfigError, TrainingFileError

GOOD = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}


def write(tmp_path: Path, text: str | bytes, name: str = "train.jsonl") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return path


def lines(*records) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


def test_a_good_training_file_passes_and_is_measured(tmp_path):
    text = lines(GOOD, GOOD, {"messages": [{"role": "system", "content": "be brief"}, *GOOD["messages"]]})
    path = write(tmp_path, text)
    local = tf.inspect_file(path)
    assert local.size == len(text.encode())
    assert local.md5 == hashlib.md5(text.encode()).hexdigest()
    assert local.records == 3
    assert local.name == "train.jsonl"
    assert local.purpose == "fine-tune"


def test_windows_line_endings_and_a_last_line_without_newline_pass(tmp_path):
    path = write(tmp_path, json.dumps(GOOD) + "\r\n" + json.dumps(GOOD))
    assert tf.inspect_file(path).records == 2


@pytest.mark.parametrize(
    ("content", "line", "problem"),
    [
        (lines(GOOD) + "{not json}\n", 2, r"line 2: is not valid JSON \(Expecting property name .* at column 2 of 10, after '\{', before 'not json\}'\)"),
        (lines(GOOD) + "\n" + lines(GOOD), 2, r"line 2: is blank"),
        (lines(GOOD) + "\n", 2, r"line 2: is blank \(JSONL has no empty lines, not even at the end\)"),
        ("[1, 2]\n", 1, r"line 1: is a JSON array, not an object"),
        ('"text"\n', 1, r"line 1: is a JSON string, not an object"),
        ("42\n", 1, r"line 1: is a JSON number, not an object"),
        ('{"messages": "hi"}\n', 1, r"line 1: 'messages' must be a non-empty list of message objects, got string"),
        ('{"messages": []}\n', 1, r"'messages' must be a non-empty list"),
        ('{"messages": ["hi"]}\n', 1, r"line 1: messages\[0\] is a JSON string, not an object"),
        ('{"messages": [{"content": "hi"}]}\n', 1, r"messages\[0\] has no 'role'"),
        ('{"messages": [{"role": "user"}]}\n', 1, r"messages\[0\] \(role 'user'\) has no 'content'"),
        ('{"messages": [{"role": "user", "content": 5}]}\n', 1, r"has a 'content' that is a JSON number"),
    ],
    ids=["bad-json", "blank-inside", "blank-at-end", "array", "string", "number", "messages-str", "messages-empty",
         "message-str", "no-role", "no-content", "content-number"],
)  # fmt: skip
def test_a_bad_line_fails_naming_the_file_the_line_and_the_problem(tmp_path, content, line, problem):
    path = write(tmp_path, content)
    with pytest.raises(TrainingFileError, match=problem) as info:
        tf.inspect_file(path)
    error = info.value
    assert isinstance(error, DashScopeConfigError) and isinstance(error, ValueError)
    assert error.line_number == line
    assert str(error).startswith(f"training file {path}, line {line}: ")
    assert '{"messages": [{"role": "user"' in str(error)  # the format, as a hint
    assert pickle.loads(pickle.dumps(error)).line_number == line


def test_not_utf8_and_a_byte_order_mark_are_named(tmp_path):
    with pytest.raises(TrainingFileError, match=r"line 2: is not UTF-8 text \(byte 0xff at position 14 of the line\)"):
        tf.inspect_file(write(tmp_path, lines(GOOD).encode() + b'{"messages": \xff}\n'))
    with pytest.raises(TrainingFileError, match=r"line 1: starts with a UTF-8 byte order mark"):
        tf.inspect_file(write(tmp_path, b"\xef\xbb\xbf" + lines(GOOD).encode()))


def test_tool_calls_need_no_content_and_chat_styles_mix(tmp_path):
    path = write(
        tmp_path,
        lines(
            GOOD,
            {"messages": [{"role": "user", "content": [{"type": "text", "text": "hi"}]},
                          {"role": "assistant", "tool_calls": [{"id": "1"}]},
                          {"role": "tool", "content": None},
                          {"role": "assistant", "content": "done"}]},
        ),
    )  # fmt: skip
    assert tf.inspect_file(path).records == 2


def test_other_formats_pass_when_every_line_is_of_the_first_lines_format(tmp_path):
    assert tf.inspect_file(write(tmp_path, lines({"text": "a"}, {"text": "b"}), "cpt.jsonl")).records == 2
    preference = {"messages": [{"role": "user", "content": "q"}], "chosen": {"role": "assistant", "content": "a"},
                  "rejected": {"role": "assistant", "content": "b"}}  # fmt: skip
    assert tf.inspect_file(write(tmp_path, lines(preference, preference), "dpo.jsonl")).records == 2


PROMPT = {"prompt": "What is Airflow?", "completion": "A workflow scheduler."}


@pytest.mark.parametrize(
    ("records", "line", "expected"),
    [
        ((GOOD, GOOD, PROMPT), 3, "line 3: is of the prompt/completion (prompt, completion) format, but line 1 is of "
         "the chat (messages) format; the first line decides the file's format and every line must be of it"),
        ((PROMPT, GOOD), 2, "line 2: is of the chat (messages) format, but line 1 is of the prompt/completion "
         "(prompt, completion) format"),
        (({"text": "a"}, GOOD), 2, "line 2: is of the chat (messages) format, but line 1 is of the text (text) format"),
    ],
    ids=["chat-then-prompt", "prompt-then-chat", "text-then-chat"],
)  # fmt: skip
def test_a_line_of_another_format_names_the_line_and_both_formats(tmp_path, records, line, expected):
    with pytest.raises(TrainingFileError) as info:
        tf.inspect_file(write(tmp_path, lines(*records)))
    assert expected in str(info.value)
    assert info.value.line_number == line


ENDS_WITH_USER = {"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"},
                               {"role": "user", "content": "and?"}]}  # fmt: skip
NO_USER = {"messages": [{"role": "system", "content": "be brief"}, {"role": "assistant", "content": "hello"}]}


def test_a_chat_sample_needs_a_user_turn_and_ends_with_the_assistant_unless_turned_off(tmp_path):
    path = write(tmp_path, lines(GOOD, ENDS_WITH_USER))
    with pytest.raises(TrainingFileError) as info:
        tf.inspect_file(path)
    assert "line 2: the chat sample ends with a 'user' turn, not an 'assistant' one" in str(info.value)
    assert "check_chat_turns=False turns this check off" in str(info.value)
    with pytest.raises(TrainingFileError, match=r"line 1: the chat sample has no 'user' turn \(roles: system, "):
        tf.inspect_file(write(tmp_path, lines(NO_USER), "no_user.jsonl"))
    assert tf.inspect_file(path, check_chat_turns=False).records == 2
    assert tf.inspect_file(write(tmp_path, lines(NO_USER), "n.jsonl"), check_chat_turns=False).records == 1


def test_a_json_error_gives_the_column_within_its_line_and_the_text_around_it(tmp_path):
    broken = json.dumps(GOOD)[:-1]  # the closing brace is missing, at the end of the line
    assert len(broken) > 90
    with pytest.raises(TrainingFileError) as info:
        tf.inspect_file(write(tmp_path, lines(GOOD) + broken + "\n" + lines(GOOD)))
    text = str(info.value)
    assert f"line 2: is not valid JSON (Expecting ',' delimiter at column {len(broken) + 1} of {len(broken)}, " in text
    assert "after '…" + broken[-24:] + "')" in text
    with pytest.raises(TrainingFileError) as info:
        tf.inspect_file(write(tmp_path, '{"messages": [{"role" "user"}]}\n', "mid.jsonl"))
    assert (
        """(Expecting ':' delimiter at column 23 of 31, after '{"messages": [{"role" ', before '"user"}]}')"""
        in str(info.value)
    )


def test_a_missing_file_a_directory_and_an_empty_file_are_refused(tmp_path):
    with pytest.raises(TrainingFileError, match=r"file .*nope\.jsonl does not exist; check the path"):
        tf.inspect_file(tmp_path / "nope.jsonl")
    with pytest.raises(TrainingFileError, match=r"is not a regular file"):
        tf.inspect_file(tmp_path)
    with pytest.raises(TrainingFileError, match=r"file .*empty\.jsonl is empty; there is nothing to upload"):
        tf.inspect_file(write(tmp_path, "", "empty.jsonl"))


def test_a_file_over_the_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    path = write(tmp_path, lines(GOOD) * 10)
    monkeypatch.setitem(tf.MAX_FILE_BYTES, "fine-tune", 100)
    opened = []
    monkeypatch.setattr(tf, "open", lambda *args, **kwargs: opened.append(args), raising=False)
    with pytest.raises(TrainingFileError) as info:
        tf.inspect_file(path)
    assert f"file {path} is {path.stat().st_size} bytes" in str(info.value)
    assert "over the 100 bytes (0.0 MiB) limit of the upload API for purpose 'fine-tune'" in str(info.value)
    assert opened == []


def test_the_documented_limits_are_constants_users_can_read():
    assert tf.MAX_FINE_TUNE_FILE_BYTES == 300 * 1024 * 1024
    assert tf.MAX_FILE_BYTES == {"fine-tune": 300 * 2**20, "file-extract": 150 * 2**20, "batch": 500 * 2**20}


def test_other_purposes_skip_the_jsonl_check_but_keep_their_limit(tmp_path, monkeypatch):
    path = write(tmp_path, "plain text, not JSON\n", "notes.txt")
    local = tf.inspect_file(path, purpose="file-extract")
    assert (local.records, local.purpose, local.size) == (None, "file-extract", 21)
    monkeypatch.setitem(tf.MAX_FILE_BYTES, "batch", 10)
    with pytest.raises(TrainingFileError, match=r"limit of the upload API for purpose 'batch'"):
        tf.inspect_file(path, purpose="batch")
    with pytest.raises(DashScopeConfigError, match=r"purpose must be one of 'fine-tune', 'file-extract', 'batch'"):
        tf.inspect_file(path, purpose="fine_tune")


def test_a_line_longer_than_the_limit_is_refused_without_being_read_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(tf, "MAX_LINE_BYTES", 1000)
    path = write(tmp_path, lines(GOOD) + '{"text": "' + "x" * 5000 + '"}\n')
    with pytest.raises(TrainingFileError, match=r"line 2: is longer than 1000 bytes"):
        tf.inspect_file(path)


def test_a_large_file_is_checked_line_by_line_in_little_memory(tmp_path):
    record = (json.dumps(GOOD) + "\n").encode()
    path = tmp_path / "big.jsonl"
    with open(path, "wb") as out:
        for _ in range(64):
            out.write(record * 2000)  # about 11 MB in all
    size = path.stat().st_size
    tracemalloc.start()
    try:
        local = tf.inspect_file(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert local.size == size and local.records == 64 * 2000
    assert peak < size / 10, f"peak {peak} bytes for a {size}-byte file"


def test_messages_name_the_uri_a_local_copy_was_made_from(tmp_path):
    path = write(tmp_path, "[]\n", "copy.jsonl")
    with pytest.raises(TrainingFileError, match=r"^training file s3://bucket/train\.jsonl, line 1: ") as info:
        tf.inspect_file(path, shown_as="s3://bucket/train.jsonl", name="train.jsonl")
    assert info.value.path == "s3://bucket/train.jsonl"
    assert tf.inspect_file(write(tmp_path, lines(GOOD), "copy2.jsonl"), name="train.jsonl").name == "train.jsonl"
