"""`cloud floating-ip …` and `cloud vpc set-gateway` parse into the right calls."""
from cli.commands import floating
from cli.main import build_parser


def parse(*argv):
    return build_parser().parse_args(list(argv))


def test_floating_ip_commands_parse():
    args = parse("floating-ip", "create", "--address", "192.0.2.201")
    assert (args.func, args.address) == (floating.fip_create, "192.0.2.201")
    args = parse("floating-ip", "attach", "192.0.2.201", "web1")
    assert (args.func, args.address, args.instance) == (floating.fip_attach, "192.0.2.201", "web1")
    for verb, func in (("show", floating.fip_show), ("delete", floating.fip_delete),
                       ("detach", floating.fip_detach)):
        args = parse("floating-ip", verb, "fip-1")
        assert (args.func, args.address) == (func, "fip-1")
    assert parse("floating-ip", "list").func is floating.fip_list


def test_vpc_gateway_options_parse():
    assert parse("vpc", "create", "net1", "--cidr", "10.10.0.0/16", "--gateway-host", "h1").gateway_host == "h1"
    args = parse("vpc", "set-gateway", "net1", "h1")
    assert (args.func, args.vpc, args.host) == (floating.vpc_set_gateway, "net1", "h1")
    assert parse("vpc", "set-gateway", "net1").host == ""      # clears it
