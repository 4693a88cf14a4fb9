"""The environment: lock files and the installed versions."""

from __future__ import annotations


def test_lock_pins_apply_markers_and_compare_public_versions(tmp_path, monkeypatch):
    from coursework.runtime import env

    lock = tmp_path / "lock.txt"
    lock.write_text(
        "numpy==1.0 ; sys_platform == 'no-such-os'\n"
        "    # via keras\n"
        "jinja2==0.1\n"
        "no-such-package-here==1.0\n"
        f"pandas=={__import__('pandas').__version__}+cpu\n"
    )
    pins = env.locked(lock)
    assert "numpy" not in pins and pins["jinja2"] == "0.1"
    diff = env.differences(pins)
    assert set(diff) == {"jinja2", "no-such-package-here"}  # pandas: +cpu is a local label
    assert diff["no-such-package-here"]["installed"] is None
    line = env.lock_differences({"file": "locks/x.txt", "matches": False, "differences": diff})
    assert line.startswith("2 differ:") and "no-such-package-here missing" in line
