"""DashScopeUploadFileOperator against a scripted API on 127.0.0.1: local paths, file:// and other ObjectStoragePath
URIs, the checks before any byte, and reusing an earlier try's upload."""

from __future__ import annotations

import hashlib
import re

import pytest

from airflow_provider_dashscope.exceptions import DashScopeConfigError, TrainingFileError
from airflow_provider_dashscope.operators.files import DashScopeUploadFileOperator
from tests._servers import Reply
from tests._waiting import FakeTI, make_context

RECORD = '{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]}\n'
CONTENT = (RECORD * 2).encode()
MD5 = hashlib.md5(CONTENT).hexdigest()
TAG = re.compile(r"\[airflow:[0-9a-f]{12}\]")


def uploaded(file_id: str = "FILE-NEW", name: str = "train.jsonl") -> Reply:
    return Reply(200, {"request_id": "req-up", "data": {"uploaded_files": [{"file_id": file_id, "name": name}]}})


def listing(*files: dict) -> Reply:
    return Reply(200, {"request_id": "req-ls", "data": {"total": len(files), "page_no": 1, "page_size": 100,
                                                        "files": list(files)}})  # fmt: skip


@pytest.fixture
def api(scripted_server, dashscope_conn):
    dashscope_conn("dashscope_default", host=scripted_server.url, max_retries=1, retry_base_delay=0.01)
    return scripted_server


@pytest.fixture
def train_file(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_bytes(CONTENT)
    return path


def upload_op(path, **kwargs) -> DashScopeUploadFileOperator:
    kwargs.setdefault("task_id", "upload")
    return DashScopeUploadFileOperator(path=path, **kwargs)


def sent_description(request) -> str | None:
    match = re.search(rb'name="descriptions"\r\n\r\n(.*?)\r\n--', request.body, re.S)
    return match.group(1).decode() if match else None


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"path": ""}, r"path is empty; give the file to upload"),
        ({"path": 42}, r"path must be a local path, a URI .* got int"),
        ({"path": None}, r"path must be a local path"),
        ({"path": "t.jsonl", "purpose": "training"}, r"purpose must be one of 'fine-tune', 'file-extract', 'batch'"),
        ({"path": "t.jsonl", "description": ["x"]}, r"description must be a string or None, got list"),
    ],
)
def test_bad_arguments_fail_at_parse(kwargs, expected):
    with pytest.raises(DashScopeConfigError, match=expected):
        DashScopeUploadFileOperator(task_id="upload", **kwargs)


def test_a_path_from_an_upstream_task_is_accepted_at_parse(api, train_file):
    from airflow.providers.common.compat.sdk import DAG, task

    with DAG(dag_id="upload_from_upstream", schedule=None):

        @task
        def prepare() -> str:
            return str(train_file)

        op = upload_op(prepare())
    assert op.path is not None  # an XComArg, resolved at run time


def test_upload_returns_the_file_id_and_tags_the_description_with_the_task_instance(api, train_file):
    api.script("POST", "/files", uploaded())
    ti = FakeTI(task_id="upload")
    file_id = upload_op(str(train_file), description="SFT v1").execute(make_context(ti))
    assert file_id == "FILE-NEW"
    (sent,) = api.requests
    description = sent_description(sent)
    assert description.startswith("SFT v1 [airflow:") and TAG.search(description)
    assert CONTENT in sent.body
    # The same task instance gets the same tag on every try; another run gets another.
    again = upload_op(str(train_file))
    api.script("POST", "/files", uploaded())
    again.execute(make_context(FakeTI(task_id="upload")))
    other_run = FakeTI(task_id="upload", run_id="manual__2026-12-01T00:00:00+00:00")
    again.execute(make_context(other_run))
    tags = [TAG.search(sent_description(r)).group() for r in api.requests]
    assert tags[0] == tags[1] != tags[2]


def test_a_bad_file_fails_before_any_request(api, tmp_path):
    bad = tmp_path / "train.jsonl"
    bad.write_text(RECORD + "not json\n")
    with pytest.raises(TrainingFileError, match=r"train\.jsonl, line 2: is not valid JSON"):
        upload_op(str(bad)).execute(make_context())
    with pytest.raises(TrainingFileError, match=r"does not exist"):
        upload_op(str(tmp_path / "nope.jsonl")).execute(make_context())
    assert api.count() == 0


def test_a_file_of_mixed_formats_fails_before_any_request_and_the_turn_rule_can_be_turned_off(api, tmp_path):
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text(RECORD + '{"prompt": "What is Airflow?", "completion": "A scheduler."}\n')
    with pytest.raises(TrainingFileError, match=r"mixed\.jsonl, line 2: is of the prompt/completion .* but line 1 "):
        upload_op(str(mixed)).execute(make_context())
    open_ended = tmp_path / "open.jsonl"
    open_ended.write_text(RECORD + '{"messages": [{"role": "user", "content": "hi"}]}\n')
    with pytest.raises(TrainingFileError, match=r"line 2: the chat sample ends with a 'user' turn"):
        upload_op(str(open_ended)).execute(make_context())
    assert api.count() == 0
    api.script("POST", "/files", uploaded(name="open.jsonl"))
    assert upload_op(str(open_ended), check_chat_turns=False).execute(make_context()) == "FILE-NEW"


def test_a_templated_path_renders_from_params(api, train_file):
    api.script("POST", "/files", uploaded())
    op = upload_op("{{ params.training_file }}")
    ctx = make_context(params={"training_file": str(train_file)})
    op.render_template_fields(ctx)
    assert op.execute(ctx) == "FILE-NEW"
    assert set(DashScopeUploadFileOperator.template_fields) == {"path", "description", "dashscope_conn_id"}


def test_a_file_uri_works_out_of_the_box(api, train_file):
    api.script("POST", "/files", uploaded())
    assert upload_op(train_file.as_uri()).execute(make_context()) == "FILE-NEW"
    assert b'filename="train.jsonl"' in api.requests[0].body and CONTENT in api.requests[0].body


@pytest.fixture
def memory_store():
    """A ``memory://`` filesystem attached to ObjectStoragePath, standing in for s3:// and the like."""
    import fsspec

    try:
        from airflow.sdk.io import attach
    except ImportError:  # Airflow 2
        from airflow.io.store import attach
    fs = fsspec.filesystem("memory")
    attach("memory", fs=fs)
    yield fs
    fs.store.clear()


def test_a_remote_object_storage_uri_is_copied_then_checked_and_uploaded_under_its_own_name(api, memory_store):
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    remote = ObjectStoragePath("memory://bucket/datasets/sft.jsonl")
    with remote.open("wb") as out:
        out.write(CONTENT)
    api.script("POST", "/files", uploaded(name="sft.jsonl"))
    assert upload_op("memory://bucket/datasets/sft.jsonl").execute(make_context()) == "FILE-NEW"
    assert b'filename="sft.jsonl"' in api.requests[0].body and CONTENT in api.requests[0].body
    assert upload_op(remote).execute(make_context()) == "FILE-NEW"  # an ObjectStoragePath object too


def test_a_bad_remote_file_is_named_by_its_uri(api, memory_store):
    from airflow.providers.common.compat.sdk import ObjectStoragePath

    with ObjectStoragePath("memory://bucket/bad.jsonl").open("wb") as out:
        out.write(b"[1]\n")
    with pytest.raises(TrainingFileError, match=r"^training file memory://bucket/bad\.jsonl, line 1: is a JSON array"):
        upload_op("memory://bucket/bad.jsonl").execute(make_context())
    with pytest.raises(TrainingFileError, match=r"file memory://bucket/missing\.jsonl does not exist"):
        upload_op("memory://bucket/missing.jsonl").execute(make_context())
    assert api.count() == 0


# ------------------------------------------------------------------------------------------------------------------
# A retry of the task
# ------------------------------------------------------------------------------------------------------------------
def earlier_upload(tag: str, **fields) -> dict:
    return {"file_id": "FILE-EARLIER", "name": "train.jsonl", "size": len(CONTENT), "md5": MD5,
            "description": f"SFT v1 {tag}", "gmt_create": "2026-11-25 10:00:00", **fields}  # fmt: skip


def first_try_tag(api, train_file) -> str:
    api.script("POST", "/files", uploaded("FILE-FIRST"))
    upload_op(str(train_file), description="SFT v1").execute(make_context(FakeTI(task_id="upload")))
    return TAG.search(sent_description(api.requests[-1])).group()


def test_a_retry_reuses_the_file_the_earlier_try_uploaded(api, train_file):
    tag = first_try_tag(api, train_file)
    api.script(
        "GET", "/files", listing({**earlier_upload(tag), "file_id": "OTHER", "md5": "0" * 32}, earlier_upload(tag))
    )
    file_id = upload_op(str(train_file), description="SFT v1").execute(
        make_context(FakeTI(task_id="upload", try_number=2))
    )
    assert file_id == "FILE-EARLIER"
    assert api.count("POST", "/files") == 1  # only the first try's


@pytest.mark.parametrize(
    "change",
    [{"md5": "f" * 32}, {"size": 1}, {"name": "other.jsonl"}, {"description": "SFT v1 [airflow:000000000000]"}],
    ids=["other-content", "other-size", "other-name", "another-task-instance"],
)
def test_a_retry_uploads_again_unless_name_size_md5_and_tag_all_match(api, train_file, change):
    tag = first_try_tag(api, train_file)
    api.script("GET", "/files", listing(earlier_upload(tag, **change)))
    file_id = upload_op(str(train_file), description="SFT v1").execute(
        make_context(FakeTI(task_id="upload", try_number=2))
    )
    assert file_id == "FILE-FIRST"  # the scripted answer to the second POST
    assert api.count("POST", "/files") == 2


def test_without_reuse_the_description_is_left_alone_and_nothing_is_looked_up(api, train_file):
    api.script("POST", "/files", uploaded())
    op = upload_op(str(train_file), description="SFT v1", reuse_on_retry=False)
    op.execute(make_context(FakeTI(try_number=3)))
    assert sent_description(api.requests[0]) == "SFT v1"
    assert api.count("GET") == 0


def test_the_first_try_never_lists_files(api, train_file):
    api.script("POST", "/files", uploaded())
    upload_op(str(train_file)).execute(make_context(FakeTI(try_number=1)))
    assert api.count("GET") == 0
