"""Submitting a form or input block as data: the checks, the prompt, the request fields."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from convowidget import ConvoClient, ConvoError, FormError, serve
from convowidget.forms import Submission, form_submission, without_passwords
from convowidget.protocol import build_interact
from convowidget.turns import turn_blocks


def block_of(kind: str, payload: dict, mid: str | None = "m-1") -> dict:
    message = {"from": "bot", "type": kind, "item": {"type": kind, "payload": payload}}
    if mid:
        message["mid"] = mid
    [block] = turn_blocks({"from": "bot", "messages": [message]})
    return block


FORM = block_of("form", {
    "title": "Book a demo",
    "fields": [
        {"id": "name", "type": "text", "label": "Your name", "required": True},
        {"id": "email", "type": "email", "label": "Email address", "required": True},
        {"id": "pw", "type": "password", "label": "Password"},
        {"id": "news", "type": "checkbox", "label": "Newsletter"},
        {"id": "plan", "type": "radio", "label": "Plan", "options": [
            {"value": "pro", "label": "Pro plan"}, {"value": "team", "label": "Team plan"}]},
        {"id": "seats", "type": "number", "label": "Seats", "validation": {"min": 1, "max": 50}},
        {"id": "day", "type": "date", "label": "Day"},
        {"id": "at", "type": "time", "label": "Time"},
        {"id": "when", "type": "datetime-local", "label": "When"},
        {"id": "site", "type": "url", "label": "Website"},
        {"id": "zip", "type": "text", "label": "Postcode", "validation": {"pattern": "[0-9]{5}"}},
        {"id": "note", "type": "textarea", "label": "Note",
         "validation": {"minLength": 3, "maxLength": 10, "errorMessage": "Between 3 and 10 characters, please"}},
    ],
})  # fmt: skip


def test_a_submission_has_a_readable_prompt_and_the_metadata_the_spec_names():
    submission = form_submission(FORM, {
        "name": "Ann", "email": "ann@example.org", "pw": "hunter2", "news": True, "plan": "pro", "seats": "3",
        "day": "2025-06-01", "at": "09:30", "when": "2025-06-01T09:30", "site": "https://ann.example",
        "zip": "12345", "note": "hello",
    })  # fmt: skip
    assert isinstance(submission, Submission)
    assert submission.prompt == (
        "Your name: Ann; Email address: ann@example.org; Password: (hidden); Newsletter: yes; Plan: Pro plan; "
        "Seats: 3; Day: 2025-06-01; Time: 09:30; When: 2025-06-01T09:30; Website: https://ann.example; "
        "Postcode: 12345; Note: hello"
    )
    meta = submission.extra["formSubmissionMetadata"]
    assert meta["mid"] == "m-1" and meta["type"] == "submit_form"
    assert submission.extra["actionMetadata"] == {"mid": "m-1"}
    items = meta["submittedData"]
    assert items[0] == {"index": 0, "label": "Your name", "value": "Ann", "field_id": "name", "field_type": "text"}
    assert [item["value"] for item in items[2:6]] == ["hunter2", True, "pro", 3]  # the password is sent, not shown
    # What the client sends: build_interact takes the extra fields as they are.
    request = build_interact(agent_id="a", convo_id="c", prompt=submission.prompt, extra=submission.extra)
    assert request["formSubmissionMetadata"] == meta


def test_optional_fields_left_empty_are_left_out_of_the_prompt_and_a_checkbox_says_no():
    submission = form_submission(FORM, {"name": "Ann", "email": "ann@example.org"})
    assert submission.prompt == "Your name: Ann; Email address: ann@example.org; Newsletter: no"
    values = {item["field_id"]: item["value"] for item in submission.extra["formSubmissionMetadata"]["submittedData"]}
    assert values["news"] is False and values["pw"] == "" and values["seats"] == ""


@pytest.mark.parametrize(
    ("values", "field", "problem"),
    [
        ({"email": "ann@example.org"}, "name", "Please fill in this field."),
        ({"name": "  ", "email": "ann@example.org"}, "name", "Please fill in this field."),
        ({"name": "Ann", "email": "ann"}, "email", "Please enter an email address."),
        ({"name": "Ann", "email": "a@b.c", "seats": 0}, "seats", "Value must be greater than or equal to 1."),
        ({"name": "Ann", "email": "a@b.c", "seats": "51"}, "seats", "Value must be less than or equal to 50."),
        ({"name": "Ann", "email": "a@b.c", "seats": "many"}, "seats", "Please enter a number."),
        ({"name": "Ann", "email": "a@b.c", "seats": True}, "seats", "Please enter a number."),
        ({"name": "Ann", "email": "a@b.c", "seats": float("nan")}, "seats", "Please enter a number."),
        ({"name": "Ann", "email": "a@b.c", "plan": "gold"}, "plan",
         "Please select one of these options: Pro plan, Team plan."),
        ({"name": "Ann", "email": "a@b.c", "day": "01/06/2025"}, "day", "Please enter a date as YYYY-MM-DD."),
        ({"name": "Ann", "email": "a@b.c", "day": "2025-02-30"}, "day", "Please enter a date as YYYY-MM-DD."),
        ({"name": "Ann", "email": "a@b.c", "at": "25:00"}, "at", "Please enter a time as HH:MM."),
        ({"name": "Ann", "email": "a@b.c", "site": "ann.example"}, "site",
         "Please enter a URL, such as https://example.org."),
        ({"name": "Ann", "email": "a@b.c", "zip": "1234a"}, "zip", "Please match the requested format."),
        ({"name": "Ann", "email": "a@b.c", "note": "hi"}, "note", "Between 3 and 10 characters, please"),
        ({"name": "Ann", "email": "a@b.c", "note": "far too long"}, "note", "Between 3 and 10 characters, please"),
        ({"name": "Ann", "email": "a@b.c", "news": "maybe"}, "news", "Please give true or false (ticked or not)."),
        ({"name": ["Ann"], "email": "a@b.c"}, "name", "Please enter text (got list)."),
    ],
)  # fmt: skip
def test_a_value_that_does_not_fit_names_its_field_and_what_to_fix(values, field, problem):
    with pytest.raises(FormError) as caught:
        form_submission(FORM, values)
    assert caught.value.problems == {field: problem} and caught.value.field == field
    label = next(f["label"] for f in FORM["fields"] if f["id"] == field)
    assert str(caught.value) == f"the form was not sent: {label}: {problem}"
    assert isinstance(caught.value, ConvoError) and isinstance(caught.value, ValueError)


def test_every_problem_is_listed_at_once():
    with pytest.raises(FormError) as caught:
        form_submission(FORM, {"email": "nope", "seats": 99})
    assert list(caught.value.problems) == ["name", "email", "seats"]


def test_unknown_field_ids_are_refused_listing_the_fields():
    with pytest.raises(FormError, match=r"unknown field 'nmae'; the fields are: name \(Your name\), email"):
        form_submission(FORM, {"nmae": "Ann"})


def test_options_may_be_given_by_label_numbers_by_digits_and_dates_as_python_objects():
    submission = form_submission(FORM, {
        "name": "Ann", "email": "a@b.co", "plan": "Team plan", "seats": 2.5, "day": dt.date(2025, 6, 1),
        "at": dt.time(9, 30, 15), "when": dt.datetime(2025, 6, 1, 9, 30, tzinfo=dt.timezone.utc),
    })  # fmt: skip
    values = {item["field_id"]: item["value"] for item in submission.extra["formSubmissionMetadata"]["submittedData"]}
    assert (values["plan"], values["seats"], values["day"], values["at"], values["when"]) == (
        "team", 2.5, "2025-06-01", "09:30", "2025-06-01T09:30")  # fmt: skip


def test_required_checkbox_select_and_file_fields():
    form = block_of("form", {"fields": [
        {"id": "terms", "type": "checkbox", "label": "I accept the terms", "required": True},
        {"id": "kind", "type": "select", "label": "Kind", "required": True, "options": [{"value": "a", "label": "A"}]},
        {"id": "cv", "type": "file", "label": "Your CV"},
    ]})  # fmt: skip
    with pytest.raises(FormError) as caught:
        form_submission(form, {"terms": "false", "cv": "cv.pdf"})
    assert caught.value.problems == {
        "terms": "Please tick this box if you want to proceed.",
        "kind": "Please select one of these options.",
        "cv": "Files cannot be sent from a notebook.",
    }
    submission = form_submission(form, {"terms": "yes", "kind": "a"})
    assert submission.prompt == "I accept the terms: yes; Kind: A"
    assert [i["field_id"] for i in submission.extra["formSubmissionMetadata"]["submittedData"]] == ["terms", "kind"]
    needs_file = block_of("form", {"fields": [{"id": "cv", "type": "file", "label": "CV", "required": True}]})
    with pytest.raises(FormError, match="files cannot be sent from a notebook"):
        form_submission(needs_file, {})


def test_an_input_submits_as_submit_input_and_hides_a_password():
    email = block_of("input", {"field": {"id": "user_email", "type": "email", "label": "Email Address"}}, mid="m-9")
    submission = form_submission(email, {"user_email": "ann@example.org"})
    assert submission.prompt == "Email Address: ann@example.org"
    assert submission.extra == {
        "formSubmissionMetadata": {"type": "submit_input", "mid": "m-9", "submittedData": [
            {"index": 0, "label": "Email Address", "value": "ann@example.org", "field_id": "user_email",
             "field_type": "email"}]},
        "actionMetadata": {"mid": "m-9"},
    }  # fmt: skip
    secret = block_of("input", {"field": {"id": "pin", "type": "password", "label": "PIN"}}, mid=None)
    submission = form_submission(secret, {"pin": "4321"})
    assert submission.prompt == "PIN: (hidden)" and "4321" not in submission.prompt
    assert "actionMetadata" not in submission.extra and "mid" not in submission.extra["formSubmissionMetadata"]
    assert "4321" not in json.dumps(without_passwords({"prompt": submission.prompt, **submission.extra}))
    assert without_passwords({"prompt": "x"}) == {"prompt": "x"}


def test_what_cannot_be_submitted_says_why():
    with pytest.raises(FormError, match="expected a form or input block"):
        form_submission({"kind": "card"}, {})
    with pytest.raises(FormError, match="expected a dict of field id to value"):
        form_submission(FORM, ["Ann"])
    done = block_of("form", {"fields": [{"id": "a", "type": "text", "label": "A"}], "isSubmitted": True})
    with pytest.raises(FormError, match="already submitted"):
        form_submission(done, {"a": "x"})
    empty = block_of("form", {"title": "Feedback", "fields": [{"id": "a", "type": "text", "label": "A"}]})
    assert form_submission(empty, {}).prompt == "Feedback: (nothing filled in)"


def test_an_agents_pattern_cannot_hang_the_kernel():
    evil = block_of("form", {"fields": [
        {"id": "a", "type": "text", "label": "A", "validation": {"pattern": "(a+)+$"}},
        {"id": "b", "type": "text", "label": "B", "validation": {"pattern": "(?=x)x"}},  # a look-ahead is read
        {"id": "c", "type": "text", "label": "C", "validation": {"pattern": "(a|aa)+$"}},  # backtracks for ages
        {"id": "d", "type": "text", "label": "D", "validation": {"pattern": "(unclosed"}},  # cannot be read
    ]})  # fmt: skip
    slow = "a" * 60 + "!"
    with pytest.raises(FormError) as caught:
        form_submission(evil, {"a": "a" * 40 + "!", "b": "y", "c": slow, "d": "z"})
    wrong = "Please match the requested format."
    assert caught.value.problems == {"a": wrong, "b": wrong}
    # a pattern that cannot be read, or that runs out of time, is left to the service
    assert form_submission(evil, {"a": "aaa", "b": "x", "c": slow, "d": "z"}).prompt == f"A: aaa; B: x; C: {slow}; D: z"


def test_hostile_labels_stay_text_in_the_prompt_and_a_huge_form_is_checked():
    hostile = "<script>alert(1)</script>"
    form = block_of("form", {"fields": [{"id": "x", "type": "text", "label": hostile}]})
    assert form_submission(form, {"x": hostile}).prompt == f"{hostile}: {hostile}"
    raw = [{"id": f"f{n}", "type": "text", "label": f"F{n}", "required": True} for n in range(10_000)]
    big = block_of("form", {"fields": raw})
    with pytest.raises(FormError) as caught:
        form_submission(big, {})
    assert len(caught.value.problems) == 100


def test_a_submission_reaches_the_server_with_its_metadata():
    seen = []

    def agent(request):
        seen.append(request.request)
        return "Thanks, Ann!"

    submission = form_submission(FORM, {"name": "Ann", "email": "ann@example.org", "pw": "hunter2"})
    with serve(agent, chunk_delay=0) as server:
        reply = ConvoClient(url=server.url, agent_id="a").ask(submission.prompt, **submission.extra)
    assert reply.ok
    assert reply.prompt == "Your name: Ann; Email address: ann@example.org; Password: (hidden); Newsletter: no"
    assert seen[0]["formSubmissionMetadata"]["submittedData"][1]["value"] == "ann@example.org"
    assert seen[0]["actionMetadata"] == {"mid": "m-1"}
