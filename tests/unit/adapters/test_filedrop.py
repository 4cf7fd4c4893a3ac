"""File-drop adapter: daily JSONL + CSV files, replaced atomically, each healed on redelivery.

That a redelivered item (or a correction) is stored once is the agency-handler contract,
``tests/contract/test_agency_handler.py``."""

from __future__ import annotations

import csv
import json
import os
import threading
from datetime import datetime, timezone

import pytest

from adapters import filedrop
from adapters.common import SinkUnavailable
from adapters.filedrop import CSV_COLUMNS, FileDropAdapter
from hub.domain.outcomes import Completed
from hub.domain.routing import WorkItem
from tests.builders import items


def _on_day(item: WorkItem, moment: datetime) -> WorkItem:
    return item.model_copy(update={"requested_at": moment})


def _jsonl(path) -> list[WorkItem]:
    return [WorkItem.model_validate_json(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _csv(path) -> list[dict]:
    with path.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def _leftovers(folder) -> list[str]:
    return [p.name for p in folder.iterdir() if p.name.endswith(".tmp")]


def test_files_are_named_by_department_and_china_day(tmp_path):
    # 17:30 UTC on 21 November is already 22 November in China.
    item = _on_day(items(1)[0], datetime(2026, 11, 21, 17, 30, tzinfo=timezone.utc))
    result = FileDropAdapter(tmp_path)(item)
    folder = tmp_path / item.department.value
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "2026-11-22.csv", "2026-11-22.jsonl"]
    assert result == Completed(reference=f"file:{item.department.value}/2026-11-22:{item.item_id}")


def test_jsonl_and_csv_parse_back(tmp_path):
    deliver = FileDropAdapter(tmp_path)
    day = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
    sent = [_on_day(i, day) for i in items(3)]
    for item in sent:
        deliver(item)
    jsonl, csv_path = deliver.paths_for(sent[0])
    assert _jsonl(jsonl) == sent
    rows = _csv(csv_path)
    assert tuple(rows[0]) == CSV_COLUMNS
    assert csv_path.read_bytes().count(b"\r\n") == 4  # header + 3 rows, RFC 4180 line ends
    for row, item in zip(rows, sent, strict=True):
        dumped = item.model_dump(mode="json")
        assert {c: row[c] for c in CSV_COLUMNS[:-1]} == {c: dumped[c] or "" for c in CSV_COLUMNS[:-1]}
        assert json.loads(row["data"]) == item.data


def test_lost_csv_is_rewritten_without_duplicating_jsonl(tmp_path):
    deliver = FileDropAdapter(tmp_path)
    item = items(1)[0]
    deliver(item)
    jsonl, csv_path = deliver.paths_for(item)
    csv_path.unlink()  # as if the writer crashed between the two files
    deliver(item)
    assert len(_jsonl(jsonl)) == 1 and [r["item_id"] for r in _csv(csv_path)] == [item.item_id]


def test_failed_replace_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    deliver = FileDropAdapter(tmp_path)
    first, second = items(2)
    second = _on_day(second, first.requested_at)
    deliver(first)
    jsonl, _ = deliver.paths_for(first)
    before = jsonl.read_bytes()

    def crash(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(filedrop.os, "replace", crash)
    with pytest.raises(SinkUnavailable, match="disk full"):
        deliver(second)
    assert jsonl.read_bytes() == before and _leftovers(jsonl.parent) == []


def test_reader_never_sees_a_partial_file(tmp_path):
    deliver = FileDropAdapter(tmp_path)
    day = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
    sent = [_on_day(i, day) for i in items(40)]
    jsonl, csv_path = deliver.paths_for(sent[0])
    done, seen, problems = threading.Event(), [], []

    def read_while_writing() -> None:
        while not done.is_set():
            for path, parse in ((jsonl, _jsonl), (csv_path, _csv)):
                try:
                    seen.append(len(parse(path)))
                except FileNotFoundError:
                    pass
                except Exception as exc:  # a torn line would fail to parse
                    problems.append(repr(exc))

    reader = threading.Thread(target=read_while_writing)
    reader.start()
    try:
        for item in sent:
            deliver(item)
    finally:
        done.set()
        reader.join()
    assert problems == [] and seen and max(seen) <= len(sent)
    assert [i.item_id for i in _jsonl(jsonl)] == [i.item_id for i in sent]
    assert len(_csv(csv_path)) == len(sent) and _leftovers(jsonl.parent) == []


def test_hand_edited_file_that_no_longer_parses_is_not_overwritten(tmp_path):
    deliver = FileDropAdapter(tmp_path)
    item = items(1)[0]
    jsonl, _ = deliver.paths_for(item)
    jsonl.parent.mkdir(parents=True)
    jsonl.write_text("not json\n", encoding="utf-8")
    with pytest.raises(SinkUnavailable):
        deliver(item)
    assert jsonl.read_text(encoding="utf-8") == "not json\n"


def test_concurrent_writers_in_one_directory_lose_nothing(tmp_path):
    day = datetime(2026, 11, 22, 3, 0, tzinfo=timezone.utc)
    sent = [_on_day(i, day) for i in items(20)]
    writers = [threading.Thread(target=lambda part=part: [FileDropAdapter(tmp_path)(i) for i in part])
               for part in (sent[0::2], sent[1::2], sent)]  # the third redelivers everything
    for w in writers:
        w.start()
    for w in writers:
        w.join()
    jsonl, csv_path = FileDropAdapter(tmp_path).paths_for(sent[0])
    assert sorted(i.item_id for i in _jsonl(jsonl)) == sorted(i.item_id for i in sent)
    assert len(_csv(csv_path)) == len(sent)
    assert os.path.exists(jsonl.parent / ".lock")
