"""Personal data never reaches a cassette, in any form an agent could echo it in, however split.

An agent that repeats the caller's owner id, user id, token, name, e-mail or phone may cut
it across streamed chunks, send it in a binary frame, escape it (``\\u0040``), change its
case, percent-encode or base64 it. Each case is recorded and the cassette is read back the
ways a reader would: its bytes, each frame, each JSON string, the chunks joined, binary
frames decoded. The secret must show in none of them, in none of those forms, while the
cassette still replays with the same frames and chunk indexes.
"""

from __future__ import annotations

import base64
import json
import os
import re
import urllib.parse
from collections.abc import Callable, Iterator

import pytest
from conftest import SECRETS
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from convowidget import ConvoClient, serve
from convowidget.cassette import Cassette, Close, Recorder
from convowidget.forms import form_submission
from convowidget.protocol import build_interact
from convowidget.turns import turn_blocks

PERSONAL = {**SECRETS, "user_name": "Ada Lovelace-Secret"}
PERSON = {key: value for key, value in PERSONAL.items() if key != "token"}  # the token is a header


def escaped_in_text(secret: str) -> str:
    """Every character as JSON writes it escaped (a pair of halves beyond U+FFFF)."""
    return "".join(json.dumps(char)[1:-1] if ord(char) > 0xFFFF else f"\\u{ord(char):04x}" for char in secret)


# How an agent may write the secret in the text it streams.
ENCODINGS: dict[str, Callable[[str], str]] = {
    "as is": lambda s: s,
    "upper-cased": str.upper,
    "lower-cased": str.lower,
    "\\u escapes in the text": escaped_in_text,
    "\\U escapes, upper hex": lambda s: escaped_in_text(s).upper().replace("\\U", "\\u"),
    "one character escaped": lambda s: s[:2] + escaped_in_text(s[2]).upper().replace("\\U", "\\u") + s[3:],
    "percent-encoded": lambda s: urllib.parse.quote(s, safe=""),
    "percent-encoded, lower hex": lambda s: urllib.parse.quote(s, safe="").lower(),
    "every byte percent-encoded": lambda s: "".join(f"%{b:02X}" for b in s.encode()),
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "url-safe base64 inside a longer one": lambda s: base64.urlsafe_b64encode(b"~" + s.encode() + b"?!").decode(),
    "base64 inside a longer one": lambda s: base64.b64encode(b"xy" + s.encode() + b"z").decode(),
}


def chunk(text: str, index: int, style: str) -> str | bytes:
    """One chunk frame: plain JSON, JSON escaping every non-ASCII character, or UTF-8 bytes."""
    frame = json.dumps({"type": "chunk", "chunk": text, "chunkIndex": index}, ensure_ascii=style == "ascii")
    return frame.encode() if style == "bytes" else frame


def forms(secret: str, encoded: str) -> Iterator[tuple[str, bool]]:
    """Forms of the secret to look for as text, each with whether case matters."""
    yield secret, False
    yield encoded, True
    yield escaped_in_text(secret), False
    yield urllib.parse.quote(secret, safe=""), False
    yield "".join(f"%{b:02x}" for b in secret.encode()), False


BASE64_RUN = re.compile(r"[A-Za-z0-9+/_-]{4,}")


def base64_decodings(text: str) -> Iterator[bytes]:
    """What each run of base64 letters in ``text`` decodes to, read from each of its first four letters."""
    for run in BASE64_RUN.findall(text):
        standard = run.replace("-", "+").replace("_", "/")
        for start in range(4):
            usable = standard[start:][: (len(standard) - start) // 4 * 4]
            yield base64.b64decode(usable)


def json_strings(value) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from json_strings(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield key
            yield from json_strings(item)


def readings(path) -> Iterator[str]:
    """Everything a reader of the cassette could look at, decoded every way it decodes."""
    yield path.read_bytes().decode("utf-8")
    for line in path.read_text(encoding="utf-8").split("\n")[:-1]:
        yield from json_strings(json.loads(line))
    for exchange in Cassette.load(path).exchanges:
        joined = []
        for _, frame in exchange.frames:
            if isinstance(frame, bytes):
                yield frame.decode("latin-1")
                continue
            try:
                data = json.loads(frame)
            except ValueError:
                continue
            yield from json_strings(data)
            if isinstance(data, dict) and data.get("type") == "chunk":
                joined.append(data["chunk"])
        yield "".join(joined)


def found_in(path, secret: str, encoded: str) -> list[tuple[str, str]]:
    """Each form of the secret found in what a reader of the cassette sees, and where."""
    texts = list(readings(path))
    found = [
        (form, text[:300])
        for form, case_matters in forms(secret, encoded)
        for text in texts
        if (form in text if case_matters else form.lower() in text.lower())
    ]
    data = secret.encode()
    found += [("base64", text[:300]) for text in texts if any(data in blob for blob in base64_decodings(text))]
    return found


def assert_nowhere(path, secret: str, encoded: str) -> None:
    assert found_in(path, secret, encoded) == [], secret


def record(path, frames: list[str | bytes], secret: str | None = None) -> None:
    request = build_interact(agent_id="a", convo_id="c", prompt="hi", **PERSON)
    extra = (PERSONAL["token"], secret) if secret else (PERSONAL["token"],)
    Recorder(path).record(request, [(0.01 * i, f) for i, f in enumerate(frames)], Close(1000), secrets=extra)


def assert_still_replays(path, pieces: list[str]) -> None:
    """Same number of frames, each still a chunk with its index; the words around the secret kept."""
    (exchange,) = Cassette.load(path).exchanges[-1:]
    events = [json.loads(frame) for _, frame in exchange.frames]
    assert [(e["type"], e["chunkIndex"]) for e in events] == [("chunk", i) for i in range(len(pieces))]
    text = "".join(e["chunk"] for e in events)
    assert text.startswith(pieces[0][:3]) and text.endswith(pieces[-1][-4:]) and "[redacted]" in text


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("field", PERSONAL)
def test_a_secret_cut_in_two_at_every_position_never_reaches_the_cassette(tmp_path, field, encoding):
    secret = PERSONAL[field]
    encoded = ENCODINGS[encoding](secret)
    message = f"hi {encoded} bye"
    path = tmp_path / "cut.jsonl"
    for cut in range(3, 4 + len(encoded)):  # from just before the secret to just after it
        pieces = [message[:cut], message[cut:]]
        record(path, [chunk(piece, i, ("text", "ascii", "bytes")[cut % 3]) for i, piece in enumerate(pieces)])
        assert_still_replays(path, pieces)
    assert_nowhere(path, secret, encoded)


# «» mark the ends of the message; no secret holds them (nor brackets, which [redacted] has)
SECRET_TEXT = st.text(st.characters(codec="utf-8", exclude_characters="[]«»"), min_size=6, max_size=24)


@settings(
    max_examples=int(os.environ.get("CONVOWIDGET_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    secret=st.one_of(st.sampled_from(sorted(PERSONAL.values())), SECRET_TEXT),
    encoding=st.sampled_from(sorted(ENCODINGS)),
    around=st.tuples(st.text(max_size=12), st.text(max_size=12)),
    cuts=st.lists(st.integers(min_value=0, max_value=200), min_size=1, max_size=2),
    style=st.sampled_from(["text", "ascii", "bytes"]),
)
def test_a_secret_cut_in_two_or_three_anywhere_in_any_form_never_reaches_the_cassette(
    tmp_path, secret, encoding, around, cuts, style
):
    assume(secret.strip() == secret and secret.lower() not in "[redacted]")
    encoded = ENCODINGS[encoding](secret)
    # A secret the cassette's own words or the text around it already spell is no test.
    baseline = tmp_path / "baseline.jsonl"
    record(baseline, [chunk(f"«« {around[0]}{around[1]} »»»", 0, style)])
    assume(not found_in(baseline, secret, encoded))
    baseline.unlink()
    message = f"«« {around[0]}{encoded}{around[1]} »»»"
    points = sorted({3 + len(around[0]) + cut % (len(encoded) + 1) for cut in cuts})
    pieces = [message[a:b] for a, b in zip([0, *points], [*points, len(message)], strict=True)]
    path = tmp_path / "cut.jsonl"
    record(path, [chunk(piece, i, style) for i, piece in enumerate(pieces)], secret)
    assert_nowhere(path, secret, encoded)
    assert_still_replays(path, pieces)
    path.unlink()


@pytest.mark.parametrize("field", PERSONAL)
def test_a_binary_frame_holding_a_secret_stays_binary_without_it(tmp_path, field):
    secret = PERSONAL[field]
    payload = b"\xff\xfe" + secret.encode() + b"\x00" + secret.upper().encode() + base64.b64encode(secret.encode())
    path = tmp_path / "binary.jsonl"
    record(path, [payload, chunk("hi there bye", 0, "text")])
    (exchange,) = Cassette.load(path).exchanges
    frame = exchange.frames[0][1]
    assert isinstance(frame, bytes) and frame.startswith(b"\xff\xfe[redacted]\x00[redacted]")
    assert_nowhere(path, secret, secret)


def test_personal_data_in_the_prompt_or_request_is_blanked_and_still_replays(tmp_path):
    email = PERSONAL["user_email"]
    path = tmp_path / "prompt.jsonl"
    extra = {"turnsHistory": [{"from": "human", "messages": [{"item": {"payload": {"message": f"I am {email}"}}}]}]}
    with serve(lambda request: f"Noted, {request.prompt.upper()}", chunk_delay=0) as server:
        client = ConvoClient(url=server.url, agent_id="demo", record=path, **PERSONAL)
        recorded = client.ask(f"write to {email} please", extra=extra)
    assert recorded.status == "complete" and email.upper() in recorded.text  # the client itself sees it
    assert_nowhere(path, email, email)
    (line,) = map(json.loads, path.read_text(encoding="utf-8").splitlines())
    assert line["prompt"] == "write to [redacted] please"
    with serve(replay=path, pace=0) as server:  # the same caller asking the same thing is answered
        again = ConvoClient(url=server.url, agent_id="demo", **PERSONAL).ask(f"write to {email} please")
    assert (again.status, again.text) == ("complete", "Noted, WRITE TO [redacted] PLEASE")


def test_a_real_exchange_with_secrets_split_by_the_agent_replays_as_recorded(tmp_path):
    def echo_in_pieces(request):
        light, owner = request.request["lightConvoData"], request.request["agentData"]["ownerID"]
        text = f"Hello {light['userName']}, mail {light['userEmail']}, call {light['userPhone']}, account {owner}."
        for start in range(0, len(text), 4):  # every secret is cut somewhere
            yield text[start : start + 4]

    path = tmp_path / "session.jsonl"
    with serve(echo_in_pieces, chunk_delay=0) as server:
        original = ConvoClient(url=server.url, agent_id="demo", record=path, **PERSONAL).ask("hi")
    for value in PERSONAL.values():
        assert_nowhere(path, value, value)
    with serve(replay=path, pace=0) as server:
        copy = ConvoClient(url=server.url, agent_id="demo").ask("hi")
    assert copy.status == "complete" and len(copy.chunks) == len(original.chunks)
    assert copy.text == "Hello [redacted], mail [redacted], call [redacted], account [redacted]."


def test_a_submitted_password_is_blanked_from_the_request_and_every_frame_that_echoes_it(tmp_path):
    password = "hunter2-Secret!"
    fields = [
        {"id": "name", "type": "text", "label": "Your name"},
        {"id": "pw", "type": "password", "label": "Password", "required": True},
    ]
    payload = {"fields": fields, "onSubmit": {"type": "submit_form"}}
    (form,) = turn_blocks({"messages": [{"mid": "m-1", "item": {"type": "form", "payload": payload}}]})
    submission = form_submission(form, {"name": "Ann", "pw": password})

    def echo_in_pieces(request):
        items = request.request["formSubmissionMetadata"]["submittedData"]
        text = " and ".join(f"{item['label']} is {item['value']}" for item in items)
        for start in range(0, len(text), 3):  # the password is cut somewhere
            yield text[start : start + 3]

    path = tmp_path / "session.jsonl"
    with serve(echo_in_pieces, chunk_delay=0) as server:
        reply = ConvoClient(url=server.url, agent_id="demo", record=path).ask(submission.prompt, **submission.extra)
    assert password in reply.text  # the agent did get it: a form is for sending it
    assert password not in submission.prompt
    assert_nowhere(path, password, password)
    (exchange,) = Cassette.load(path).exchanges
    items = exchange.request["formSubmissionMetadata"]["submittedData"]
    assert [item["value"] for item in items] == ["Ann", None]
