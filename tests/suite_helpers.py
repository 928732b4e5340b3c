"""What the agent-testing tests share: a hostile reply, suite files on disk, quiet runs."""

from __future__ import annotations

from convowidget.runner import run_suite

HOSTILE = '<script>window.__pwned = 1</script><img src=x onerror="window.__pwned = 2"> ]]> &amp; \x00\x1b\x7f end'


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def quiet(client, suite, **options):
    """``run_suite`` with no progress bar."""
    return run_suite(client, suite, progress=False, **options)


def interrupts(reply):
    """A check function that raises KeyboardInterrupt: it must fail only its own turn."""
    raise KeyboardInterrupt
