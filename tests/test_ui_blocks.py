"""Blocks for every ui_engine message type of the reference client's ``ui-engine-spec.ts``.

Payloads are the spec's own examples where it has them; hostile ones check that the
agent's words stay text, that nothing but an https address becomes an iFrame, and that a
password never reaches a block.
"""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from convowidget.protocol import ChunkEvent
from convowidget.reply import ReplyBuilder
from convowidget.turns import turn_blocks, turn_text
from convowidget.ui import FIELD_TYPES, MAX_FIELDS

SPEC_TYPES = ("text", "choice", "visual", "cardV2", "carousel", "iFrame", "form", "input")


def message(kind: str, payload: object, mid: str | None = None) -> dict:
    found = {"from": "bot", "type": kind, "ts": 1, "item": {"type": kind, "payload": payload}}
    return {**found, "mid": mid} if mid else found


def blocks(*messages: dict) -> list[dict]:
    return turn_blocks({"from": "bot", "messages": list(messages)})


def one(kind: str, payload: object, mid: str | None = None) -> dict:
    [block] = blocks(message(kind, payload, mid))
    return block


CONTACT_FORM = {  # the spec's multiFieldForm example
    "title": "Contact Information",
    "description": "Please provide your details so we can assist you better.",
    "fields": [
        {"id": "full_name", "type": "text", "label": "Full Name", "placeholder": "Enter your full name",
         "required": True},
        {"id": "email", "type": "email", "label": "Email Address", "placeholder": "Enter your email", "required": True},
        {"id": "phone", "type": "tel", "label": "Phone Number", "placeholder": "Enter your phone number"},
        {"id": "inquiry_type", "type": "select", "label": "Type of Inquiry", "required": True, "options": [
            {"value": "support", "label": "Technical Support"}, {"value": "sales", "label": "Sales Question"},
            {"value": "general", "label": "General Inquiry"}]},
        {"id": "message", "type": "textarea", "label": "Your Message", "placeholder": "Tell us how we can help you",
         "required": True, "validation": {"minLength": 10, "errorMessage": "Please provide at least 10 characters"}},
    ],
    "submitButton": {"label": "Send Message", "style": "primary"},
    "onSubmit": {"type": "submit_form", "message": "Thank you for contacting us!"},
}  # fmt: skip


def field(id_: str, kind: str, label: str, **more: object) -> dict:
    base = {"id": id_, "type": kind, "label": label, "placeholder": "", "required": False, "default": None,
            "error_message": "", "options": [], "validation": {}, "secret": kind == "password"}  # fmt: skip
    return {**base, **more}


def test_the_specs_form_example_becomes_a_form_block():
    assert one("form", CONTACT_FORM, mid="m-1") == {
        "kind": "form",
        "mid": "m-1",
        "title": "Contact Information",
        "description": "Please provide your details so we can assist you better.",
        "fields": [
            field("full_name", "text", "Full Name", placeholder="Enter your full name", required=True),
            field("email", "email", "Email Address", placeholder="Enter your email", required=True),
            field("phone", "tel", "Phone Number", placeholder="Enter your phone number"),
            field("inquiry_type", "select", "Type of Inquiry", required=True, options=[
                {"value": "support", "label": "Technical Support"}, {"value": "sales", "label": "Sales Question"},
                {"value": "general", "label": "General Inquiry"}]),
            field("message", "textarea", "Your Message", placeholder="Tell us how we can help you", required=True,
                  error_message="Please provide at least 10 characters", validation={"minLength": 10}),
        ],
        "fields_omitted": 0,
        "submit": {"label": "Send Message", "style": "primary"},
        "submitted": False,
        "values": {},
    }  # fmt: skip


def test_every_spec_field_type_is_kept_and_anything_else_is_text():
    raw = [{"id": f"f{n}", "type": kind, "label": kind} for n, kind in enumerate(FIELD_TYPES)]
    raw[7]["options"] = raw[9]["options"] = [{"value": "a", "label": "A"}]  # select, radio
    raw.append({"id": "odd", "type": "color", "label": "Odd"})
    form = one("form", {"fields": raw})
    assert [f["type"] for f in form["fields"]] == [*FIELD_TYPES, "text"]
    assert len(FIELD_TYPES) == 14 and "file" in FIELD_TYPES  # a file field is kept: the front end explains


def test_fields_and_forms_are_dropped_as_the_service_drops_them():
    good = {"id": "name", "type": "text", "label": "Name"}
    raw = [
        good,
        {"type": "text", "label": "No id"},
        {"id": "no_label", "type": "text"},
        {"id": "blank", "type": "text", "label": "  "},
        {"id": "s1", "type": "select", "label": "No options"},
        {"id": "s2", "type": "select", "label": "Empty", "options": []},
        {"id": "s3", "type": "radio", "label": "Dup",
         "options": [{"value": "a", "label": "A"}, {"value": "a", "label": "B"}]},
        {"id": "s4", "type": "radio", "label": "Unlabelled", "options": [{"value": "a", "label": "A"}, {"value": "b"}]},
        {"id": "name", "type": "email", "label": "Same id again"},
        "junk",
    ]  # fmt: skip
    form = one("form", {"fields": raw})
    assert [f["id"] for f in form["fields"]] == ["name"]
    assert blocks(message("form", {"fields": raw[1:8]}), message("input", {"field": {"id": "x"}})) == []
    assert blocks(message("form", {"title": "No fields"}), message("input", {})) == []


def test_submit_button_defaults_and_submitted_state():
    form = one("form", {"fields": CONTACT_FORM["fields"], "submitButton": {"style": "<b>"}})
    assert form["submit"] == {"label": "Submit", "style": "primary"}
    submitted = one("form", {
        "fields": [*CONTACT_FORM["fields"][:2], {"id": "pw", "type": "password", "label": "Password"}],
        "isSubmitted": True,
        "submittedData": [
            {"index": 0, "label": "Full Name", "value": "Ann", "field_id": "full_name", "field_type": "text"},
            {"index": 1, "label": "Email Address", "value": "ann@example.org", "field_type": "email"},  # by index
            {"index": 2, "label": "Password", "value": "hunter2", "field_id": "pw", "field_type": "password"},
            {"index": 9, "label": "Stray", "value": "x", "field_id": "nowhere"},
        ],
    })  # fmt: skip
    assert submitted["submitted"] is True
    assert submitted["values"] == {"full_name": "Ann", "email": "ann@example.org", "pw": None}
    assert "hunter2" not in json.dumps(submitted)


def test_a_password_never_reaches_a_block():
    secret = "correct horse battery staple"
    pw = {"id": "pw", "type": "password", "label": "Password", "defaultValue": secret}
    form = one("form", {"fields": [pw], "submittedData": [{"index": 0, "value": secret}]})
    assert form["fields"][0]["secret"] is True and form["fields"][0]["default"] is None
    assert form["values"] == {"pw": None} and form["submitted"] is True
    typed_as_text = one("form", {
        "fields": [{"id": "t", "type": "text", "label": "T"}],
        "submittedData": [{"field_id": "t", "value": secret, "field_type": "password"}],
    })  # fmt: skip
    assert typed_as_text["values"] == {"t": None}
    entry = one("input", {"field": pw, "submittedValue": secret, "isSubmitted": True})
    assert entry["value"] is None and entry["submitted"] is True
    for block in (form, typed_as_text, entry):
        assert secret not in json.dumps(block)
    assert secret not in turn_text({"messages": [message("input", {"field": pw, "submittedValue": secret})]})


def test_input_block_follows_the_spec():
    email = {"id": "user_email", "type": "email", "label": "Email Address", "required": True,
             "placeholder": "Enter your email address",
             "validation": {"errorMessage": "Please enter a valid email"}}  # fmt: skip
    assert one("input", {"field": email, "onSubmit": {"type": "submit_input"}}, mid="m-2") == {
        "kind": "input",
        "mid": "m-2",
        "field": field("user_email", "email", "Email Address", required=True, placeholder="Enter your email address",
                       error_message="Please enter a valid email"),
        "submit_on_enter": True,
        "submitted": False,
        "value": None,
    }  # fmt: skip
    assert one("input", {"field": email, "submitOnEnter": False})["submit_on_enter"] is False
    done = one("input", {"field": email, "submittedValue": "ann@example.org"})
    assert done["submitted"] is True and done["value"] == "ann@example.org"
    box = {"id": "ok", "type": "checkbox", "label": "I agree", "defaultValue": True}
    assert one("input", {"field": box})["field"]["default"] is True


def test_validation_keeps_only_what_fits_the_type():
    raw = [
        {"id": "t", "type": "text", "label": "T", "validation": {"minLength": 2, "maxLength": 5.0, "pattern": "[a-z]+",
                                                                   "min": 1, "errorMessage": "Lower case"}},
        {"id": "n", "type": "number", "label": "N", "validation": {"min": 1, "max": 9.5, "minLength": 3}},
        {"id": "bad", "type": "text", "label": "B", "validation": {"minLength": -1, "maxLength": "5", "pattern": ""}},
    ]  # fmt: skip
    form = one("form", {"fields": raw})
    assert [f["validation"] for f in form["fields"]] == [
        {"minLength": 2, "maxLength": 5, "pattern": "[a-z]+"}, {"min": 1, "max": 9.5}, {}]  # fmt: skip
    number = {"id": "n", "type": "number", "label": "N", "validation": {"min": float("nan"), "max": float("inf")}}
    python_nan = turn_blocks([message("form", {"fields": [number]})])
    assert python_nan[0]["fields"][0]["validation"] == {}


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/embed/abc", ("https://www.youtube.com/embed/abc", "www.youtube.com", "")),
        ("http://example.com/page", (None, "", "http://example.com/page")),
        ("javascript:alert(1)", (None, "", "javascript:alert(1)")),
        ("//example.com/x", (None, "", "//example.com/x")),
        ('<iframe width="560" src="https://player.example.com/v/1?a=1&amp;b=2" allowfullscreen></iframe>',
         ("https://player.example.com/v/1?a=1&b=2", "player.example.com", "")),
        ('<iframe src="javascript:alert(1)"></iframe>', (None, "", '<iframe src="javascript:alert(1)"></iframe>')),
        ('<iframe srcdoc="<script>alert(1)</script>"></iframe>',
         (None, "", '<iframe srcdoc="<script>alert(1)</script>"></iframe>')),
        ('<iframe srcdoc="<b>x</b>" src="https://a.example/"></iframe>', ("https://a.example/", "a.example", "")),
        ('<iframe src="http://insecure.example/"></iframe>', (None, "", '<iframe src="http://insecure.example/"></iframe>')),
        ('<script>x</script><iframe src="https://b.example/p"></iframe>', ("https://b.example/p", "b.example", "")),
        ("<iframe src='https://c.example/' onload='alert(1)'>", ("https://c.example/", "c.example", "")),
        ('<iframe src="https://evil.example\\@good.example/">', (None, "", '<iframe src="https://evil.example\\@good.example/">')),
        ("<div>no frame</div>", (None, "", "<div>no frame</div>")),
        ("", (None, "", "")),
    ],
)  # fmt: skip
def test_iframe_takes_only_an_https_address(url, expected):
    block = one("iFrame", {"layout": "vertical", "url": url})
    assert (block["url"], block["host"], block["text"]) == expected
    assert block["kind"] == "iframe" and block["layout"] == "vertical"


def test_iframe_layout_is_vertical_or_horizontal():
    layouts = [one("iFrame", {"layout": layout, "url": "https://x.example/"})["layout"] for layout in
               ("vertical", "horizontal", "diagonal", None)]  # fmt: skip
    assert layouts == ["vertical", "horizontal", "horizontal", "horizontal"]


def test_notices_have_their_words():
    assert blocks(
        message("info:success", {"message": "Saved!"}),
        message("info:success", {"title": "Saved!"}),
        message("info:danger", {"title": "Careful", "description": "This cannot be undone."}),
        message("info:primary", {"text": "Note"}),
        message("info:<script>", {"message": "odd level"}),
        message("info:default", {}),
    ) == [
        {"kind": "notice", "level": "success", "text": "Saved!"},
        {"kind": "notice", "level": "success", "text": "Saved!"},
        {"kind": "notice", "level": "danger", "text": "Careful — This cannot be undone."},
        {"kind": "notice", "level": "primary", "text": "Note"},
        {"kind": "notice", "level": "default", "text": "odd level"},
    ]


def test_cards_keep_their_markdown_title_and_choices_their_targets():
    upgrade = {"name": "Upgrade", "request": {"type": "open_url", "payload": {"url": "https://x.example/b"}}}
    card = {"imageUrl": "https://cdn.example.com/team.png", "title": "**Pro plan**",
            "description": {"text": "Unlimited agents."}, "buttons": [upgrade]}  # fmt: skip
    choice = {"buttons": [
        {"name": "Pricing", "request": {"type": "text", "payload": {"message": "Tell me about pricing"}}},
        {"name": "Docs", "request": {"type": "open_url", "payload": {"url": "https://convocore.ai/docs"}}},
    ]}  # fmt: skip
    image = message("visual", {"image": "https://x/a.png"})
    assert blocks(message("cardV2", card), message("choice", choice), image) == [
        {"kind": "card", "title": "**Pro plan**", "text": "Unlimited agents.", "image": "https://cdn.example.com/team.png",
         "buttons": [{"label": "Upgrade", "url": "https://x.example/b"}]},
        {"kind": "choice", "buttons": [{"label": "Pricing", "message": "Tell me about pricing"},
                                       {"label": "Docs", "url": "https://convocore.ai/docs"}]},
        {"kind": "image", "url": "https://x/a.png", "alt": ""},
    ]  # fmt: skip


SPEC_EXAMPLES = {
    "text": {"message": "Hello!"},
    "choice": {"buttons": [{"name": "Yes", "request": {"type": "text", "payload": {"message": "yes"}}}]},
    "visual": {"image": "https://cdn.example.com/x.png"},
    "cardV2": {"title": "Service 1", "description": {"text": "Great."}},
    "carousel": {"cards": [{"title": "A"}, {"title": "B"}]},
    "iFrame": {"layout": "horizontal", "url": "https://maps.example.com/embed"},
    "form": CONTACT_FORM,
    "input": {"field": {"id": "e", "type": "email", "label": "Email"}, "onSubmit": {"type": "submit_input"}},
}


def test_no_type_the_spec_lists_is_unsupported():
    assert set(SPEC_EXAMPLES) == set(SPEC_TYPES)
    made = blocks(*(message(kind, payload) for kind, payload in SPEC_EXAMPLES.items()))
    kinds = [b["kind"] for b in made]
    assert kinds == ["text", "choice", "image", "card", "carousel", "iframe", "form", "input"]
    assert blocks(message("audio", {}))[0] == {"kind": "unsupported", "type": "audio"}


def test_messages_in_the_agents_raw_shape_are_read_too():
    raw = [{"type": "text", "payload": {"message": "Hi"}}, {"type": "iFrame", "payload": SPEC_EXAMPLES["iFrame"]}]
    assert [b["kind"] for b in turn_blocks(raw)] == ["text", "iframe"]
    assert turn_text(raw) == "Hi\n\nEmbedded content: https://maps.example.com/embed"


def test_a_form_only_reply_has_readable_text():
    turn = {"from": "bot", "messages": [message("form", CONTACT_FORM), message("input", SPEC_EXAMPLES["input"])]}
    assert turn_text(turn) == (
        "Contact Information: Full Name, Email Address, Phone Number, Type of Inquiry, Your Message\n\nEmail"
    )
    builder = ReplyBuilder()
    builder.feed(ChunkEvent(json.dumps(turn), 0, True))
    assert builder.finish().text.startswith("Contact Information: Full Name")
    assert turn_text([message("iFrame", SPEC_EXAMPLES["iFrame"])]) == "Embedded content: https://maps.example.com/embed"
    untitled = {"fields": [{"id": "a", "type": "text", "label": "A"}], "isSubmitted": True}
    assert turn_text([message("form", untitled)]) == "Form: A (submitted)"


def test_labels_options_and_urls_with_html_stay_text():
    hostile = '<img src=x onerror="alert(1)">'
    payload = {
        "title": hostile, "description": hostile,
        "fields": [{"id": hostile, "type": "select", "label": hostile, "placeholder": hostile,
                    "options": [{"value": hostile, "label": hostile}], "validation": {"errorMessage": hostile}}],
        "submitButton": {"label": hostile},
    }  # fmt: skip
    form = one("form", payload)
    f = form["fields"][0]
    assert form["title"] == form["description"] == form["submit"]["label"] == hostile
    assert f["id"] == f["label"] == f["placeholder"] == f["error_message"] == hostile
    assert f["options"] == [{"value": hostile, "label": hostile}]


def test_a_form_with_ten_thousand_fields_keeps_the_first_hundred():
    raw = [{"id": f"f{n}", "type": "text", "label": f"Field {n}"} for n in range(10_000)]
    form = one("form", {"fields": raw})
    assert len(form["fields"]) == MAX_FIELDS == 100 and form["fields_omitted"] == 9_900
    assert form["fields"][-1]["id"] == "f99"
    assert turn_text([message("form", {"fields": raw})]).endswith("Field 9, …")


# ---------------------------------------------------------------------------- any payload

FUZZ = settings(
    max_examples=int(os.environ.get("CONVOWIDGET_FUZZ_EXAMPLES", "200")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
characters = st.one_of(st.characters(), st.characters(categories=["Cs"]), st.sampled_from("<>&\"'\\\ud83d"))
text = st.text(characters, max_size=20)
KEYS = ["title", "description", "fields", "field", "id", "type", "label", "placeholder", "required", "options",
        "value", "validation", "minLength", "maxLength", "min", "max", "pattern", "errorMessage", "defaultValue",
        "submitButton", "style", "submittedData", "isSubmitted", "submittedValue", "submitOnEnter", "field_id",
        "field_type", "index", "layout", "url", "message", "text", "buttons", "name", "request", "payload",
        "cards", "image", "imageUrl", "mid"]  # fmt: skip
scalars = st.none() | st.booleans() | st.integers() | st.floats() | text | st.sampled_from(FIELD_TYPES)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS) | text, inner, max_size=5),
    max_leaves=20,
)
kinds = st.sampled_from([*SPEC_TYPES, "info:success", "info", "debug", "context:form_submission"]) | text
messages = st.fixed_dictionaries(
    {"type": kinds},
    optional={"mid": values, "item": st.fixed_dictionaries({"type": kinds | values}, optional={"payload": values})},
)


def assert_clean(value: object) -> None:
    """Valid UTF-8 JSON with no NaN: what a Jupyter comm message and a saved notebook need."""
    json.dumps(value, ensure_ascii=False, allow_nan=False).encode("utf-8")


@FUZZ
@given(st.lists(messages | values, max_size=5))
def test_turn_blocks_never_raise_and_every_string_is_valid_utf8(turn_messages):
    made = turn_blocks({"from": "bot", "messages": turn_messages})
    assert_clean(made)
    assert all(isinstance(block, dict) and isinstance(block.get("kind"), str) for block in made)
    turn_text({"messages": turn_messages})
