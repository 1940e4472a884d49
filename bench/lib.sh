# Sourced by the bench scripts: the namespace every --watch benchmark starts from.

# bench_netns NS: a new namespace NS with duplicate address detection off (an address is usable
# at once, so timings are nlsel's, not DAD's), lo up, and a veth pair venet0/venet0p, both up.
bench_netns() {
  local ns=$1
  ip netns add "$ns"
  ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  ip -n "$ns" link set lo up
  ip -n "$ns" link add venet0 type veth peer name venet0p
  ip -n "$ns" link set venet0 up
  ip -n "$ns" link set venet0p up
}
