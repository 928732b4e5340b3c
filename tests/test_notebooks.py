"""The notebooks in notebooks/: each runs top to bottom in a fresh kernel, and is committed clean.

Every run works on a temporary copy, in a kernel of this virtual environment, with no
CONVOCORE_* variable set (as in CI), so the notebooks talk to the local demo agent or to
servers they start themselves. Nothing is ever written back into the repository.
"""

from __future__ import annotations

import ast
import html
import json
import os
import re
import shutil
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbformat import NotebookNode

from convowidget import AgentRequest, serve

NOTEBOOKS_DIR = Path(__file__).resolve().parent.parent / "notebooks"
NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))
EXPECTED = {
    "quickstart.ipynb",
    "capture_replies.ipynb",
    "custom_agent.ipynb",
    "real_agent.ipynb",
    "agent_testing.ipynb",
}
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
CELL_TIMEOUT = 120
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"

Runner = Callable[..., NotebookNode]


# ---------------------------------------------------------------------------- running notebooks


@pytest.fixture(scope="module")
def venv_kernel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """A ``python3`` kernelspec running this interpreter, ahead of any other on the machine."""
    folder = tmp_path_factory.mktemp("jupyter")
    spec = folder / "kernels" / "python3"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({**KERNELSPEC, "argv": argv}), encoding="utf-8")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("JUPYTER_PATH", str(folder), prepend=os.pathsep)
        yield


def kernel_env(**settings: str) -> dict[str, str]:
    """This process's environment without any agent settings, plus ``settings``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("CONVOCORE_") and name != "CONVOWIDGET_DEMO_URL"
    }
    return {**env, **settings}


# Appended to every run: after Run All, each panel the notebook made must still answer.
STILL_USABLE = """from convowidget import ChatWidget as _ChatWidget
_panels = [value for value in list(globals().values()) if isinstance(value, _ChatWidget)]
print("USABLE", sorted({panel.ask("are you still there?").status for panel in _panels}))"""


def execute(path: Path, folder: Path, env: dict[str, str], after: tuple[str, ...] = ()) -> NotebookNode:
    """Run a copy of the notebook in ``folder`` (its working directory); errors stay in the outputs.

    ``after`` holds code cells run once the notebook's own cells are done.
    """
    committed = path.read_bytes()
    copy = folder / path.name
    shutil.copyfile(path, copy)
    nb = nbformat.read(copy, as_version=4)
    nb.cells.extend(nbformat.v4.new_code_cell(source) for source in after)
    client = NotebookClient(
        nb,
        timeout=CELL_TIMEOUT,
        kernel_name="python3",
        allow_errors=True,
        resources={"metadata": {"path": str(folder)}},
    )
    client.execute(env=env)
    assert path.read_bytes() == committed, f"running {path.name} changed the committed file"
    return nb


@pytest.fixture(scope="module")
def run(venv_kernel: None, tmp_path_factory: pytest.TempPathFactory) -> Runner:
    """``run(name)``: the notebook executed with no agent configured, once per module."""
    done: dict[str, NotebookNode] = {}

    def run_once(name: str) -> NotebookNode:
        if name not in done:
            folder = tmp_path_factory.mktemp(Path(name).stem)
            done[name] = execute(NOTEBOOKS_DIR / name, folder, kernel_env(), after=(STILL_USABLE,))
        return done[name]

    return run_once


# ---------------------------------------------------------------------------- reading outputs


def output_text(output: NotebookNode) -> str:
    if output.output_type == "stream":
        return str(output.text)
    if output.output_type == "error":
        return f"{output.ename}: {output.evalue}"
    data = output.get("data", {})
    return "\n".join(str(data[kind]) for kind in ("text/plain", "text/markdown") if kind in data)


def cell(nb: NotebookNode, snippet: str) -> NotebookNode:
    """The first code cell whose source contains ``snippet``."""
    for candidate in nb.cells:
        if candidate.cell_type == "code" and snippet in candidate.source:
            return candidate
    raise AssertionError(f"no code cell contains {snippet!r}")


def shown(nb: NotebookNode, snippet: str) -> str:
    """All the text the cell containing ``snippet`` shows."""
    return "\n".join(output_text(output) for output in cell(nb, snippet).outputs)


def panel_markdown(nb: NotebookNode, snippet: str) -> str:
    """The saved transcript under the chat panel the cell displays, as text (what GitHub shows).

    The panel's output is followed by the transcript's copy: plain ``text/html`` outputs
    (a summary line, then pages), kept current with update_display. Returned unescaped,
    so tests read the conversation as a person would.
    """
    outputs = cell(nb, snippet).outputs
    views = [index for index, output in enumerate(outputs) if WIDGET_VIEW in output.get("data", {})]
    assert views, f"the cell with {snippet!r} displays no chat panel"
    after = outputs[views[0] + 1 : views[1] if len(views) > 1 else len(outputs)]
    copies = [output.data["text/html"] for output in after if "text/html" in output.get("data", {})]
    assert copies, f"the chat panel of the cell with {snippet!r} has no saved transcript"
    return html.unescape(re.sub(r"<[^>]+>", " ", "".join(map(str, copies))))


def errors(nb: NotebookNode) -> list[str]:
    return [
        f"cell {index} ({code.source.splitlines()[0]!r}): {output.ename}: {output.evalue}"
        for index, code in enumerate(nb.cells)
        if code.cell_type == "code"
        for output in code.outputs
        if output.output_type == "error"
    ]


def panel_or_reply(nb: NotebookNode) -> list[str]:
    """Every chat panel shown and every reply status printed."""
    return [
        output_text(output)
        for code in nb.cells
        if code.cell_type == "code"
        for output in code.outputs
        if WIDGET_VIEW in output.get("data", {}) or "status:" in output_text(output)
    ]


# ---------------------------------------------------------------------------- every notebook


def test_the_notebooks_are_all_there():
    assert {path.name for path in NOTEBOOKS} >= EXPECTED


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_committed_notebook_is_clean(path: Path):
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec") == KERNELSPEC
    assert "widgets" not in nb.metadata, "saved widget state: clear the outputs before committing"
    dirty = [
        index
        for index, code in enumerate(nb.cells)
        if code.cell_type == "code" and (code.outputs or code.execution_count is not None)
    ]
    assert not dirty, f"{path.name}: cells {dirty} have outputs or execution counts; clear them before committing"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_notebook_runs_top_to_bottom(run: Runner, path: Path):
    nb = run(path.name)
    assert not errors(nb), "\n".join(errors(nb))
    skipped = [i for i, code in enumerate(nb.cells) if code.cell_type == "code" and code.execution_count is None]
    assert not skipped, f"cells {skipped} did not run"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda path: path.stem)
def test_every_panel_is_still_usable_after_run_all(run: Runner, path: Path):
    usable = shown(run(path.name), "are you still there?")
    expected = "USABLE []" if path.name == "real_agent.ipynb" else "USABLE ['complete']"  # no agent: no panel
    assert expected in usable, usable


# ---------------------------------------------------------------------------- what they show


def test_quickstart_talks_to_the_demo_agent(run: Runner):
    nb = run("quickstart.ipynb")
    greeting = [out for out in cell(nb, 'chat.ask("start")').outputs if "text/markdown" in out.get("data", {})]
    assert greeting and "demo agent" in greeting[0].data["text/markdown"]  # rendered markdown, not raw text
    transcript = panel_markdown(nb, "chat = ChatWidget()")
    assert "Local demo agent" in transcript  # the panel says who answers...
    assert "convowidget demo agent" in transcript  # ...and a saved notebook keeps the conversation
    assert "pip install convowidget" in transcript
    last = shown(nb, "chat.last_reply")
    assert "status:  complete" in last and "sources: ['kb/" in last and "inputTokens" in last
    assert "How do I stop a reply?" in panel_markdown(nb, "%%convo")
    assert "'complete'" in shown(nb, "answer.status")


def test_quickstart_shows_one_of_each_web_chat_message(run: Runner):
    nb = run("quickstart.ipynb")
    fields = shown(nb, 'chat.ask("book a demo")')
    assert "('Your name', 'text')" in fields and "('Team size', 'select')" in fields and "'checkbox')" in fields
    assert "Thanks, Ada!" in shown(nb, "chat.submit(values)")
    rich = shown(nb, '"watch the intro"')
    assert "'subscribe': [{'kind': 'input'" in rich and "'submit_on_enter': True" in rich
    assert "'watch the intro': [{'kind': 'iframe', 'layout': 'vertical', 'url': 'https://" in rich
    assert "'save my settings': [{'kind': 'notice', 'level': 'success', 'text': 'Saved!'}]" in rich
    order = shown(nb, "order.tool_calls")
    assert "has shipped" in order and "ToolCall(name='lookup_order', input={'order_id': " in order
    assert "'status': 'shipped'" in order
    assert re.fullmatch(r"\(\d+, \d+, 'convowidget-demo'\)", shown(nb, "order.model").strip())


def test_capture_replies_evaluates_and_exports(run: Runner):
    nb = run("capture_replies.ipynb")
    statuses = ast.literal_eval(shown(nb, "answers = {"))  # {prompt: status}, in the order asked
    assert len(statuses) == 4 and set(statuses.values()) == {"complete"}
    evaluation = shown(nb, "cite sources")
    assert "75% of the replies cite sources" in evaluation
    assert "no sources: ['What is the weather on Mars?']" in evaluation
    assert "(8, True)" in shown(nb, "ask_many(")
    assert ast.literal_eval(shown(nb, "for reply in finished")) == list(statuses)  # on_reply saw each reply
    assert "['conversation.json', 'conversation.md']" in shown(nb, "write_text")


def test_custom_agents_stream_cite_hand_off_and_fail_gracefully(run: Runner):
    nb = run("custom_agent.ipynb")
    assert "You said **Hello again**" in shown(nb, 'echo_chat.ask("Hello again")')
    assert "https://jupyter.org/" in shown(nb, "faq_chat.ask(")
    assert shown(nb, "handoff_chat.ask(").strip() == "True"
    broken = shown(nb, "broken = flaky_chat.ask(")
    assert "status: failed" in broken
    assert "kept:   'Jupyter notebooks mix '" in broken  # the partial text survives the drop
    panel = panel_markdown(nb, "flaky_chat = ChatWidget(")
    assert "Reply failed" in panel and "Jupyter notebooks mix" in panel
    assert "'complete'" in shown(nb, "the fault struck once")
    assert "You said **Bye**" in shown(nb, "with serve(echo) as server:")


def test_agent_testing_runs_a_suite_fails_on_purpose_compares_records_and_replays(run: Runner):
    nb = run("agent_testing.ipynb")

    def result_view(snippet: str) -> tuple[str, str]:
        """The text and the HTML of the SuiteResult a cell shows as its value."""
        (view,) = [out for out in cell(nb, snippet).outputs if "text/html" in out.get("data", {})]
        return str(view.data["text/plain"]), str(view.data["text/html"])

    assert "['greets', 'install, then a human', 'the menu']" in shown(nb, "load_suite(suite_file)")
    plain, page = result_view("result = client.run_suite(suite")
    assert plain.startswith("SuiteResult('demo agent': 3 passed, 0 failed, 100% of runs passed")
    assert 'class="cwr-results"' in page and "<svg" in page and page.count('class="cwr-row cwr-passed"') == 3
    plain, page = result_view("second = client.run_suite(stricter")
    assert plain.startswith("SuiteResult('demo agent': 2 passed, 2 failed, 50% of runs passed")
    assert page.index("cwr-row cwr-failed") < page.index("cwr-row cwr-passed")  # failing first
    assert shown(nb, "for failure in scenario.failures").splitlines() == [
        "install, then a human: turn 1: expected the reply to contain 'conda'",
        "pricing: turn 1: check 'names_a_price' failed: the reply names no price",
    ]
    comparison = shown(nb, "second.compare(result)")
    assert comparison.startswith("Comparison: 1 broken, 0 fixed, 0 still failing, 1 new, 0 removed")
    assert "broken:\n  'install, then a human': turn 1: expected the reply to contain 'conda'" in comparison
    recording = shown(nb, "first = json.loads(lines[0])")
    assert "4 exchanges recorded" in recording and "close:   {'code': 1000, 'reason': ''}" in recording
    assert "'lightConvoData': {'origin': 'web-chat'}" in recording and "agentData" not in recording
    panel = panel_markdown(nb, "chat = ChatWidget(record=")
    assert "convowidget demo agent" in panel and "Pick one" in panel
    plain, _ = result_view("offline = ConvoClient(url=replay.url")
    assert plain.startswith("SuiteResult('demo agent': 3 passed, 0 failed")
    assert "the same replies, word for word: True" in shown(nb, "same_text = ")
    missing = shown(nb, 'ask("Something never recorded")')
    assert "status: failed" in missing
    assert "no recorded reply to 'Something never recorded' to start a conversation" in missing
    cli = shown(nb, "subprocess.run(").splitlines()
    assert cli[0] == "$ convowidget test agent-tests.yaml --replay session.jsonl --junit results.xml"
    assert re.fullmatch(r"3 passed, 0 failed in \d+\.\d s", cli[-2]) and cli[-1] == "exit status 0"


def test_real_agent_without_settings_explains_and_does_not_connect(run: Runner):
    nb = run("real_agent.ipynb")
    assert "CONVOCORE_AGENT_ID   not set" in shown(nb, "NAMES = [")
    assert "will not connect" in shown(nb, "if not configured")
    assert not panel_or_reply(nb), "the notebook tried to talk to an agent with nothing configured"


def test_real_agent_with_settings_connects_and_never_shows_secrets(venv_kernel: None, tmp_path: Path):
    """Point the notebook at a local stand-in for Convocore: it must ask, and leak nothing."""
    requests: list[dict] = []

    def stand_in(request: AgentRequest) -> str:
        requests.append(request.request)
        return "Hello from the stand-in agent."

    secrets = {"CONVOCORE_OWNER_ID": "owner-7f3a9c-do-not-print", "CONVOCORE_TOKEN": "tok-51b2e8-do-not-print"}
    with serve(stand_in, chunk_delay=0) as server:
        env = kernel_env(CONVOCORE_AGENT_ID="agent-42", CONVOCORE_REGION="na", CONVOCORE_URL=server.url, **secrets)
        nb = execute(NOTEBOOKS_DIR / "real_agent.ipynb", tmp_path, env)
    assert not errors(nb), "\n".join(errors(nb))
    assert "CONVOCORE_TOKEN      set" in shown(nb, "NAMES = [")
    assert "Hello from the stand-in agent." in panel_markdown(nb, "chat = ChatWidget(")
    assert "status: complete" in shown(nb, "reply = chat.ask(")
    assert [r["agentId"] for r in requests] == ["agent-42"]
    assert requests[0]["agentData"]["ownerID"] == secrets["CONVOCORE_OWNER_ID"]  # it did use the settings
    saved = nbformat.writes(nb)  # every output and the saved widget state
    for name, value in secrets.items():
        assert value not in saved, f"{name} appears in the executed notebook"
