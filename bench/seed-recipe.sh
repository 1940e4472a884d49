#!/bin/bash
# Faithful rebuild of /usr/local/bin/network-preferredlft.sh from the blog post
# "How to Select Default IPv6 Source Address for Outbound Traffic in OpenVZ 7"
# (yoursunny.com, 2020): the recipe nlsel replaces. Only the comments are new.
# Run it inside the namespace, as bench/compare.sh does:
#   ip netns exec NS env IFACE=venet0 bash bench/seed-recipe.sh
set -e
set -o pipefail
ip -j addr show dev $IFACE \
  | jq -r '
    .[] | select(.addr_info) | .addr_info[] |
    select(.family=="inet6" and .scope=="global") |
    select(.local | (endswith(":1") or endswith(":2")) | not) |
    "ip addr change "+.local+"/"+(.prefixlen|tostring)+" dev "+env.IFACE+" preferred_lft 0"' \
  | sh
