//! Fixtures shared by nlsel's integration tests.
//!
//! Every test runs the real `nlsel` binary against the real kernel inside a private network
//! namespace that the fixture creates and deletes, so the host's own interfaces are never
//! touched: every `ip` call goes through `ip -n NS` or `ip netns exec NS`, and nlsel runs as
//! `nlsel -n NS`. iproute2 is the oracle: expected results are derived from the setup and
//! checked with `ip -j addr show` and `ip -6 route get`, never copied from nlsel's output.
//!
//! A test declares what it needs as the parameters of an [`nstest!`] (namespaces, python3),
//! which makes them before the body runs. When they cannot be had (not root, no namespace
//! support, no python3) the test skips with a reason on stderr, except under `CI=true`, where a
//! skip would hide a broken runner and so fails.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

use serde_json::Value;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_nlsel");

/// The kernel's "infinite" lifetime, as `ip -j` and `nlsel -j` print it.
pub const FOREVER: u64 = 4_294_967_295;

/// The seed recipe's interface and addresses (see the blog post the project replaces).
pub const SEED_IF: &str = "venet0";
pub const SEED_2: &str = "2001:db8:f1c1:8454:964::2";
pub const SEED_BEEF: &str = "2001:db8:f1c1:8454:964::beef";
pub const SEED_LOW2: &str = "::2";
/// The destination the seed recipe pings.
pub const SEED_DEST: &str = "2001:db8:9f16:8fc7::9";

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// Skips the calling test (returns) or, under `CI=true`, fails it.
///
/// libtest captures `eprintln!` and shows it only for a failure, so a skipped test would look
/// passed: the line goes to the process's stderr directly, where the terminal shows it, and is
/// appended to `NLSEL_SKIP_LOG` when set (`tools/test.sh` sets it and counts the lines).
pub fn skip(reason: &str) {
    if std::env::var("CI").as_deref() == Ok("true") {
        panic!("CI=true and this test cannot run: {reason}");
    }
    let test = std::thread::current().name().unwrap_or("?").to_owned();
    let line = format!("skipped {test}: {reason}\n");
    let _ = std::io::stderr().write_all(line.as_bytes());
    if let Some(path) = std::env::var_os("NLSEL_SKIP_LOG") {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path);
        if let Ok(mut log) = log {
            let _ = log.write_all(line.as_bytes());
        }
    }
}

/// Declares a test that needs a fixture: each parameter (a [`Netns`], [`Namespaces`],
/// [`Python3`]) is made before the body runs, in order, and when one cannot be made the test
/// skips with its reason (see [`skip`]: counted by `tools/test.sh`, a failure under
/// `CI=true`). The one place that decides whether a test runs, like ripgrep's `rgtest!`:
///
/// ```ignore
/// nstest!(
///     /// What the test shows.
///     fn name(ns: Netns, _py: Python3) {
///         ns.seed();
///     }
/// );
/// ```
///
/// The parenthesised item form is what rustfmt formats.
#[allow(unused_macros)]
macro_rules! nstest {
    ($(#[$meta:meta])* fn $name:ident($($arg:ident: $fixture:ty),* $(,)?) $body:block) => {
        $(#[$meta])*
        #[test]
        fn $name() {
            $(
                let Some($arg) = <$fixture as $crate::common::Fixture>::make_or_skip() else {
                    return;
                };
            )*
            $body
        }
    };
}
#[allow(unused_imports)]
pub(crate) use nstest;

/// Something a test needs before it can run; see [`nstest!`].
pub trait Fixture: Sized {
    /// The fixture, or `None` after [`skip`] reported why it cannot be had.
    fn make_or_skip() -> Option<Self>;
}

impl Fixture for Netns {
    fn make_or_skip() -> Option<Netns> {
        Netns::new_or_skip()
    }
}

/// As many namespaces as a test wants, for one that makes them in a loop: the first is made
/// before the test starts (or it skips); every later one must succeed.
pub struct Namespaces {
    first: std::cell::Cell<Option<Netns>>,
}

impl Namespaces {
    pub fn make(&self) -> Netns {
        self.first.take().unwrap_or_else(Netns::new)
    }
}

impl Fixture for Namespaces {
    fn make_or_skip() -> Option<Namespaces> {
        Some(Namespaces {
            first: std::cell::Cell::new(Some(Netns::new_or_skip()?)),
        })
    }
}

/// Proof that `python3` is on PATH: tests run it to send Router Advertisements
/// (`tests/ra_sender.py`), forge netlink replies (`tests/forge_peer.py`) and call `connect()`.
pub struct Python3;

impl Fixture for Python3 {
    fn make_or_skip() -> Option<Python3> {
        if have_program("python3") {
            Some(Python3)
        } else {
            skip("python3 is not on PATH (Debian package python3)");
            None
        }
    }
}

fn effective_uid() -> Option<u32> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(2)?.parse().ok()
}

fn describe(cmd: &Command) -> String {
    let mut s = cmd.get_program().to_string_lossy().into_owned();
    for arg in cmd.get_args() {
        let _ = write!(s, " {}", arg.to_string_lossy());
    }
    s
}

fn run_output(cmd: &mut Command) -> Output {
    cmd.stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("cannot run `{}`: {e}", describe(cmd)))
}

/// A private network namespace, deleted on drop.
pub struct Netns {
    name: String,
}

impl Netns {
    /// Creates a fresh namespace with DAD disabled and `lo` up, or returns `None` after
    /// reporting why the test is skipped (see [`skip`]). Tests get their namespaces from
    /// [`nstest!`], which calls this; `tests/usage.rs` and `tests/doctor.rs` still call it
    /// directly.
    pub fn new_or_skip() -> Option<Netns> {
        Netns::create().map_err(|reason| skip(&reason)).ok()
    }

    /// A namespace a test makes after it started, when it already has one: failing to make
    /// it is no reason to skip but a failure.
    pub fn new() -> Netns {
        Netns::create().unwrap_or_else(|reason| panic!("{reason}"))
    }

    /// A fresh namespace, or why none can be made.
    fn create() -> Result<Netns, String> {
        match effective_uid() {
            Some(0) => {}
            Some(uid) => {
                return Err(format!(
                    "needs root to create network namespaces (euid {uid})"
                ));
            }
            None => return Err("cannot read the effective uid from /proc/self/status".into()),
        }
        let name = format!(
            "nlsel-t-{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let mut added = run_output(Command::new("ip").args(["netns", "add", &name]));
        if !added.status.success() && String::from_utf8_lossy(&added.stderr).contains("exists") {
            // Left over from an earlier run whose pid has been reused.
            run_output(Command::new("ip").args(["netns", "del", &name]));
            added = run_output(Command::new("ip").args(["netns", "add", &name]));
        }
        if !added.status.success() {
            return Err(format!(
                "cannot create network namespace {name}: {}",
                String::from_utf8_lossy(&added.stderr).trim()
            ));
        }
        let ns = Netns { name };
        ns.exec_ok(&[
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.accept_dad=0",
            "net.ipv6.conf.default.accept_dad=0",
        ]);
        ns.ip(&["link", "set", "lo", "up"]);
        Ok(ns)
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// `ip -n NS ARGS...`, without checking the result.
    pub fn ip_try(&self, args: &[&str]) -> Output {
        run_output(Command::new("ip").arg("-n").arg(&self.name).args(args))
    }

    /// `ip -n NS ARGS...`; panics unless it succeeds; returns stdout.
    pub fn ip(&self, args: &[&str]) -> String {
        let out = self.ip_try(args);
        assert!(
            out.status.success(),
            "`ip -n {} {}` failed: {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Runs `ip -n NS -batch -` with `commands` (one ip command per line) on stdin.
    pub fn ip_batch(&self, commands: &str) {
        let out = self.ip_batch_output(&[], commands);
        assert!(
            out.status.success(),
            "ip -n {} -batch failed: {}",
            self.name,
            String::from_utf8_lossy(&out.stderr).trim()
        );
        self.settle();
    }

    /// Runs `ip -n NS OPTIONS... -batch -` with `commands` on stdin, without checking it.
    pub fn ip_batch_output(&self, options: &[&str], commands: &str) -> Output {
        let mut child = Command::new("ip")
            .args(["-n", &self.name])
            .args(options)
            .args(["-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot spawn ip -batch");
        child
            .stdin
            .take()
            .expect("stdin is piped")
            .write_all(commands.as_bytes())
            .expect("cannot feed ip -batch");
        child.wait_with_output().expect("ip -batch did not finish")
    }

    /// `ip netns exec NS ARGS...`, without checking the result.
    pub fn exec<S: AsRef<OsStr>>(&self, args: &[S]) -> Output {
        run_output(
            Command::new("ip")
                .args(["netns", "exec", &self.name])
                .args(args),
        )
    }

    fn exec_ok(&self, args: &[&str]) {
        let out = self.exec(args);
        assert!(
            out.status.success(),
            "`ip netns exec {} {}` failed: {}",
            self.name,
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }

    /// Creates a veth pair inside the namespace and brings both ends up.
    pub fn veth(&self, name: &str, peer: &str) {
        self.ip(&["link", "add", name, "type", "veth", "peer", "name", peer]);
        self.ip(&["link", "set", name, "up"]);
        self.ip(&["link", "set", peer, "up"]);
        self.settle();
    }

    /// Waits until the kernel has finished reacting to the setup, so that a snapshot taken
    /// now stays valid: carrier and operstate are up on every interface that is up (linkwatch
    /// runs from a workqueue), each has its link-local address, and no address is still
    /// tentative (even with DAD disabled the flag is cleared from a workqueue). This polls
    /// the observable state; it never sleeps.
    pub fn settle(&self) {
        const ATTEMPTS: usize = 5000;
        for _ in 0..ATTEMPTS {
            if self.is_settled() {
                return;
            }
            std::thread::yield_now();
        }
        panic!(
            "ns {}: links/addresses did not settle: {}",
            self.name,
            self.ip(&["addr", "show"])
        );
    }

    fn is_settled(&self) -> bool {
        let json = self.addr_json(&[]);
        // The kernel clears an address's tentative flag and then, a moment later in the same
        // work item, inserts its local route (`addrconf_dad_completed`): until then a route
        // lookup to the address leaves through its interface, not lo.
        let local_routes =
            parse_ip_json(&self.ip(&["-j", "-6", "route", "show", "table", "local"]));
        let has_local_route = |address: &Value| {
            local_routes
                .as_array()
                .is_some_and(|routes| routes.iter().any(|r| r["dst"] == *address))
        };
        json.as_array()
            .expect("address dump is an array")
            .iter()
            .all(|link| {
                let infos: &[Value] = link
                    .get("addr_info")
                    .and_then(Value::as_array)
                    .map_or(&[], Vec::as_slice);
                let no_tentative = infos.iter().all(|a| a.get("tentative").is_none());
                let admin_up = link["flags"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f == "UP"));
                let is_loopback = link["link_type"] == "loopback";
                // Up without carrier (a veth whose peer is down, a bridge with no port up):
                // ready once linkwatch has moved it out of UNKNOWN.
                let no_carrier = link["flags"]
                    .as_array()
                    .is_some_and(|f| f.iter().any(|f| f == "NO-CARRIER"));
                let carrier_off_seen =
                    link["operstate"] == "DOWN" || link["operstate"] == "LOWERLAYERDOWN";
                let ready = !admin_up
                    || is_loopback
                    || (no_carrier && carrier_off_seen)
                    || (link["operstate"] == "UP"
                        && infos
                            .iter()
                            .any(|a| a["family"] == "inet6" && a["scope"] == "link"));
                let routed = link["operstate"] != "UP"
                    || infos
                        .iter()
                        .filter(|a| a["family"] == "inet6")
                        .all(|a| has_local_route(&a["local"]));
                no_tentative && ready && routed
            })
    }

    /// `ip -n NS addr add SPEC... dev DEV`, where SPEC is e.g.
    /// `"2001:db8::1/64 valid_lft 3600 preferred_lft 1800 nodad"`.
    pub fn add_addr(&self, dev: &str, spec: &str) {
        let mut args = vec!["addr", "add"];
        args.extend(spec.split_whitespace());
        args.extend(["dev", dev]);
        self.ip(&args);
        self.settle();
    }

    /// The seed recipe's layout: `venet0` with `SEED_2/80`, `::2/128` and (newest) `SEED_BEEF/80`,
    /// plus a default route through venet0.
    pub fn seed(&self) {
        self.veth(SEED_IF, "venet0p");
        self.add_addr(SEED_IF, &format!("{SEED_2}/80"));
        self.add_addr(SEED_IF, &format!("{SEED_LOW2}/128"));
        self.add_addr(SEED_IF, &format!("{SEED_BEEF}/80"));
        self.ip(&["-6", "route", "add", "default", "dev", SEED_IF]);
    }

    /// `ip -j addr show [ARGS...]`, parsed.
    pub fn addr_json(&self, args: &[&str]) -> Value {
        let mut full = vec!["-j", "addr", "show"];
        full.extend(args);
        let out = self.ip(&full);
        parse_ip_json(&out)
    }

    /// Every address in the namespace, as iproute2 reports it.
    pub fn addrs(&self) -> Vec<Addr> {
        addrs_from_json(&self.addr_json(&[]))
    }

    /// The addresses `ip addr show ARGS...` lists (e.g. `["dev", "eth0"]`).
    pub fn addrs_in(&self, args: &[&str]) -> Vec<Addr> {
        addrs_from_json(&self.addr_json(args))
    }

    pub fn find_addr(&self, local: &str) -> Option<Addr> {
        self.addrs().into_iter().find(|a| a.local == local)
    }

    /// The address `local`; panics if iproute2 does not list it.
    pub fn addr(&self, local: &str) -> Addr {
        self.find_addr(local)
            .unwrap_or_else(|| panic!("address {local} missing in ns {}", self.name))
    }

    /// The ifindex iproute2 reports for `ifname`.
    pub fn ifindex(&self, ifname: &str) -> u64 {
        let links = parse_ip_json(&self.ip(&["-j", "link", "show"]));
        links
            .as_array()
            .expect("ip -j link show gives an array")
            .iter()
            .find(|l| l["ifname"] == ifname)
            .and_then(|l| l["ifindex"].as_u64())
            .unwrap_or_else(|| panic!("no interface {ifname:?} in ns {}", self.name))
    }

    /// The source address `ip -6 route get DEST` reports.
    pub fn route_get_src(&self, dest: &str) -> String {
        let out = self.ip(&["-6", "route", "get", dest]);
        let words: Vec<&str> = out.split_whitespace().collect();
        words
            .windows(2)
            .find(|w| w[0] == "src")
            .map(|w| w[1].to_owned())
            .unwrap_or_else(|| panic!("no src in `ip -6 route get {dest}`: {out}"))
    }

    /// `ip -6 route show` lines.
    pub fn routes6(&self) -> Vec<String> {
        self.ip(&["-6", "route", "show"])
            .lines()
            .map(str::to_owned)
            .collect()
    }

    /// `nlsel -n NS ARGS...`.
    pub fn nlsel(&self, args: &[&str]) -> Run {
        let mut cmd = Command::new(BIN);
        cmd.arg("-n").arg(&self.name).args(args);
        Run::from_command(&mut cmd)
    }

    /// `ip netns exec NS setpriv --reuid=65534 --regid=65534 --clear-groups nlsel ARGS...`:
    /// nlsel inside the namespace without any capability.
    pub fn nlsel_unprivileged(&self, args: &[&str]) -> Run {
        let bin = UnprivilegedBin::new();
        let mut cmd = Command::new("ip");
        cmd.args(["netns", "exec", &self.name])
            .args([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ])
            .arg(bin.path())
            .args(args);
        let mut run = Run::from_command(&mut cmd);
        // Only a private copy can be busy (see UnprivilegedBin); the writer is gone by now.
        for _ in 0..3 {
            if !run.stderr.contains("Text file busy") {
                break;
            }
            run = Run::from_command(&mut cmd);
        }
        run
    }

    /// What a usage or runtime error must leave untouched: the address state.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::of(&self.addrs())
    }

    /// Asserts that the address state equals `before`, allowing finite lifetimes only to
    /// have counted down.
    pub fn assert_unchanged(&self, before: &Snapshot, what: &str) {
        before.assert_same(&self.snapshot(), what);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let out = Command::new("ip")
            .args(["netns", "del", &self.name])
            .stdin(Stdio::null())
            .output();
        match out {
            Ok(o) if o.status.success() => {}
            Ok(o) => eprintln!(
                "warning: cannot delete netns {}: {}",
                self.name,
                String::from_utf8_lossy(&o.stderr).trim()
            ),
            Err(e) => eprintln!("warning: cannot delete netns {}: {e}", self.name),
        }
    }
}

/// A path to the binary that uid 65534 can execute: the build output itself when every
/// directory above it lets others in, else a private copy (removed on drop).
struct UnprivilegedBin {
    copy_dir: Option<PathBuf>,
}

fn others_may_execute(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.ancestors()
        .filter(|p| !p.as_os_str().is_empty())
        .all(|p| std::fs::metadata(p).is_ok_and(|m| m.permissions().mode() & 0o001 != 0))
}

impl UnprivilegedBin {
    fn new() -> UnprivilegedBin {
        use std::os::unix::fs::PermissionsExt;
        if others_may_execute(Path::new(BIN)) {
            // Preferred: a fresh copy can fail to exec with ETXTBSY while another test thread
            // forks with the copy's write descriptor still open.
            return UnprivilegedBin { copy_dir: None };
        }
        let dir = std::env::temp_dir().join(format!(
            "nlsel-t-{}-{}-bin",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&dir).expect("cannot create temp dir for the binary");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755))
            .expect("cannot chmod temp dir");
        let path = dir.join("nlsel");
        std::fs::copy(BIN, &path).expect("cannot copy the nlsel binary");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755))
            .expect("cannot chmod the nlsel copy");
        UnprivilegedBin {
            copy_dir: Some(dir),
        }
    }

    fn path(&self) -> PathBuf {
        match &self.copy_dir {
            Some(dir) => dir.join("nlsel"),
            None => PathBuf::from(BIN),
        }
    }
}

impl Drop for UnprivilegedBin {
    fn drop(&mut self) {
        if let Some(dir) = &self.copy_dir {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

/// iproute2 6.1 copies interface names into its JSON verbatim, so a name with a control
/// character gives invalid JSON. Escape such bytes so the oracle can still be read; nlsel's
/// own output is always parsed unmodified.
pub fn parse_ip_json(text: &str) -> Value {
    let mut fixed = String::with_capacity(text.len());
    for c in text.trim_end().chars() {
        if c < ' ' {
            let _ = write!(fixed, "\\u{:04x}", u32::from(c));
        } else {
            fixed.push(c);
        }
    }
    serde_json::from_str(&fixed).unwrap_or_else(|e| panic!("ip gave unparsable JSON ({e}): {text}"))
}

/// One address, as `ip -j addr show` (or `nlsel -j show`) describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr {
    pub ifindex: u64,
    pub ifname: String,
    pub family: String,
    pub local: String,
    pub prefixlen: u64,
    pub scope: String,
    /// Every key whose value is `true` ("deprecated", "nodad", "noprefixroute", ...).
    pub flags: BTreeSet<String>,
    pub label: Option<String>,
    pub metric: Option<u64>,
    pub valid: u64,
    pub preferred: u64,
}

impl Addr {
    pub fn cidr(&self) -> String {
        format!("{}/{}", self.local, self.prefixlen)
    }

    pub fn has(&self, flag: &str) -> bool {
        self.flags.contains(flag)
    }

    /// Deprecated by both signs iproute2 gives: the flag and a zero preferred lifetime.
    pub fn is_deprecated(&self) -> bool {
        self.preferred == 0 && self.has("deprecated")
    }

    pub fn is_global_v6(&self) -> bool {
        self.family == "inet6" && self.scope == "global"
    }
}

/// Flattens an `ip -j addr show`-shaped array into addresses.
pub fn addrs_from_json(json: &Value) -> Vec<Addr> {
    let mut out = Vec::new();
    for link in json.as_array().expect("address dump is a JSON array") {
        let ifindex = link["ifindex"].as_u64().expect("ifindex is a number");
        let ifname = link["ifname"].as_str().expect("ifname is a string");
        let Some(infos) = link.get("addr_info") else {
            continue;
        };
        for info in infos.as_array().expect("addr_info is an array") {
            let obj = info.as_object().expect("addr_info entry is an object");
            let field = |k: &str| {
                obj.get(k)
                    .unwrap_or_else(|| panic!("addr_info entry lacks {k:?}: {info}"))
            };
            out.push(Addr {
                ifindex,
                ifname: ifname.to_owned(),
                family: field("family").as_str().expect("family").to_owned(),
                local: field("local").as_str().expect("local").to_owned(),
                prefixlen: field("prefixlen").as_u64().expect("prefixlen"),
                scope: field("scope").as_str().expect("scope").to_owned(),
                flags: obj
                    .iter()
                    .filter(|(_, v)| **v == Value::Bool(true))
                    .map(|(k, _)| k.clone())
                    .collect(),
                label: obj.get("label").and_then(Value::as_str).map(str::to_owned),
                metric: obj.get("metric").and_then(Value::as_u64),
                valid: field("valid_life_time").as_u64().expect("valid_life_time"),
                preferred: field("preferred_life_time")
                    .as_u64()
                    .expect("preferred_life_time"),
            });
        }
    }
    out
}

/// A lifetime with the part that counts down taken out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Lft {
    Zero,
    Finite,
    Forever,
}

impl Lft {
    pub fn of(seconds: u64) -> Lft {
        match seconds {
            0 => Lft::Zero,
            FOREVER => Lft::Forever,
            _ => Lft::Finite,
        }
    }
}

/// Address state that must not change, keyed by (ifname, local, prefixlen).
#[derive(Debug, Clone)]
pub struct Snapshot {
    addrs: Vec<Addr>,
}

type StableView = (
    String,
    String,
    u64,
    String,
    String,
    BTreeSet<String>,
    Option<String>,
    Option<u64>,
    Lft,
    Lft,
);

impl Snapshot {
    pub fn of(addrs: &[Addr]) -> Snapshot {
        let mut addrs = addrs.to_vec();
        addrs.sort_by(|a, b| {
            (&a.ifname, &a.local, a.prefixlen).cmp(&(&b.ifname, &b.local, b.prefixlen))
        });
        Snapshot { addrs }
    }

    pub fn len(&self) -> usize {
        self.addrs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.addrs.is_empty()
    }

    fn stable(&self) -> Vec<StableView> {
        self.addrs
            .iter()
            .map(|a| {
                (
                    a.ifname.clone(),
                    a.local.clone(),
                    a.prefixlen,
                    a.family.clone(),
                    a.scope.clone(),
                    a.flags.clone(),
                    a.label.clone(),
                    a.metric,
                    Lft::of(a.valid),
                    Lft::of(a.preferred),
                )
            })
            .collect()
    }

    /// Panics unless `after` has the same addresses, flags and lifetime kinds, with finite
    /// lifetimes no larger than before (they only count down on their own).
    pub fn assert_same(&self, after: &Snapshot, what: &str) {
        assert_eq!(
            self.stable(),
            after.stable(),
            "{what}: address state changed"
        );
        for (b, a) in self.addrs.iter().zip(&after.addrs) {
            assert!(
                a.valid <= b.valid && a.preferred <= b.preferred,
                "{what}: lifetimes of {} on {} grew: before {b:?}, after {a:?}",
                b.cidr(),
                b.ifname
            );
        }
    }
}

/// The result of one nlsel run.
#[derive(Debug)]
pub struct Run {
    pub command: String,
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from_command(cmd: &mut Command) -> Run {
        let command = describe(cmd);
        let out = run_output(cmd);
        let code = out
            .status
            .code()
            .unwrap_or_else(|| panic!("`{command}` was killed: {:?}", out.status));
        Run {
            command,
            code,
            stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
            stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
        }
    }

    /// Panics (showing the run, long output cut) unless the exit code is `code`.
    pub fn expect_code(&self, code: i32) -> &Run {
        assert_eq!(
            self.code,
            code,
            "`{}` exited {} (expected {code})\n--- stdout:\n{}\n--- stderr:\n{}",
            self.command,
            self.code,
            clip(&self.stdout),
            clip(&self.stderr)
        );
        self
    }

    pub fn expect_ok(&self) -> &Run {
        self.expect_code(0)
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }

    pub fn line_set(&self) -> BTreeSet<String> {
        self.stdout.lines().map(str::to_owned).collect()
    }

    /// stdout parsed as JSON.
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "`{}` printed invalid JSON ({e}):\n{}",
                self.command, self.stdout
            )
        })
    }

    /// Panics unless stderr is exactly one line starting with `nlsel: ` and containing
    /// every needle.
    pub fn expect_one_error_line(&self, needles: &[&str]) -> &Run {
        let lines: Vec<&str> = self.stderr.lines().collect();
        assert_eq!(
            lines.len(),
            1,
            "`{}`: stderr must be exactly one line, got:\n{}",
            self.command,
            self.stderr
        );
        assert!(
            lines[0].starts_with("nlsel: "),
            "`{}`: stderr must start with `nlsel: `: {}",
            self.command,
            lines[0]
        );
        for needle in needles {
            assert!(
                lines[0].contains(needle),
                "`{}`: stderr must mention {needle}: {}",
                self.command,
                lines[0]
            );
        }
        self
    }
}

/// At most the first 2000 characters of `text`, for failure messages.
fn clip(text: &str) -> String {
    const LIMIT: usize = 2000;
    match text.char_indices().nth(LIMIT) {
        Some((cut, _)) => format!("{}... ({} bytes in all)", &text[..cut], text.len()),
        None => text.to_owned(),
    }
}

/// Runs nlsel with `args` in `ns`, and checks that it fails with `code`, prints one
/// `nlsel: ` line naming every needle, and leaves the address state alone.
pub fn assert_rejected(ns: &Netns, args: &[&str], code: i32, needles: &[&str]) -> Run {
    let before = ns.snapshot();
    let run = ns.nlsel(args);
    run.expect_code(code).expect_one_error_line(needles);
    ns.assert_unchanged(&before, &run.command);
    run
}

/// `"VALUE"`: how the contract quotes a bad value in an error message.
pub fn quoted(value: &str) -> String {
    format!("\"{value}\"")
}

/// Whether `path` names a program on PATH.
pub fn have_program(name: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| Path::new(&dir).join(name).is_file())
    })
}

/// splitmix64: small, seedable, good enough to pick random configurations in the differential
/// tests (`tests/explain.rs`, `tests/probe.rs`).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    pub fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// A random test's seed: `$var` when set (to replay a run), else the clock; printed always,
/// with how to replay it.
pub fn seed(var: &str, what: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
        });
    report(&format!("{what} seed: {seed} (replay with {var}={seed})"));
    seed
}

/// A line for the terminal even when the test passes (libtest keeps `eprintln!` of a passing
/// test to itself): a random test's seed and what it compared belong in every CI log.
pub fn report(line: &str) {
    let _ = std::io::stderr().write_all(format!("{line}\n").as_bytes());
}
