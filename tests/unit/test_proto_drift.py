"""The committed generated modules match the .proto sources (run `make proto` when this fails)."""
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_generated_modules_match_the_proto_sources(tmp_path):
    sources = sorted(p.relative_to(ROOT) for p in (ROOT / "proto" / "v1").glob("*.proto"))
    assert sources, "no .proto sources found"
    subprocess.run([sys.executable, "-m", "grpc_tools.protoc", "-I", ".", f"--python_out={tmp_path}",
                    f"--grpc_python_out={tmp_path}", f"--pyi_out={tmp_path}", *map(str, sources)],
                   cwd=ROOT, check=True)
    generated = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*_pb2*.py*"))
    assert len(generated) == 3 * len(sources)
    drifted = [str(p) for p in generated if (tmp_path / p).read_bytes() != (ROOT / p).read_bytes()]
    assert not drifted, f"generated code differs from the .proto sources (run `make proto`): {drifted}"
