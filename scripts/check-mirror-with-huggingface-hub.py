#!/usr/bin/env python3
"""Checks that Python's huggingface_hub cannot tell a Lantern mirror from huggingface.co.

Usage: scripts/check-mirror-with-huggingface-hub.py ENDPOINT [MIRROR_DIR]

ENDPOINT is a running mirror (`lantern mirror DIR`, or
`cargo run -p lantern-mirror --example serve -- DIR`) of MIRROR_DIR, by default
target/fixtures/mirror as made by scripts/fixtures.sh. Needs huggingface_hub; verified with
1.33.0 (and 0.36.2):

    python3 -m venv work/venv && work/venv/bin/pip install huggingface_hub==1.33.0
    work/venv/bin/python scripts/check-mirror-with-huggingface-hub.py http://127.0.0.1:PORT

Everything is downloaded into a fresh temporary HF_HUB_CACHE, so no existing cache is used or
touched, and every downloaded file is compared with the file in MIRROR_DIR.
"""

import hashlib
import os
import shutil
import sys
import tempfile
from pathlib import Path

EMBEDDING = "lantern-fixtures/all-MiniLM-L6-v2"
GGUF = "lantern-fixtures/SmolLM2-135M-Instruct-GGUF"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def main() -> int:
    if len(sys.argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    endpoint = sys.argv[1].rstrip("/")
    default_dir = Path(__file__).resolve().parent.parent / "target" / "fixtures" / "mirror"
    mirror = Path(sys.argv[2]) if len(sys.argv) == 3 else default_dir
    cache = tempfile.mkdtemp(prefix="lantern-hf-cache-")

    # huggingface_hub reads these when it is imported.
    os.environ["HF_ENDPOINT"] = endpoint
    os.environ["HF_HUB_CACHE"] = cache
    os.environ["HF_HUB_DISABLE_TELEMETRY"] = "1"
    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"
    for var in ("HF_TOKEN", "HF_HUB_OFFLINE", "HF_HOME"):
        os.environ.pop(var, None)
    try:
        run_checks(endpoint, mirror, Path(cache))
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return 0


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def git_blob_oid(path: Path) -> str:
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def local_files(repo_dir: Path) -> list[str]:
    return sorted(
        p.relative_to(repo_dir).as_posix()
        for p in repo_dir.rglob("*")
        if p.is_file() and not p.is_symlink() and ".git" not in p.relative_to(repo_dir).parts
    )


def expect_error(kind, call, what: str) -> None:
    try:
        call()
    except kind:
        print(f"ok: {what} raises {kind.__name__}")
        return
    raise AssertionError(f"{what}: expected {kind.__name__}")


def run_checks(endpoint: str, mirror: Path, cache: Path) -> None:
    import huggingface_hub
    from huggingface_hub import HfApi, hf_hub_download, snapshot_download
    from huggingface_hub.utils import (
        EntryNotFoundError,
        RepositoryNotFoundError,
        RevisionNotFoundError,
    )

    print(f"huggingface_hub {huggingface_hub.__version__} against {endpoint}")
    api = HfApi(endpoint=endpoint)
    emb_dir = mirror / EMBEDDING

    # Repo info, with and without file metadata.
    info = api.model_info(EMBEDDING, files_metadata=True)
    assert info.sha and len(info.sha) == 40, info.sha
    assert sorted(s.rfilename for s in info.siblings) == local_files(emb_dir)
    for s in info.siblings:
        assert s.size == (emb_dir / s.rfilename).stat().st_size, s
    st = next(s for s in info.siblings if s.rfilename == "model.safetensors")
    assert st.lfs is not None and st.lfs.sha256 == sha256_of(emb_dir / "model.safetensors")
    assert api.repo_info(EMBEDDING, revision=info.sha).sha == info.sha
    print(f"ok: model_info sha={info.sha}, {len(info.siblings)} siblings")

    # Tree: sizes, git blob ids and LFS sha256 against the files themselves.
    entries = list(api.list_repo_tree(EMBEDDING, recursive=True))
    files = {e.path: e for e in entries if e.__class__.__name__ == "RepoFile"}
    folders = [e.path for e in entries if e.__class__.__name__ == "RepoFolder"]
    assert sorted(files) == local_files(emb_dir), sorted(files)
    assert folders == ["1_Pooling"], folders
    for path, e in files.items():
        local = emb_dir / path
        assert e.size == local.stat().st_size, path
        if e.lfs is not None:
            assert e.lfs.sha256 == sha256_of(local), path
            assert e.lfs.size == e.size
        else:
            assert e.blob_id == git_blob_oid(local), path
    assert files["model.safetensors"].lfs is not None
    assert files["config.json"].lfs is None
    top = [e.path for e in api.list_repo_tree(EMBEDDING)]
    assert "1_Pooling/config.json" not in top and "1_Pooling" in top, top
    sub = [e.path for e in api.list_repo_tree(EMBEDDING, path_in_repo="1_Pooling")]
    assert sub == ["1_Pooling/config.json"], sub
    print(f"ok: list_repo_tree, {len(files)} files match sizes, git oids and sha256")

    # Single-file downloads, by branch and by commit.
    for repo, name in [
        (EMBEDDING, "config.json"),
        (EMBEDDING, "1_Pooling/config.json"),
        (EMBEDDING, "model.safetensors"),
        (GGUF, GGUF_FILE),
    ]:
        got = Path(hf_hub_download(repo, name))
        assert sha256_of(got) == sha256_of(mirror / repo / name), (repo, name)
        print(f"ok: hf_hub_download {repo} {name} ({got.stat().st_size} bytes)")
    got = Path(hf_hub_download(EMBEDDING, "config.json", revision=info.sha))
    assert got.read_bytes() == (emb_dir / "config.json").read_bytes()
    assert f"snapshots/{info.sha}/" in got.as_posix(), got
    print("ok: hf_hub_download by commit id")

    # The cache is laid out as after a download from the Hub: blobs named by sha256 (LFS) or by
    # git blob id (git files).
    blobs = cache / "models--lantern-fixtures--all-MiniLM-L6-v2" / "blobs"
    assert (blobs / sha256_of(emb_dir / "model.safetensors")).is_file()
    assert (blobs / git_blob_oid(emb_dir / "config.json")).is_file()
    print("ok: cache blobs named by sha256 / git oid")

    # A whole snapshot.
    snap = Path(snapshot_download(EMBEDDING))
    for name in local_files(emb_dir):
        assert sha256_of(snap / name) == sha256_of(emb_dir / name), name
    print(f"ok: snapshot_download, {len(local_files(emb_dir))} files match")

    # The Hub's error codes become the Hub's exceptions.
    expect_error(
        EntryNotFoundError,
        lambda: hf_hub_download(EMBEDDING, "no-such-file.json"),
        "missing file",
    )
    expect_error(
        RepositoryNotFoundError,
        lambda: hf_hub_download("lantern-fixtures/no-such-repo", "config.json"),
        "missing repo",
    )
    expect_error(
        RevisionNotFoundError,
        lambda: hf_hub_download(EMBEDDING, "config.json", revision="no-such-branch"),
        "missing revision",
    )
    expect_error(
        RevisionNotFoundError,
        lambda: api.model_info(EMBEDDING, revision="refs/pr/1"),
        "missing revision with a slash",
    )
    print("all checks passed")


if __name__ == "__main__":
    sys.exit(main())
