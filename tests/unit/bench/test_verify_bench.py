"""The verify benchmark's report: rates, CPU per record and the ratio to the raw read."""

from __future__ import annotations

from bench.verify_bench import render


def test_the_report_names_cpu_per_record_beside_the_rates():
    text = render({"raw_read": {"records": 100_008, "seconds": 2.4, "records_per_s": 41_670,
                                "cpu_us_per_record": 16.2},
                   "verify": {"ok": True, "records": 100_008, "seconds": 4.0, "records_per_s": 25_002,
                              "cpu_us_per_record": 36.9, "ratio_to_raw_read": 0.6}})
    assert "100,008 records in 2.4 s (41,670/s; CPU 16.2 µs/record)" in text
    assert "(25,002/s; CPU 36.9 µs/record) — 0.6x the raw read; ok=True" in text
