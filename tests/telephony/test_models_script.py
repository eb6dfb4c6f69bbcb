"""`make models` (scripts/models.sh) against a local HTTP server standing in for the model host.

The archive is built in the test with a Kaldi model's layout; the download, size check, CRC
test, hash pinning and unpacking are the script's real code paths.
"""

from __future__ import annotations

import functools
import http.server
import os
import subprocess
import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from telephony.asr import ModelMissing, resolve_model_path

ROOT = Path(__file__).resolve().parents[2]
NAME = "vosk-model-test-0.1"


@pytest.fixture()
def model_host(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    served = tmp_path / "served"
    served.mkdir()
    with zipfile.ZipFile(served / f"{NAME}.zip", "w", zipfile.ZIP_STORED) as z:
        z.writestr(f"{NAME}/am/final.mdl", os.urandom(11 * 1024 * 1024))  # past the 10 MB plausibility floor
        z.writestr(f"{NAME}/conf/mfcc.conf", "--sample-frequency=16000\n")
        z.writestr(f"{NAME}/graph/phones.txt", "<eps> 0\n")
    (served / "error.zip").write_text("<html>404</html>")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", served
    server.shutdown()
    server.server_close()


def models_sh(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["bash", str(ROOT / "scripts" / "models.sh")], capture_output=True, text=True, timeout=120,
        env={**os.environ, "MODELS_DIR": str(tmp_path / "models"), **env},
    )


def test_downloads_verifies_and_unpacks(tmp_path: Path, model_host: tuple[str, Path]) -> None:
    url, _ = model_host
    first = models_sh(tmp_path, MODEL=NAME, VOSK_MODELS_URL=url)
    assert first.returncode == 0, first.stderr
    target = tmp_path / "models" / NAME
    assert (target / "am" / "final.mdl").stat().st_size == 11 * 1024 * 1024
    assert resolve_model_path(str(target)) == target
    recorded = (tmp_path / "models" / f"{NAME}.sha256").read_text().split()[0]
    assert len(recorded) == 64
    again = models_sh(tmp_path, MODEL=NAME, VOSK_MODELS_URL=url)
    assert again.returncode == 0 and "already installed" in again.stdout


def test_rejects_a_wrong_hash_and_an_error_page(tmp_path: Path, model_host: tuple[str, Path]) -> None:
    url, served = model_host
    wrong = models_sh(tmp_path, MODEL=NAME, VOSK_MODELS_URL=url, MODEL_SHA256="0" * 64)
    assert wrong.returncode == 1 and "sha256 mismatch" in wrong.stderr
    (served / f"{NAME}.zip").write_text("<html>moved</html>")
    page = models_sh(tmp_path, MODEL=NAME, VOSK_MODELS_URL=url)
    assert page.returncode == 1 and "not the model" in page.stderr
    assert not (tmp_path / "models" / NAME).exists()


def test_clear_error_without_network(tmp_path: Path) -> None:
    result = models_sh(tmp_path, VOSK_MODELS_URL="http://127.0.0.1:9/vosk/models")
    assert result.returncode == 1
    assert "could not download" in result.stderr and "MODEL_ZIP=" in result.stderr
    assert "vosk-model-small-cn-0.22" in result.stderr  # the default is the small Chinese model


def test_gateway_names_the_command_when_no_model(tmp_path: Path) -> None:
    with pytest.raises(ModelMissing, match="make models"):
        resolve_model_path(str(tmp_path / "nothing"))
