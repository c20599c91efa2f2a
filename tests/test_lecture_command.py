"""Lecture mode's Voila command line (tutorial_lib.lecture.voila_command), read by Voila's own parser.

What the lecture server gets: idle kernels with no page culled within about a minute, a page being
watched never culled, the XSRF check off so that Voila's own "end my kernel" request on closing a tab
is not refused (403), encrypted kernel connections, no websocket-ping warning; and an option given to
``./run lecture`` replaces the lecture's own instead of making Voila refuse a setting given twice.
The browser test tests/browser/test_browser_kernels.py checks the same server end to end.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tutorial_lib import lecture

voila_app = pytest.importorskip("voila.app", reason="voila is in the lab and test extras")
kernelmanager = pytest.importorskip("jupyter_server.services.kernels.kernelmanager")
jupyter_client_manager = pytest.importorskip("jupyter_client.manager")
zmq = pytest.importorskip("zmq")


CULLED_WITHIN_S = 75  # a kernel left behind ends within this (idle timeout + one check interval)


def _voila(cmd: list[str]):
    """Voila's application with ``cmd``'s options parsed (``cmd`` starts with: python -m voila)."""
    assert cmd[1:3] == ["-m", "voila"], cmd
    voila_app.Voila.clear_instance()
    app = voila_app.Voila()
    app.parse_command_line(cmd[3:])
    return app


def _kernel_managers(cmd: list[str]):
    """The kernel managers Voila would build from ``cmd``: (the mapping one, one kernel's)."""
    config = _voila(cmd).config
    return (kernelmanager.AsyncMappingKernelManager(config=config),
            jupyter_client_manager.KernelManager(config=config))


def _voila_json(cmd: list[str]) -> dict:
    """The settings Voila loads from its config files for ``cmd`` (``Voila.config_file_paths``)."""
    app = _voila(cmd)
    app.load_config_file("voila", path=app.config_file_paths)
    return app.tornado_settings


def test_idle_kernels_without_a_page_are_culled_within_a_minute_and_watched_pages_never():
    mapping, _ = _kernel_managers(lecture.voila_command("lecture"))
    assert 0 < mapping.cull_idle_timeout and 0 < mapping.cull_interval
    assert mapping.cull_idle_timeout + mapping.cull_interval <= CULLED_WITHIN_S
    # a page still loading has no connection for a few seconds after its notebook ran: not culled then
    assert mapping.cull_idle_timeout >= 30
    assert mapping.cull_connected is False, "a page being watched (connected) must never be culled"
    assert mapping.cull_busy is False, "a kernel busy training must not be culled mid-run"


def test_kernels_get_transport_encryption_where_the_kernel_supports_it():
    """No "Kernel is running over TCP without encryption" warning: the kernel manager provisions CurveZMQ
    keys for a kernelspec that declares support ('auto': others start unencrypted, as before)."""

    _, kernel = _kernel_managers(lecture.voila_command("lecture"))
    assert kernel.transport_encryption == "auto"
    assert zmq.has("curve"), "pyzmq without CurveZMQ: 'auto' would make every lecture kernel fail to start"


def test_the_page_can_end_its_kernel_and_no_ping_warning():
    """Voila's page sends its shutdown request without an XSRF token (voila issue #1458): the lecture
    server does not check one; websocket pings off (tornado >= 6.5 warns at jupyter_server's values)."""
    settings = _voila_json(lecture.voila_command("lecture"))
    assert settings.get("disable_check_xsrf") is True
    assert settings.get("ws_ping_interval") == 0 and isinstance(settings["ws_ping_interval"], int)


def test_the_config_folder_holds_only_voila_json():
    """Voila reads voila.json and voila.py from the folder; nothing else there would take effect."""
    folder = Path(lecture.__file__).with_name("lecture_voila")
    assert sorted(p.name for p in folder.iterdir() if p.name != "__pycache__") == ["voila.json"]
    assert set(json.loads((folder / "voila.json").read_text())) == {"Voila"}


@pytest.mark.parametrize("setting, value, read", [
    ("MappingKernelManager.cull_idle_timeout", "5", lambda m, k: m.cull_idle_timeout == 5),
    ("MappingKernelManager.cull_interval", "1", lambda m, k: m.cull_interval == 1),
    ("MappingKernelManager.cull_connected", "True", lambda m, k: m.cull_connected is True),
    ("KernelManager.transport_encryption", "disabled", lambda m, k: k.transport_encryption == "disabled"),
])
def test_an_option_given_to_run_lecture_replaces_the_lectures_own(setting, value, read):
    """Voila refuses a setting given twice ("only accepts one value, got 2") when it starts a kernel:
    an option passed on by `./run lecture` must replace the lecture's, in both spellings."""
    for extra in ([f"--{setting}={value}"], [f"--{setting}", value]):
        cmd = lecture.voila_command("lecture", extra=extra)
        assert sum(arg.startswith(f"--{setting}") for arg in cmd) == 1, cmd
        assert read(*_kernel_managers(cmd)), (setting, value, cmd)


def test_the_command_serves_the_folder_on_the_address_asked():
    cmd = lecture.voila_command("some/folder", port=9001, ip="0.0.0.0", browser=False)
    app = _voila(cmd)
    assert app.extra_args == ["some/folder"]
    assert (app.port, app.ip, app.open_browser) == (9001, "0.0.0.0", False)
    assert app.config.VoilaConfiguration.theme == "light"
    assert _voila(lecture.voila_command("x")).open_browser is True


def test_the_pages_it_serves_are_signed_so_voila_trusts_them(tmp_path, monkeypatch):
    """`./run lecture` and `python -m tutorial_lib.lecture` alike: no "not trusted" warning per page."""
    import nbformat
    from nbformat.sign import NotebookNotary

    monkeypatch.setenv("JUPYTER_DATA_DIR", str(tmp_path / "data"))
    paths = lecture.write_pages(tmp_path / "pages")
    notary = NotebookNotary()
    assert not any(notary.check_signature(nbformat.read(p, as_version=4)) for p in paths)
    lecture.trust_pages(paths)
    notary = NotebookNotary()
    assert all(notary.check_signature(nbformat.read(p, as_version=4)) for p in paths)
