"""Property-based tests: no API answer or targets file can crash a tick or the config loader.

Bad records end as recorded, counted failures (MalformedAnswerError) or a ConfigError naming the
field; nothing else escapes.
"""

import string
from datetime import UTC, datetime
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines.collect import PollOutcome, PollTarget
from pipelines.config import ConfigError, parse_targets
from pipelines.fc.errors import MalformedAnswerError
from pipelines.fc.models import parse_aliases, parse_functions, parse_instances, parse_services
from pipelines.normalise import instances_frame, polls_frame
from pipelines.storage.store import table_from_frame

EXAMPLES = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
AT = datetime(2026, 12, 3, 12, 0, tzinfo=UTC)

# Names with unicode, control characters, path and SQL metacharacters.
hostile_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=0, max_size=40
) | st.sampled_from(["../../etc/passwd", "x'; drop table polls; --", "a\x00b", "\n", "ünï", "$svc$fn", ""])
json_scalar = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | hostile_text
json_value = st.recursive(
    json_scalar,
    lambda children: st.lists(children, max_size=5) | st.dictionaries(hostile_text, children, max_size=5),
    max_leaves=20,
)
instance = st.fixed_dictionaries(
    {},
    optional={
        "instanceId": json_value | hostile_text,
        "versionId": json_value,
        "status": json_value,
        "createdTimeMs": json_value,
        "destroyedTimeMs": json_value,
        "resourceType": json_value,
    },
)
answer = st.one_of(
    json_value,
    st.fixed_dictionaries({"instances": st.lists(instance | json_value, max_size=30)}),
    st.fixed_dictionaries(
        {"instances": st.lists(st.sampled_from([{"instanceId": "c-1", "versionId": 0}]), max_size=500)}
    ),
)


def _outcome(instances: tuple) -> PollOutcome:
    return PollOutcome(PollTarget("1", "cn-hangzhou", "s", "f", "LATEST"), AT, instances, None, 200, "r", 1, 1.0)


@EXAMPLES
@given(answer)
def test_any_list_instances_answer_is_data_or_a_recorded_malformed_failure(body: Any) -> None:
    try:
        instances = parse_instances(body)
    except MalformedAnswerError as e:
        error: MalformedAnswerError | None = e
    else:
        error = None
    if error is not None:
        assert error.code == "MalformedAnswer" and error.message
        return
    ids = [i.instance_id for i in instances]
    assert len(ids) == len(set(ids))  # an instance listed twice counts once
    assert all(isinstance(i, str) and i for i in ids)
    assert all(isinstance(i.version_id, str) for i in instances)
    # And the normaliser turns it into frames with the exact schemas.
    outcome = _outcome(tuple(instances))
    polls = table_from_frame(polls_frame([outcome], AT, 60), "polls")
    rows = table_from_frame(instances_frame([outcome], AT), "instances")
    assert polls.column("instance_count").to_pylist() == [len(instances)]
    assert rows.num_rows == len(instances)


@EXAMPLES
@given(json_value, st.sampled_from([parse_services, parse_functions, parse_aliases]))
def test_any_list_answer_is_a_page_or_malformed(body: Any, parse: Any) -> None:
    try:
        page = parse(body)
    except MalformedAnswerError:
        return
    assert isinstance(page.items, list)
    assert page.next_token is None or isinstance(page.next_token, str)


@EXAMPLES
@given(hostile_text, hostile_text, hostile_text)
def test_hostile_names_survive_normalising_unchanged(service: str, function: str, qualifier: str) -> None:
    target = PollTarget("1", "cn-hangzhou", service, function, qualifier)
    outcome = PollOutcome(target, AT, (), None, 200, None, 1, None)
    polls = table_from_frame(polls_frame([outcome], AT, 60), "polls").to_pylist()
    assert (polls[0]["service_name"], polls[0]["function_name"], polls[0]["qualifier"]) == (
        service,
        function,
        qualifier,
    )
    assert polls[0]["instance_count"] == 0


target_entry = st.fixed_dictionaries(
    {},
    optional={
        "account_id": json_value | st.text(string.digits, min_size=1, max_size=12),
        "regions": json_value | st.lists(st.sampled_from(["cn-hangzhou", "cn-shanghai", "xx", ""]), max_size=3),
        "endpoint": json_value,
        "api_version": json_value | st.sampled_from(["2021-04-06", "2023-03-30"]),
        "qualifiers": json_value | st.sampled_from(["latest", "aliases", "latest_and_aliases"]),
        "services": json_value,
        "functions": json_value,
        "rate_limit": json_value,
        "typo_field": json_value,
    },
)


@EXAMPLES
@given(json_value | st.fixed_dictionaries({"targets": st.lists(target_entry | json_value, max_size=4)}))
def test_any_targets_document_loads_or_names_the_problem(data: Any) -> None:
    try:
        parsed = parse_targets(data, "t.yaml")
    except ConfigError as e:
        message = str(e)
        assert message.startswith("t.yaml: ")
        assert "\n" not in message
        return
    assert parsed.targets
    assert all(t.account_id.isdigit() for t in parsed.targets)
