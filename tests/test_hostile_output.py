"""The output folder is safe: nothing is lost, an error leaves OUT/ as it was.

Covers: foreign files never touched, foreign or edited files in the way
refused without --force (and nothing written), files tinygen wrote earlier and
no longer writes removed (edited ones kept), failures injected at every step of
the commit rolled back exactly, a hostile tinygen.json unable to make tinygen
touch anything outside OUT/, and no temporary folders left behind.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

import codegen.emit.writer as writer
from codegen import cli
from codegen.errors import OutputDirError
from codegen.generate import generate
from tests.hostile_models import fc_model


def snapshot(root: Path) -> dict[str, object]:
    """Everything under root: files by content, folders, symlinks by target."""
    out: dict[str, object] = {}
    if not root.exists():
        return out
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            p = Path(dirpath) / d
            out[str(p.relative_to(root))] = ("link", os.readlink(p)) if p.is_symlink() else "dir"
        for f in filenames:
            p = Path(dirpath) / f
            rel = str(p.relative_to(root))
            out[rel] = ("link", os.readlink(p)) if p.is_symlink() else p.read_bytes()
    return out


@pytest.fixture
def model(tmp_path) -> Path:
    p = tmp_path / "net.tflite"
    p.write_bytes(fc_model())
    return p


def no_temp_left(parent: Path) -> bool:
    return not [p for p in parent.iterdir() if ".tinygen-" in p.name]


def test_fresh_and_repeated_generation(model, tmp_path):
    out = tmp_path / "a" / "b" / "out"
    generate(model, out)
    first = snapshot(out)
    man = json.loads((out / "tinygen.json").read_text())
    assert set(man["files"]) | {"tinygen.json"} == set(first)
    generate(model, out)
    assert snapshot(out) == first
    assert no_temp_left(out.parent)


def test_foreign_files_are_never_touched(model, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "main.c").write_text("int main(void) { return 0; }\n")
    (out / "sub").mkdir()
    (out / "sub" / "notes.txt").write_text("mine")
    generate(model, out)
    generate(model, out, name="other")   # every generated file changes name
    assert (out / "main.c").read_text() == "int main(void) { return 0; }\n"
    assert (out / "sub" / "notes.txt").read_text() == "mine"


@pytest.mark.parametrize("victim", ["README.md", "net.c", "tinygen.json", "tg_common.h"])
def test_foreign_file_in_the_way_is_refused(victim, model, tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / victim).write_text("precious user file\n")
    before = snapshot(out)
    with pytest.raises(OutputDirError, match="--force") as info:
        generate(model, out)
    assert victim in str(info.value) and "did not write" in str(info.value)
    assert snapshot(out) == before and no_temp_left(tmp_path)
    # the CLI says the same in one error, exit status 2
    assert cli.main([str(model), "-o", str(out), "-q"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("tinygen: error:") and "--force" in err
    # --force overwrites deliberately
    generate(model, out, force=True)
    assert (out / victim).read_text() != "precious user file\n"


def test_folder_in_the_way_is_refused(model, tmp_path):
    out = tmp_path / "out"
    (out / "net.c").mkdir(parents=True)
    (out / "net.c" / "keep.txt").write_text("x")
    before = snapshot(out)
    with pytest.raises(OutputDirError, match="a folder tinygen did not write"):
        generate(model, out)
    assert snapshot(out) == before


def test_edited_generated_file_is_refused_without_force(model, tmp_path):
    out = tmp_path / "out"
    generate(model, out)
    with open(out / "net.c", "a") as f:
        f.write("/* my tweak */\n")
    before = snapshot(out)
    with pytest.raises(OutputDirError, match=r"net\.c \(changed since tinygen wrote it\)"):
        generate(model, out)
    assert snapshot(out) == before
    generate(model, out, force=True)
    assert "my tweak" not in (out / "net.c").read_text()


def test_files_no_longer_written_are_removed(model, tmp_path):
    out = tmp_path / "out"
    generate(model, out, name="first")
    assert (out / "first.c").exists()
    (out / "user.txt").write_text("mine")
    generate(model, out, name="second")
    names = set(snapshot(out))
    assert "first.c" not in names and "first.h" not in names and "first_data.c" not in names
    assert {"second.c", "second.h", "user.txt", "tinygen.json"} <= names
    man = json.loads((out / "tinygen.json").read_text())
    assert all(not k.startswith("first") for k in man["files"])


def test_edited_file_no_longer_written_is_kept_with_a_note(model, tmp_path):
    out = tmp_path / "out"
    generate(model, out, name="first")
    with open(out / "first.c", "a") as f:
        f.write("/* edited */\n")
    gen = generate(model, out, name="second")
    assert "edited" in (out / "first.c").read_text()
    assert any("first.c" in w and "kept" in w for w in gen.program.warnings)
    assert not (out / "first.h").exists()


def test_output_is_a_file(model, tmp_path):
    out = tmp_path / "out"
    out.write_text("not a folder")
    with pytest.raises(OutputDirError, match="not a folder"):
        generate(model, out)
    assert out.read_text() == "not a folder"


def _count_moves(monkeypatch, model, out) -> int:
    calls = []
    real = writer._move
    monkeypatch.setattr(writer, "_move", lambda a, b: (calls.append(1), real(a, b)))
    generate(model, out, name="second", force=True)
    monkeypatch.setattr(writer, "_move", real)
    return len(calls)


@pytest.mark.parametrize("exc", [OSError(28, "No space left on device"), KeyboardInterrupt,
                                 RuntimeError("injected")])
def test_failure_at_every_step_leaves_out_as_it_was(exc, model, tmp_path, monkeypatch):
    """Fail the k-th file move of a re-generation that replaces, adds and removes files."""
    base = tmp_path / "base"
    generate(model, base, name="first")
    (base / "user.txt").write_text("mine")
    probe = tmp_path / "probe"
    generate(model, probe, name="first")
    n_moves = _count_moves(monkeypatch, model, probe)
    assert n_moves > 5
    real = writer._move
    steps = range(n_moves) if isinstance(exc, OSError) else sorted({0, n_moves // 2, n_moves - 1})
    for k in steps:
        out = tmp_path / f"out{k}"
        generate(model, out, name="first")
        (out / "user.txt").write_text("mine")
        before = snapshot(out)
        count = [0]

        def failing(a, b, k=k):
            count[0] += 1
            if count[0] == k + 1:   # fail once, at the k-th move
                raise exc
            return real(a, b)

        monkeypatch.setattr(writer, "_move", failing)
        expected = OutputDirError if isinstance(exc, OSError) else type(exc) \
            if isinstance(exc, BaseException) else exc
        with pytest.raises(expected):
            generate(model, out, name="second")
        monkeypatch.setattr(writer, "_move", real)
        assert snapshot(out) == before, f"move {k}"
        assert no_temp_left(tmp_path)


def test_failure_on_a_fresh_folder_leaves_nothing(model, tmp_path, monkeypatch):
    out = tmp_path / "new" / "deeper" / "out"
    real = writer._move
    count = [0]

    def failing(a, b):
        count[0] += 1
        if count[0] == 3:
            raise OSError(5, "Input/output error")
        return real(a, b)

    monkeypatch.setattr(writer, "_move", failing)
    with pytest.raises(OutputDirError, match="nothing was changed"):
        generate(model, out)
    assert not (tmp_path / "new").exists()


def test_failure_before_writing_leaves_out_as_it_was(model, tmp_path, monkeypatch):
    """An error while rendering (after the model was read) writes nothing."""
    import codegen.generate as gen_mod

    out = tmp_path / "out"
    generate(model, out)
    before = snapshot(out)

    def broken(*a, **k):
        raise OutputDirError("injected failure while rendering")

    monkeypatch.setattr(gen_mod, "render_library", broken)
    with pytest.raises(OutputDirError):
        generate(model, out, name="other")
    assert snapshot(out) == before


def test_staging_failure(model, tmp_path, monkeypatch):
    out = tmp_path / "out"
    generate(model, out)
    before = snapshot(out)

    def no_tmp(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(writer.tempfile, "mkdtemp", no_tmp)
    with pytest.raises(OutputDirError, match="Permission denied"):
        generate(model, out, name="other")
    assert snapshot(out) == before


@pytest.mark.parametrize("evil", ["../victim.txt", "/ABS/victim.txt", "sub/../../victim.txt",
                                  "./../victim.txt", "..\\victim.txt", ""])
def test_hostile_manifest_cannot_reach_outside(evil, model, tmp_path):
    """A tinygen.json edited to list files outside OUT/ (with their true digests)."""
    import hashlib

    victim = tmp_path / "victim.txt"
    victim.write_text("do not delete me")
    out = tmp_path / "out"
    generate(model, out)
    man = json.loads((out / "tinygen.json").read_text())
    digest = hashlib.sha256(victim.read_bytes()).hexdigest()
    man["files"][evil.replace("/ABS", str(tmp_path))] = digest
    (out / "tinygen.json").write_text(json.dumps(man))
    generate(model, out, name="other")
    assert victim.read_text() == "do not delete me"


def test_corrupt_manifest_is_foreign(model, tmp_path):
    out = tmp_path / "out"
    generate(model, out)
    (out / "tinygen.json").write_text("{ not json")
    with pytest.raises(OutputDirError, match="tinygen.json"):
        generate(model, out)
    generate(model, out, force=True)
    json.loads((out / "tinygen.json").read_text())


def test_symlink_in_the_way(model, tmp_path):
    target = tmp_path / "elsewhere.c"
    target.write_text("/* user's */\n")
    out = tmp_path / "out"
    out.mkdir()
    (out / "net.c").symlink_to(target)
    with pytest.raises(OutputDirError):
        generate(model, out)
    generate(model, out, force=True)
    assert not (out / "net.c").is_symlink()
    assert target.read_text() == "/* user's */\n"


def test_recorded_file_replaced_by_symlink_is_not_followed(model, tmp_path):
    """A generated file the user replaced by a link is not 'unchanged': never deleted
    through, never overwritten without --force."""
    target = tmp_path / "keep.c"
    out = tmp_path / "out"
    generate(model, out)
    target.write_bytes((out / "net.c").read_bytes())   # same content as recorded
    (out / "net.c").unlink()
    (out / "net.c").symlink_to(target)
    with pytest.raises(OutputDirError):
        generate(model, out)
    generate(model, out, name="other")   # net.c no longer written: kept, link intact
    assert (out / "net.c").is_symlink() and target.exists()


def test_failed_rollback_keeps_the_backups(model, tmp_path, monkeypatch):
    """If even restoring fails (the disk died), the replaced files are kept and named."""
    out = tmp_path / "out"
    generate(model, out, name="first")
    before = snapshot(out)
    real = writer._move
    count = [0]

    def dying(a, b):
        count[0] += 1
        if count[0] >= 4:
            raise OSError(5, "Input/output error")
        return real(a, b)

    monkeypatch.setattr(writer, "_move", dying)
    with pytest.raises(OutputDirError, match="so did restoring") as info:
        generate(model, out, name="second")
    monkeypatch.setattr(writer, "_move", real)
    backup = Path(str(info.value).split("the replaced files are in ")[1].split(":")[0])
    # nothing is lost: every original file is in OUT or in the named backup folder
    for rel, content in before.items():
        here = out / rel
        saved = backup / rel
        assert (here.exists() and here.read_bytes() == content) or \
            (saved.exists() and saved.read_bytes() == content), rel


@pytest.mark.parametrize("content", [b"[" * 100000, b"\xff\xfe\x00garbage", b"null",
                                     b'{"tool": "tinygen", "files": [1, 2]}',
                                     b'{"tool": "tinygen", "files": {"net.c": 5}}'])
def test_malformed_manifests(content, model, tmp_path):
    out = tmp_path / "out"
    generate(model, out)
    (out / "tinygen.json").write_bytes(content)
    try:
        generate(model, out)
    except OutputDirError as e:
        assert "tinygen.json" in str(e) or "net.c" in str(e)
    generate(model, out, force=True)
    json.loads((out / "tinygen.json").read_text())


def test_verify_keep_respects_foreign_files(model, tmp_path, capsys):
    """`tinygen verify --keep DIR` writes DIR as safely as generation does."""
    keep = tmp_path / "keep"
    keep.mkdir()
    (keep / "net.c").write_text("user's own net.c\n")
    assert cli.main(["verify", str(model), "--count", "1", "--keep", str(keep)]) == 2
    assert "--force" in capsys.readouterr().err
    assert (keep / "net.c").read_text() == "user's own net.c\n"
    assert cli.main(["verify", str(model), "--count", "1", "--keep", str(keep), "--force"]) == 0
    assert "BIT-EXACT" in capsys.readouterr().out
