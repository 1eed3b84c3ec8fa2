"""Python's ipaddress as the reference for acctsec's IP parsing (test/service/ip-differential.test.ts).

Reads {"entries": [...], "addresses": [...], "pairs": [[network, address], ...]} as JSON on stdin and
writes, in the same order, the canonical form of each (null when ipaddress refuses it) and whether each
address is in its network (null when either is refused).

One rule of acctsec's own is applied here, because SPEC §6 states it: an IPv4-mapped IPv6 address is
the IPv4 address it carries, and so is an IPv4-mapped network of /96 or longer (::ffff:8.8.8.0/120 is
8.8.8.0/24); a shorter one stays the IPv6 network it is (::ffff:203.0.113.9/64 is ::/64).
"""
import ipaddress
import json
import sys


def listed_network(text):
    try:
        net = ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None
    mapped = net.network_address.ipv4_mapped if net.version == 6 else None
    if mapped is not None and net.prefixlen >= 96:
        return ipaddress.IPv4Network((mapped, net.prefixlen - 96))
    return net


def client_address(text):
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.version == 6 and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def shown(value):
    return None if value is None else str(value)


def member(network_text, address_text):
    network, address = listed_network(network_text), client_address(address_text)
    if network is None or address is None:
        return None
    return address.version == network.version and address in network


corpus = json.load(sys.stdin)
json.dump(
    {
        "entries": [shown(listed_network(e)) for e in corpus["entries"]],
        "addresses": [shown(client_address(a)) for a in corpus["addresses"]],
        "pairs": [member(n, a) for n, a in corpus["pairs"]],
    },
    sys.stdout,
)
