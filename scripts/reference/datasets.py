"""Small Parquet files in the Hugging Face datasets layout for lantern-data's tests
(crates/lantern-data/tests/data/), written with pyarrow as `datasets` writes them: an `audio`
column as a struct of `bytes` and `path`, a ClassLabel column as int64 with its names in the
schema's `huggingface` metadata, strings, floats and a null. Several row groups (4 rows each)
so that reading a limit touches only the first ones. Run by scripts/reference-datasets.sh
(pinned pyarrow); the files are committed. Deterministic (no timestamps are written)."""

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

OUT = Path(__file__).resolve().parents[2] / "crates/lantern-data/tests/data"

LABELS = ["negative", "positive"]
ROWS = [
    ("I loved every minute of it.", 1, 0.95),
    ("The plot made no sense at all.", 0, 0.10),
    ("A quiet, beautiful film.", 1, 0.80),
    ("Two hours I will not get back.", 0, 0.05),
    ("Sch\u00f6n und traurig zugleich.", 1, 0.70),
    ("Worst sequel ever made.", 0, 0.00),
    ("\u6771\u4eac\u306e\u591c\u306f\u7f8e\u3057\u3044", 1, 0.65),
    ("Meh.", 0, 0.45),
    ("Absolutely wonderful \U0001f642", 1, 1.00),
    ("Not my kind of thing", 0, 0.30),
]


def features() -> dict:
    return {
        "info": {
            "features": {
                "text": {"dtype": "string", "_type": "Value"},
                "label": {"names": LABELS, "_type": "ClassLabel"},
                "score": {"dtype": "float64", "_type": "Value"},
                "audio": {"sampling_rate": 16000, "_type": "Audio"},
            }
        }
    }


def table(rows) -> pa.Table:
    audio_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    schema = pa.schema(
        [
            ("text", pa.string()),
            ("label", pa.int64()),
            ("score", pa.float64()),
            ("audio", audio_type),
        ],
        metadata={"huggingface": json.dumps(features())},
    )
    return pa.table(
        {
            "text": [r[0] for r in rows],
            "label": [r[1] for r in rows],
            "score": [r[2] for r in rows],
            "audio": [{"bytes": bytes([i]) * (i + 1), "path": f"clip-{i}.wav"} for i in range(len(rows))],
        },
        schema=schema,
    )


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    t = table(ROWS)
    pq.write_table(t, OUT / "reviews.parquet", row_group_size=4, compression="snappy")
    # A missing value in the reference column (row 2's text).
    texts = [r[0] for r in ROWS]
    texts[2] = None
    with_null = t.set_column(0, "text", pa.array(texts, pa.string()))
    pq.write_table(with_null, OUT / "with-null.parquet", row_group_size=4, compression="gzip")
    # A codec Lantern does not read (zstd needs C code that does not build for the browser).
    pq.write_table(t, OUT / "zstd.parquet", row_group_size=4, compression="zstd")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
