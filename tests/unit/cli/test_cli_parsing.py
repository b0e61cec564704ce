"""The command line: defaults, conversions, and one-line usage errors with exit 2."""
from __future__ import annotations

import pytest

from cli.errors import UsageError
from cli.main import build_parser, run


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_create_defaults():
    args = parse("instance", "create", "web1", "--image", "thecloud/busybox:test")
    assert (args.cpus, args.memory, args.disk) == (1, 128 << 20, 0)
    assert args.restart == "never" and args.command is None
    assert args.env == [] and args.label == [] and args.host_label == []
    assert not args.wait and args.timeout == 60.0
    assert args.output == "table" and args.project is None and args.endpoint is None


def test_create_converts_everything():
    args = parse("instance", "create", "web1", "--image", "img", "--cpus", "2", "--memory", "1.5G",
                 "--disk", "1G", "--command", "httpd -f -p 8080 -h '/var/www x'",
                 "--env", "A=1", "--env", "B=x=y", "--label", "tier=web",
                 "--host-label", "zone=a", "--restart", "on-failure", "--wait", "--timeout", "5")
    assert args.cpus == 2 and args.memory == 3 << 29 and args.disk == 1 << 30
    assert args.command == ["httpd", "-f", "-p", "8080", "-h", "/var/www x"]
    assert dict(args.env) == {"A": "1", "B": "x=y"}
    assert dict(args.label) == {"tier": "web"} and dict(args.host_label) == {"zone": "a"}
    assert args.restart == "on-failure" and args.wait and args.timeout == 5.0


def test_global_options_work_before_and_after_the_command():
    before = parse("-o", "json", "--project", "p", "--endpoint", "a:1", "instance", "list")
    after = parse("instance", "list", "-o", "json", "--project", "p", "--endpoint", "a:1")
    for args in (before, after):
        assert (args.output, args.project, args.endpoint) == ("json", "p", "a:1")
    mixed = parse("-o", "json", "instance", "list", "--host", "h1")
    assert mixed.output == "json" and mixed.host == "h1"


@pytest.mark.parametrize("argv, fragment", [
    (["instance", "create", "web1", "--image", "i", "--memory", "lots"], "argument --memory: cannot parse size 'lots'"),
    (["instance", "create", "web1", "--image", "i", "--cpus", "0"], "argument --cpus: 0 must be at least 1"),
    (["instance", "create", "web1", "--image", "i", "--env", "NOVALUE"], "'NOVALUE' is not KEY=VALUE"),
    (["instance", "create", "web1", "--image", "i", "--command", "sh -c 'x"], "argument --command: cannot split"),
    (["instance", "create", "web1", "--image", "i", "--restart", "sometimes"], "invalid choice: 'sometimes'"),
    (["instance", "create", "Web_1", "--image", "i"], "'Web_1' is not a valid name"),
    (["instance", "create", "web1"], "the following arguments are required: --image"),
    (["instance", "logs", "web1", "--tail", "-1"], "-1 must not be negative"),
    (["instance", "stop", "web1", "--wait", "--timeout", "0"], "must be more than 0 seconds"),
    (["instance"], "required: ACTION"),
    ([], "required: GROUP"),
    (["-o", "yaml", "host", "list"], "invalid choice: 'yaml'"),
])
def test_bad_input_is_a_usage_error(argv, fragment):
    with pytest.raises(UsageError) as err:
        parse(*argv)
    assert fragment in err.value.message
    assert err.value.exit_code == 2


def test_bad_input_prints_one_line_and_exits_2(capsys):
    code = run(["instance", "create", "web1", "--image", "i", "--memory", "lots"])
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: cloud instance create: argument --memory")


def test_help_exits_0(capsys):
    with pytest.raises(SystemExit) as exit_:
        run(["instance", "create", "--help"])
    assert exit_.value.code == 0
    assert "--host-label" in capsys.readouterr().out


def test_quota_set_takes_the_state_only_quotas():
    args = parse("quota", "set", "--secrets", "50", "--secret-size", "1M", "--images", "unlimited",
                 "--security-groups", "10", "--security-group-rules", "100")
    assert (args.secrets, args.secret_size, args.images) == (50, 1 << 20, -1)
    assert (args.security_groups, args.security_group_rules) == (10, 100)
