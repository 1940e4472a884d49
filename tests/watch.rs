//! Issue 4, `deprecate --watch` / `prefer --watch`: after the first pass nlsel keeps the rule
//! applied to new addresses, to addresses whose preferred lifetime comes back (`ip addr change`,
//! a Router Advertisement), and to interfaces created later; it sends nothing while nothing
//! needs doing, and SIGTERM or SIGINT end it with exit 0.
//!
//! Every test runs the real binary in private namespaces. Synchronisation is by nlsel's own
//! output: the `nlsel: watching for address changes` line on stderr once the first pass is
//! done, then one `deprecated ...` line on stdout per change. Two reader threads forward both
//! streams into one channel; the 20 s bound on each wait is only a guard against a hang, never
//! a delay the test relies on. iproute2 then checks the kernel's state. The child is killed
//! and reaped on every path (see [`Watch`]'s `Drop`).
//!
//! Further down: temporary (privacy) addresses, which nlsel never changes, checked against
//! what the kernel does with them; and the soak tests (`soak_*`, 30 to 65 s each), which leave
//! a watch running and read its CPU time from /proc. The fast tests run alone with
//! `cargo test --test watch -- --skip soak`.

mod common;

use std::io::{BufRead as _, BufReader, Read};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use common::{BIN, FOREVER, Netns, Python3, nstest};

/// What nlsel prints on stderr once it is subscribed and the first pass is done.
const READY: &str = "nlsel: watching for address changes";

/// Upper bound for any single wait; only reached when something is broken.
const GUARD: Duration = Duration::from_secs(20);

const RA_SENDER: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ra_sender.py");

const IF: &str = "venet0";
const KEPT: &str = "2001:db8::2";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Stream {
    Stdout,
    Stderr,
}

enum Event {
    Line(Stream, String),
    Closed,
}

fn forward<R: Read + Send + 'static>(stream: Stream, reader: R, events: Sender<Event>) {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(reader);
        let mut line = Vec::new();
        loop {
            line.clear();
            match reader.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => break,
                Ok(_) => {
                    if line.last() == Some(&b'\n') {
                        line.pop();
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    if events.send(Event::Line(stream, text)).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = events.send(Event::Closed);
    });
}

/// How a watch run ended.
struct Ended {
    status: ExitStatus,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

/// A running `nlsel -n NS ... --watch`. Dropping it kills (SIGKILL) and reaps the child if it
/// is still running, so a failed assertion never leaves it behind.
struct Watch {
    child: Child,
    command: String,
    netns: String,
    events: Receiver<Event>,
    open_streams: usize,
    stdout: Vec<String>,
    stderr: Vec<String>,
}

impl Watch {
    /// Starts `nlsel -n NS ARGS...` and waits for its ready line.
    fn start(ns: &Netns, args: &[&str]) -> Watch {
        let mut child = Command::new(BIN)
            .arg("-n")
            .arg(ns.name())
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start nlsel");
        let (tx, events) = mpsc::channel();
        forward(
            Stream::Stdout,
            child.stdout.take().expect("stdout is piped"),
            tx.clone(),
        );
        forward(
            Stream::Stderr,
            child.stderr.take().expect("stderr is piped"),
            tx,
        );
        let mut watch = Watch {
            child,
            command: format!("{BIN} -n {} {}", ns.name(), args.join(" ")),
            netns: ns.name().to_owned(),
            events,
            open_streams: 2,
            stdout: Vec::new(),
            stderr: Vec::new(),
        };
        watch.wait_lines(Stream::Stderr, 1, "the ready line", |l| l == READY);
        watch
    }

    fn pid(&self) -> String {
        self.child.id().to_string()
    }

    /// Everything seen so far, and the namespace's state, for a failure message.
    fn transcript(&self) -> String {
        let ip = |args: &[&str]| {
            Command::new("ip")
                .args(args)
                .stdin(Stdio::null())
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
                .unwrap_or_else(|e| format!("(cannot run ip: {e})"))
        };
        format!(
            "`{}`\n--- stdout so far:\n{}\n--- stderr so far:\n{}\n--- ip -n {ns} addr show:\n{}\n--- nstat:\n{}",
            self.command,
            self.stdout.join("\n"),
            self.stderr.join("\n"),
            ip(&["-n", &self.netns, "addr", "show"]),
            ip(&[
                "netns",
                "exec",
                &self.netns,
                "nstat",
                "-asz",
                "Icmp6InRouterAdvertisements",
                "Icmp6InErrors",
            ]),
            ns = self.netns,
        )
    }

    /// Takes the next event into the transcript; `false` once both streams are closed.
    fn receive(&mut self, deadline: Instant, what: &str) -> bool {
        if self.open_streams == 0 {
            return false;
        }
        let left = deadline.saturating_duration_since(Instant::now());
        match self.events.recv_timeout(left) {
            Ok(Event::Line(Stream::Stdout, line)) => self.stdout.push(line),
            Ok(Event::Line(Stream::Stderr, line)) => self.stderr.push(line),
            Ok(Event::Closed) => self.open_streams -= 1,
            Err(RecvTimeoutError::Timeout) => {
                panic!("no {what} within {GUARD:?}\n{}", self.transcript())
            }
            Err(RecvTimeoutError::Disconnected) => self.open_streams = 0,
        }
        true
    }

    /// Waits until `stream` has carried `count` lines satisfying `matches` (counting lines
    /// already seen) and returns those lines.
    fn wait_lines(
        &mut self,
        stream: Stream,
        count: usize,
        what: &str,
        matches: impl Fn(&str) -> bool,
    ) -> Vec<String> {
        let deadline = Instant::now() + GUARD;
        loop {
            let seen = match stream {
                Stream::Stdout => &self.stdout,
                Stream::Stderr => &self.stderr,
            };
            let found: Vec<String> = seen.iter().filter(|l| matches(l)).cloned().collect();
            if found.len() >= count {
                return found;
            }
            if !self.receive(deadline, what) {
                let status = self.child.try_wait();
                panic!(
                    "nlsel ended ({status:?}) before {what}\n{}",
                    self.transcript()
                );
            }
        }
    }

    /// Waits for the `count`th stdout line exactly equal to `line`.
    fn wait_line(&mut self, line: &str, count: usize) {
        self.wait_lines(
            Stream::Stdout,
            count,
            &format!("line {line:?} #{count}"),
            |l| l == line,
        );
    }

    /// Sends `signal` (`TERM`, `INT`) and waits for the child to end.
    fn stop(&mut self, signal: &str) -> Ended {
        let kill = Command::new("kill")
            .args(["-s", signal, &self.pid()])
            .stdin(Stdio::null())
            .output()
            .expect("cannot run kill");
        assert!(
            kill.status.success(),
            "kill -s {signal} failed: {}",
            String::from_utf8_lossy(&kill.stderr)
        );
        let deadline = Instant::now() + GUARD;
        while self.receive(deadline, &format!("end after SIG{signal}")) {}
        let status = self.child.wait().expect("cannot reap nlsel");
        Ended {
            status,
            stdout: self.stdout.clone(),
            stderr: self.stderr.clone(),
        }
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn deprecated(cidr: &str, dev: &str) -> String {
    format!("deprecated {cidr} dev {dev}")
}

/// A namespace with `venet0` (a veth whose peer stays in the namespace) carrying `KEPT/64` and
/// `extra` (specs for `ip addr add`).
fn venet0_with(ns: &Netns, extra: &[&str]) {
    ns.veth(IF, "venet0p");
    ns.add_addr(IF, &format!("{KEPT}/64"));
    for spec in extra {
        ns.add_addr(IF, spec);
    }
}

/// Panics unless the watch ended with exit 0, printed exactly `stdout`, and only the ready
/// line on stderr.
fn assert_clean_end(ended: &Ended, stdout: &[String]) {
    assert_eq!(
        ended.status.code(),
        Some(0),
        "watch must end with exit 0: {:?}\nstdout: {:?}\nstderr: {:?}",
        ended.status,
        ended.stdout,
        ended.stderr
    );
    assert_eq!(ended.stdout, stdout, "watch's stdout");
    assert_eq!(ended.stderr, [READY], "watch's stderr");
}

/// `ip addr change CIDR dev venet0 preferred_lft forever`: what another program does to undo
/// nlsel's change.
fn prefer_forever(ns: &Netns, cidr: &str) {
    ns.ip(&[
        "addr",
        "change",
        cidr,
        "dev",
        IF,
        "preferred_lft",
        "forever",
    ]);
}

fn assert_preferred_forever(ns: &Netns, local: &str) {
    let addr = ns.addr(local);
    assert!(
        !addr.is_deprecated() && !addr.has("deprecated") && addr.preferred == FOREVER,
        "{local} must stay preferred: {addr:?}"
    );
}

fn assert_deprecated(ns: &Netns, local: &str) -> common::Addr {
    let addr = ns.addr(local);
    assert!(addr.is_deprecated(), "{local} must be deprecated: {addr:?}");
    addr
}

nstest!(
    fn new_address_is_deprecated(ns: Netns) {
        venet0_with(&ns, &[]);
        let mut watch = Watch::start(
            &ns,
            &["deprecate", "--except", "::2", "--dev", IF, "--watch"],
        );
        ns.ip(&["addr", "add", "2001:db8::cafe/64", "dev", IF]);
        let line = deprecated("2001:db8::cafe/64", IF);
        watch.wait_line(&line, 1);

        let cafe = assert_deprecated(&ns, "2001:db8::cafe");
        assert_eq!(cafe.valid, FOREVER, "valid lifetime must stay forever");
        assert_preferred_forever(&ns, KEPT);

        let ended = watch.stop("TERM");
        assert_clean_end(&ended, &[line]);
    }
);

nstest!(
    fn address_made_preferred_again_is_deprecated_again(ns: Netns) {
        venet0_with(&ns, &["2001:db8::beef/64"]);
        let mut watch = Watch::start(
            &ns,
            &["deprecate", "--except", "::2", "--dev", IF, "--watch"],
        );
        let line = deprecated("2001:db8::beef/64", IF);
        // The first pass.
        watch.wait_line(&line, 1);
        assert_deprecated(&ns, "2001:db8::beef");

        prefer_forever(&ns, "2001:db8::beef/64");
        watch.wait_line(&line, 2);
        let beef = assert_deprecated(&ns, "2001:db8::beef");
        assert_eq!(beef.valid, FOREVER, "valid lifetime must stay forever");
        assert_preferred_forever(&ns, KEPT);

        let ended = watch.stop("TERM");
        assert_clean_end(&ended, &[line.clone(), line]);
    }
);

nstest!(
    fn interface_created_later_is_handled(ns: Netns) {
        venet0_with(&ns, &[]);
        let mut watch = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        // All in one batch, so that the link and its addresses arrive close together.
        ns.ip_batch(
            "link add veth1 type veth peer name veth1p\n\
         link set veth1 up\n\
         link set veth1p up\n\
         addr add 2001:db8:3::2/64 dev veth1\n\
         addr add 2001:db8:3::bad/64 dev veth1\n",
        );
        let line = deprecated("2001:db8:3::bad/64", "veth1");
        watch.wait_line(&line, 1);

        let bad = assert_deprecated(&ns, "2001:db8:3::bad");
        assert_eq!(bad.ifname, "veth1");
        assert_preferred_forever(&ns, "2001:db8:3::2");
        assert_preferred_forever(&ns, KEPT);

        let ended = watch.stop("TERM");
        assert_clean_end(&ended, &[line]);
    }
);

/// `timeout 1 ip -n NS monitor address`: asserts that no address notification at all was
/// emitted in the namespace during that second.
fn assert_quiet_second(ns: &Netns, when: &str) {
    let out = Command::new("timeout")
        .args(["1", "ip", "-n", ns.name(), "monitor", "address"])
        .stdin(Stdio::null())
        .output()
        .expect("cannot run timeout ip monitor");
    assert_eq!(
        out.status.code(),
        Some(124),
        "{when}: `timeout 1 ip monitor address` must be cut off by timeout: {:?}, stderr {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.stdout.is_empty(),
        "{when}: watch sent something while idle:\n{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

nstest!(
    fn idle_watch_sends_nothing(ns: Netns) {
        venet0_with(&ns, &["2001:db8::beef/64"]);
        let mut watch = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        let beef = deprecated("2001:db8::beef/64", IF);
        watch.wait_line(&beef, 1);
        ns.settle();
        assert_quiet_second(&ns, "after the first pass");

        // And again after it has handled a change: its own change must not make it loop.
        ns.ip(&["addr", "add", "2001:db8::cafe/64", "dev", IF]);
        let cafe = deprecated("2001:db8::cafe/64", IF);
        watch.wait_line(&cafe, 1);
        ns.settle();
        assert_quiet_second(&ns, "after handling a new address");

        let ended = watch.stop("TERM");
        assert_clean_end(&ended, &[beef, cafe]);
    }
);

fn signal_ends_watch(ns: &Netns, signal: &str) {
    venet0_with(ns, &["2001:db8::beef/64"]);
    let mut watch = Watch::start(ns, &["deprecate", "--except", "::2", "--watch"]);
    let beef = deprecated("2001:db8::beef/64", IF);
    watch.wait_line(&beef, 1);
    let ended = watch.stop(signal);
    assert_clean_end(&ended, &[beef]);
    // Nothing was undone on the way out.
    assert_deprecated(ns, "2001:db8::beef");
    assert_preferred_forever(ns, KEPT);
}

nstest!(
    fn sigterm_ends_watch_with_exit_0(ns: Netns) {
        signal_ends_watch(&ns, "TERM");
    }
);

nstest!(
    fn sigint_ends_watch_with_exit_0(ns: Netns) {
        signal_ends_watch(&ns, "INT");
    }
);

nstest!(
    fn prefer_watch_deprecates_new_addresses(ns: Netns) {
        venet0_with(&ns, &["2001:db8::beef/64"]);
        let mut watch = Watch::start(&ns, &["prefer", KEPT, "--watch"]);
        let beef = deprecated("2001:db8::beef/64", IF);
        watch.wait_line(&beef, 1);
        ns.ip(&["addr", "add", "2001:db8::cafe/64", "dev", IF]);
        let cafe = deprecated("2001:db8::cafe/64", IF);
        watch.wait_line(&cafe, 1);
        assert_deprecated(&ns, "2001:db8::beef");
        assert_deprecated(&ns, "2001:db8::cafe");
        assert_preferred_forever(&ns, KEPT);
        let ended = watch.stop("TERM");
        assert_clean_end(&ended, &[beef, cafe]);
    }
);

nstest!(
    /// Another program that resets the lifetime right after each change: nlsel changes the address
    /// at most once a second, never gives up on it, and warns once, at the third deferral.
    fn address_that_keeps_coming_back_is_changed_again_with_one_warning(ns: Netns) {
        venet0_with(&ns, &["2001:db8::beef/64"]);
        let mut watch = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        let beef = deprecated("2001:db8::beef/64", IF);
        let bring_back = || {
            prefer_forever(&ns, "2001:db8::beef/64");
        };
        // Change 1 is the first pass; each later one answers a reset made right after the one
        // before, so each is deferred to a second after it.
        watch.wait_line(&beef, 1);
        for n in 2..=6 {
            bring_back();
            watch.wait_line(&beef, n);
            assert_deprecated(&ns, "2001:db8::beef");
        }
        let warning = |l: &str| {
            l.starts_with("nlsel: warning: 2001:db8::beef/64 keeps coming back preferred")
                && l.ends_with("changing it at most once a second")
        };
        watch.wait_lines(Stream::Stderr, 1, "the fight warning", warning);
        // The fight is over: nothing is sent while idle.
        ns.settle();
        assert_quiet_second(&ns, "after the fight");
        assert_preferred_forever(&ns, KEPT);

        let ended = watch.stop("TERM");
        assert_eq!(ended.status.code(), Some(0), "{:?}", ended.stderr);
        assert_eq!(ended.stdout, vec![beef; 6]);
        assert_eq!(
            ended.stderr.len(),
            2,
            "ready line and one warning: {:?}",
            ended.stderr
        );
        assert_eq!(ended.stderr[0], READY);
        assert!(warning(&ended.stderr[1]), "{:?}", ended.stderr);
    }
);

/// Namespace A's venet0 (`ip link add venet0 LINK...`) accepting Router Advertisements, with
/// `sysctls` set on it too, and B with its peer ra0; both up, and both settled, since an RA must
/// come from ra0's link-local address, not tentative.
fn ra_link(a: &Netns, b: &Netns, link: &[&str], sysctls: &[&str]) {
    let add = [
        &["link", "add", IF][..],
        link,
        &["type", "veth", "peer", "name", "ra0"],
    ];
    a.ip(&add.concat());
    a.ip(&["link", "set", "ra0", "netns", b.name()]);
    let on = [
        "sysctl",
        "-qw",
        "net.ipv6.conf.venet0.accept_ra=2",
        "net.ipv6.conf.venet0.autoconf=1",
    ];
    let sysctl = a.exec(&[&on[..], sysctls].concat());
    assert!(
        sysctl.status.success(),
        "sysctl: {}",
        String::from_utf8_lossy(&sysctl.stderr)
    );
    a.ip(&["link", "set", IF, "up"]);
    b.ip(&["link", "set", "ra0", "up"]);
    b.settle();
    a.settle();
}

/// Sends one RA for `prefix` with valid 7200 s, preferred 3600 s from `ra0` in `ns`.
fn send_ra(ns: &Netns, prefix: &str) {
    let out = ns.exec(&["python3", RA_SENDER, "ra0", prefix, "7200", "3600"]);
    assert!(
        out.status.success(),
        "ra_sender.py failed: {:?}\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

nstest!(
    fn router_advertisement_address_is_deprecated_and_again_after_refresh(
        _py: Python3,
        a: Netns,
        b: Netns,
    ) {
        // venet0 is created after the fixture disabled DAD for new interfaces in A.
        ra_link(&a, &b, &[], &[]);
        a.add_addr(IF, &format!("{KEPT}/64"));

        let mut watch = Watch::start(&a, &["deprecate", "--except", "::2", "--watch"]);
        let slaac = |l: &str| l.starts_with("deprecated 2001:db8:5:") && l.ends_with(" dev venet0");

        send_ra(&b, "2001:db8:5::");
        let first = watch.wait_lines(Stream::Stdout, 1, "the SLAAC address's line", slaac);
        let line = first[0].clone();
        let cidr = line
            .strip_prefix("deprecated ")
            .and_then(|rest| rest.strip_suffix(" dev venet0"))
            .expect("line shape");
        let local = cidr.strip_suffix("/64").expect("a /64 SLAAC address");
        let check = |when: &str| {
            let addr = assert_deprecated(&a, local);
            assert!(
                addr.has("dynamic"),
                "{when}: SLAAC address is dynamic: {addr:?}"
            );
            assert!(
                addr.valid <= 7200 && addr.valid > 7000 && addr.valid != FOREVER,
                "{when}: the valid lifetime must stay the RA's: {addr:?}"
            );
        };
        check("after RA #1");
        assert_preferred_forever(&a, KEPT);

        // RFC 4862 5.5.3 e): the second RA resets the preferred lifetime to 3600.
        send_ra(&b, "2001:db8:5::");
        let both = watch.wait_lines(Stream::Stdout, 2, "the second line for it", slaac);
        assert_eq!(both, [line.clone(), line.clone()], "same address twice");
        check("after RA #2");
        assert_preferred_forever(&a, KEPT);

        let ended = watch.stop("TERM");
        assert_clean_end(&ended, &[line.clone(), line]);
    }
);

// ---------------------------------------------------------------------------------------------
// Temporary (privacy) addresses, RFC 8981: the kernel makes them from a SLAAC address (their
// `mngtmpaddr` parent) when `use_tempaddr` is on. nlsel never changes one.

/// venet0's MAC, so that its SLAAC address in `SLAAC_PREFIX` is `SLAAC_PARENT` (EUI-64).
const SLAAC_MAC: &str = "02:00:00:00:00:01";
const SLAAC_PREFIX: &str = "2001:db8:5::";
const SLAAC_PARENT: &str = "2001:db8:5::ff:fe00:1";
/// A destination the default route through venet0 reaches, for `ip -6 route get`.
const DEST: &str = "2001:db8:9f16:8fc7::9";

/// Namespace A with venet0 accepting Router Advertisements with `use_tempaddr` set, and B with
/// its peer ra0, from which [`send_ra`] advertises. DAD is off in A (the fixture's default),
/// which is what made the kernel's regeneration of temporaries fastest.
fn slaac_pair(_py: &Python3, a: &Netns, b: &Netns, use_tempaddr: u8) {
    ra_link(
        a,
        b,
        &["address", SLAAC_MAC],
        &[&format!("net.ipv6.conf.venet0.use_tempaddr={use_tempaddr}")],
    );
    a.ip(&["-6", "route", "add", "default", "dev", IF]);
}

/// Polls `done` until it holds; panics with `what` and the state after `GUARD`.
fn wait_until(ns: &Netns, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + GUARD;
    while !done() {
        assert!(
            Instant::now() < deadline,
            "{what}: not within {GUARD:?}\n{}",
            ns.ip(&["addr", "show"])
        );
        std::thread::yield_now();
    }
}

/// The temporary addresses in A.
fn temporaries(ns: &Netns) -> Vec<common::Addr> {
    ns.addrs()
        .into_iter()
        .filter(|a| a.has("temporary"))
        .collect()
}

/// Sends an RA and waits until the parent and a temporary exist.
fn autoconfigure(a: &Netns, b: &Netns) {
    send_ra(b, SLAAC_PREFIX);
    wait_until(a, "SLAAC parent and temporary", || {
        a.find_addr(SLAAC_PARENT).is_some() && !temporaries(a).is_empty()
    });
    a.settle();
}

nstest!(
    /// The temporary follows its deprecated parent: nlsel changes only the parent, the kernel
    /// deprecates the temporary, creates no preferred one, and the kept address is the source.
    fn temporaries_follow_their_deprecated_parent(py: Python3, a: Netns, b: Netns) {
        slaac_pair(&py, &a, &b, 2);
        a.add_addr(IF, &format!("{KEPT}/64"));
        autoconfigure(&a, &b);
        assert_eq!(
            a.route_get_src(DEST),
            temporaries(&a)[0].local,
            "rule 7 before"
        );

        let run = a.nlsel(&["deprecate", "--except", "::2"]);
        run.expect_ok();
        assert_eq!(run.lines(), [deprecated(&format!("{SLAAC_PARENT}/64"), IF)]);
        assert_eq!(
            run.stderr, "",
            "no warning: the kept ::2 manages no temporaries"
        );
        wait_until(&a, "every temporary deprecated by the kernel", || {
            temporaries(&a).iter().all(common::Addr::is_deprecated)
        });
        assert_deprecated(&a, SLAAC_PARENT);
        assert_eq!(a.route_get_src(DEST), KEPT);
        let again = a.nlsel(&["deprecate", "--except", "::2", "--check"]);
        again.expect_code(0);
    }
);

nstest!(
    /// A kept, preferred SLAAC parent on an interface with use_tempaddr=2 loses to its own
    /// temporaries: nlsel says so once, naming the sysctl; `--check` still exits 0, since running
    /// the command would change nothing; with use_tempaddr=1 the warning goes.
    fn kept_parent_under_use_tempaddr_2_gets_a_warning_naming_the_sysctl(
        py: Python3,
        a: Netns,
        b: Netns,
    ) {
        slaac_pair(&py, &a, &b, 2);
        autoconfigure(&a, &b);
        let before = a.snapshot();
        let needles = [
            "warning: venet0: kept 2001:db8:5::ff:fe00:1/64",
            "use_tempaddr=2",
            "net.ipv6.conf.venet0.use_tempaddr=1",
        ];
        for args in [
            &["deprecate", "--except", "::ff:fe00:1", "--check"][..],
            &["deprecate", "--except", "::ff:fe00:1"],
        ] {
            let run = a.nlsel(args);
            run.expect_code(0);
            assert_eq!(run.stdout, "", "{args:?}: nothing to change");
            run.expect_one_error_line(&needles);
        }
        a.assert_unchanged(&before, "after the warnings");
        // prefer leaves the lifetimes its router gave (preferred 3600 of valid 7200), and warns
        // the same way.
        let run = a.nlsel(&["prefer", SLAAC_PARENT]);
        run.expect_code(0);
        assert_eq!(
            run.stdout, "",
            "a router's preferred lifetime is not raised"
        );
        run.expect_one_error_line(&needles);
        let parent = a.addr(SLAAC_PARENT);
        assert!(parent.preferred <= 3600, "{parent:?}");
        assert!(
            temporaries(&a).iter().all(|t| !t.is_deprecated()),
            "temporaries untouched"
        );

        let sysctl = a.exec(&["sysctl", "-qw", "net.ipv6.conf.venet0.use_tempaddr=1"]);
        assert!(sysctl.status.success());
        let run = a.nlsel(&["deprecate", "--except", "::ff:fe00:1", "--check"]);
        run.expect_code(0);
        assert_eq!(run.stderr, "", "use_tempaddr=1 prefers the public address");
        assert_eq!(a.route_get_src(DEST), SLAAC_PARENT);
    }
);

nstest!(
    /// `prefer TEMP` would deprecate the temporary's own parent, and with it the temporary.
    fn prefer_of_a_temporary_is_refused_and_changes_nothing(py: Python3, a: Netns, b: Netns) {
        slaac_pair(&py, &a, &b, 2);
        a.add_addr(IF, &format!("{KEPT}/64"));
        autoconfigure(&a, &b);
        let before = a.snapshot();
        let temporary = temporaries(&a)[0].local.clone();
        let run = a.nlsel(&["prefer", &temporary]);
        run.expect_code(1);
        run.expect_one_error_line(&[
            &temporary,
            "temporary (privacy) address",
            "nothing was changed",
        ]);
        assert_eq!(run.stdout, "");
        a.assert_unchanged(&before, "after prefer TEMP");
    }
);

// ---------------------------------------------------------------------------------------------
// Soak tests: a watch left running, measured. Each is bounded in time (30 to 65 s); the sleeps
// in them pace the scenario (an RA every 3 s, an idle minute), never synchronise with nlsel.
// CPU time is read from /proc/PID/stat. Run them alone with `cargo test --test watch soak`.

/// User plus system CPU time of `pid` so far, in seconds, from /proc/PID/stat.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("cannot read stat");
    // The command name is in parentheses and may hold spaces: count fields after the last ')'.
    let after = stat.rsplit_once(')').expect("stat has a command name").1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    // Fields 14 (utime) and 15 (stime) of proc_pid_stat(5); field 3 is the first after ')'.
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / clock_ticks_per_second()
}

fn clock_ticks_per_second() -> f64 {
    let out = Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .expect("cannot run getconf");
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("CLK_TCK is a number")
}

/// `ip -n NS monitor address`, collecting its lines until [`Monitor::finish`].
struct Monitor {
    child: Child,
    lines: Receiver<String>,
}

impl Monitor {
    fn start(ns: &Netns) -> Monitor {
        let mut child = Command::new("ip")
            .args(["-n", ns.name(), "monitor", "address"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot run ip monitor");
        let stdout = child.stdout.take().expect("stdout is piped");
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Monitor { child, lines }
    }

    fn finish(mut self) -> Vec<String> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        self.lines.iter().collect()
    }
}

impl Drop for Monitor {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Every temporary address that existed in `ns` now or in the monitor's lines.
fn temporaries_ever(ns: &Netns, monitored: &[String]) -> std::collections::BTreeSet<String> {
    let mut seen: std::collections::BTreeSet<String> =
        temporaries(ns).into_iter().map(|a| a.local).collect();
    for line in monitored.iter().filter(|l| l.contains(" temporary ")) {
        let mut words = line.split_whitespace();
        if let Some(cidr) = words.find(|w| *w == "inet6").and_then(|_| words.next()) {
            seen.insert(cidr.split('/').next().unwrap_or(cidr).to_owned());
        }
    }
    seen
}

nstest!(
    /// (a) A kept SLAAC parent with use_tempaddr=2 and an RA every 3 s for 30 s: nlsel creates no
    /// temporaries beyond what the kernel alone creates in a twin namespace given the same RAs,
    /// warns once, and uses < 0.2 s of CPU.
    fn soak_privacy_addresses_stay_bounded_and_cost_no_cpu(
        py: Python3,
        a: Netns,
        b: Netns,
        twin: Netns,
        twin_router: Netns,
    ) {
        slaac_pair(&py, &a, &b, 2);
        slaac_pair(&py, &twin, &twin_router, 2);
        autoconfigure(&a, &b);
        autoconfigure(&twin, &twin_router);
        let monitor = Monitor::start(&a);
        let twin_monitor = Monitor::start(&twin);
        let mut watch = Watch::start(&a, &["prefer", SLAAC_PARENT, "--watch"]);
        let start = Instant::now();
        for round in 0..10u32 {
            let due = start + Duration::from_secs(3) * round;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            send_ra(&b, SLAAC_PREFIX);
            send_ra(&twin_router, SLAAC_PREFIX);
        }
        std::thread::sleep(
            (start + Duration::from_secs(30)).saturating_duration_since(Instant::now()),
        );
        let cpu = cpu_seconds(watch.child.id());
        let ended = watch.stop("TERM");
        let ours = temporaries_ever(&a, &monitor.finish());
        let kernel_alone = temporaries_ever(&twin, &twin_monitor.finish());
        eprintln!(
            "soak (a): temporaries with nlsel {}, kernel alone {}; CPU {cpu:.3} s",
            ours.len(),
            kernel_alone.len()
        );
        assert_eq!(ended.status.code(), Some(0), "{:?}", ended.stderr);
        assert!(
            ours.len() <= kernel_alone.len(),
            "nlsel made the kernel create temporaries: {ours:?} against {kernel_alone:?}"
        );
        assert!(cpu < 0.2, "watch used {cpu} s of CPU in 30 s");
        let warnings: Vec<&String> = ended
            .stderr
            .iter()
            .filter(|l| l.contains("use_tempaddr=2"))
            .collect();
        assert_eq!(
            warnings.len(),
            1,
            "one warning while the state stays: {:?}",
            ended.stderr
        );
        assert!(
            ended
                .stdout
                .iter()
                .all(|l| l == &format!("preferred {SLAAC_PARENT}/64 dev {IF}")),
            "only the parent is ever changed: {:?}",
            ended.stdout
        );
        assert!(temporaries(&a).iter().all(|t| !t.is_deprecated()));
    }
);

nstest!(
    /// (b) The old busy loop: a change refused by the limiter for an address then deleted. After
    /// it, 65 s idle must cost < 0.1 s of CPU.
    fn soak_fight_then_delete_then_65_s_idle_uses_no_cpu(ns: Netns) {
        venet0_with(&ns, &["2001:db8::beef/64"]);
        let mut watch = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        watch.wait_line(&deprecated("2001:db8::beef/64", IF), 1);
        for _ in 0..5 {
            prefer_forever(&ns, "2001:db8::beef/64");
        }
        ns.ip(&["addr", "del", "2001:db8::beef/64", "dev", IF]);
        ns.settle();
        let pid = watch.child.id();
        let before = cpu_seconds(pid);
        std::thread::sleep(Duration::from_secs(65));
        let after = cpu_seconds(pid);
        eprintln!("soak (b): CPU {before:.3} s before the idle 65 s, {after:.3} s after");
        assert!(
            after - before < 0.1,
            "idle watch used {} s of CPU in 65 s",
            after - before
        );
        let ended = watch.stop("TERM");
        assert_eq!(ended.status.code(), Some(0), "{:?}", ended.stderr);
    }
);

nstest!(
    /// (c) An RA every 3 s (RFC 4861's shortest MinRtrAdvInterval) for 30 s: every refresh is
    /// undone, none is deferred or warned about.
    fn soak_ra_every_3_s_is_undone_every_time(py: Python3, a: Netns, b: Netns) {
        slaac_pair(&py, &a, &b, 0);
        a.add_addr(IF, &format!("{KEPT}/64"));
        let mut watch = Watch::start(&a, &["deprecate", "--except", "::2", "--watch"]);
        let line = deprecated(&format!("{SLAAC_PARENT}/64"), IF);
        let start = Instant::now();
        let mut undone_after = Vec::new();
        for round in 0..10u32 {
            let due = start + Duration::from_secs(3) * round;
            std::thread::sleep(due.saturating_duration_since(Instant::now()));
            let started = Instant::now();
            send_ra(&b, SLAAC_PREFIX);
            // The RA leaves between the sender's start (python's start-up included) and its exit.
            let exited = Instant::now();
            watch.wait_line(&line, usize::try_from(round).unwrap() + 1);
            undone_after.push((started.elapsed().as_millis(), exited.elapsed().as_micros()));
            let addr = assert_deprecated(&a, SLAAC_PARENT);
            assert!(
                addr.valid <= 7200 && addr.valid > 7000,
                "valid lifetime kept: {addr:?}"
            );
        }
        eprintln!(
            "soak (c): 10 RAs, each undone; (ms from the sender's start, µs from its exit) to nlsel's line: {undone_after:?}"
        );
        assert_preferred_forever(&a, KEPT);
        let ended = watch.stop("TERM");
        assert_clean_end(&ended, &vec![line; 10]);
    }
);

nstest!(
    /// (d) SIGTERM in the middle of a first pass that deprecates 6,000 addresses: exit 0 within
    /// 1 s, measured by a bounded wait for the child.
    fn soak_sigterm_during_a_large_batch_exits_0_within_1_s(ns: Netns) {
        const COUNT: usize = 6000;
        venet0_with(&ns, &[]);
        let mut batch = String::new();
        for i in 1..=COUNT {
            batch.push_str(&format!("addr add 2001:db8::{i:x}:1/64 dev {IF}\n"));
        }
        ns.ip_batch(&batch);
        let deprecated_count = || {
            ns.ip(&["-6", "addr", "show", "dev", IF, "deprecated"])
                .lines()
                .filter(|l| l.trim_start().starts_with("inet6 "))
                .count()
        };
        let mut child = Command::new(BIN)
            .args(["-n", ns.name(), "deprecate", "--except", "::2", "--watch"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("cannot start nlsel");
        let pid = child.id().to_string();
        let deadline = Instant::now() + Duration::from_secs(60);
        while deprecated_count() == 0 {
            assert!(Instant::now() < deadline, "the batch never started");
            std::thread::yield_now();
        }
        let signalled = Instant::now();
        let kill = Command::new("kill")
            .args(["-s", "TERM", &pid])
            .status()
            .expect("cannot run kill");
        assert!(kill.success());
        let (tx, ended) = mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(child.wait());
        });
        let Ok(status) = ended.recv_timeout(Duration::from_secs(1)) else {
            let _ = Command::new("kill").args(["-s", "KILL", &pid]).status();
            panic!("nlsel did not end within 1 s of SIGTERM");
        };
        let status = status.expect("cannot reap nlsel");
        let took = signalled.elapsed();
        let done = deprecated_count();
        eprintln!(
            "soak (d): SIGTERM after the batch began, exit after {took:?}, {done} of {COUNT} deprecated"
        );
        assert_eq!(status.code(), Some(0), "{status:?}");
        assert!(
            done < COUNT,
            "the batch was over before the signal: not a test of mid-batch"
        );
    }
);

// ---------------------------------------------------------------------------------------------
// Issue 15: the loop acts on everything it has read, the kernel's RA refresh is no fight, the
// namespace can go, and the lows (signals, a failing pass, a full stdout, dadfailed).

/// Global IPv6 addresses in `ns`, other than `KEPT` and temporaries, that are preferred.
fn preferred_others(ns: &Netns) -> Vec<String> {
    ns.addrs()
        .into_iter()
        .filter(|a| a.is_global_v6() && a.local != KEPT && !a.has("temporary"))
        .filter(|a| !a.is_deprecated())
        .map(|a| a.local)
        .collect()
}

/// Polls until no address but `KEPT` is preferred, up to `GUARD`, then asserts it.
fn assert_none_left_preferred(ns: &Netns, watch: &Watch, what: &str) {
    let deadline = Instant::now() + GUARD;
    let mut left = preferred_others(ns);
    while !left.is_empty() && Instant::now() < deadline {
        std::thread::yield_now();
        left = preferred_others(ns);
    }
    assert!(
        left.is_empty(),
        "{what}: {} address(es) left preferred, e.g. {:?}\n{}",
        left.len(),
        left.iter().take(5).collect::<Vec<_>>(),
        watch.transcript()
    );
    assert_preferred_forever(ns, KEPT);
}

/// `addr add` lines for `count` addresses on `IF` in the block `block`.
fn add_lines(block: u16, count: u16) -> String {
    (1..=count)
        .map(|i| format!("addr add 2001:db8:{block:x}::1:{i:x}/64 dev {IF}\n"))
        .collect()
}

nstest!(
    /// Addresses added in batches while passes run: the notifications read during a pass (in its
    /// dumps, with its ACKs) are decided on before the loop waits again.
    fn batches_added_while_passes_run_are_all_deprecated(ns: Netns) {
        venet0_with(&ns, &[]);
        let watch = Watch::start(
            &ns,
            &["deprecate", "--except", "::2", "--dev", IF, "--watch"],
        );
        for block in 1..=3 {
            ns.ip_batch(&add_lines(block, 300));
        }
        assert_none_left_preferred(&ns, &watch, "3 x 300 added in batches");
    }
);

nstest!(
    /// `--watch` started while 2,000 addresses are being added (a boot race): what the first pass
    /// read but did not see in its dump is decided on at once.
    fn watch_started_during_a_large_add_leaves_none_preferred(ns: Netns) {
        venet0_with(&ns, &[]);
        let mut adder = Command::new("ip")
            .args(["-n", ns.name(), "-batch", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot run ip -batch");
        let mut stdin = adder.stdin.take().expect("stdin is piped");
        let writer = std::thread::spawn(move || {
            use std::io::Write as _;
            for block in 1..=4 {
                stdin
                    .write_all(add_lines(block, 500).as_bytes())
                    .expect("ip -batch took its input");
            }
        });
        let watch = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        writer.join().expect("writer thread");
        let added = adder.wait_with_output().expect("ip -batch ran");
        assert!(
            added.status.success(),
            "ip -batch: {}",
            String::from_utf8_lossy(&added.stderr)
        );
        assert_eq!(
            ns.addrs().iter().filter(|a| a.is_global_v6()).count(),
            2001,
            "all added"
        );
        assert_none_left_preferred(&ns, &watch, "2,000 added while the watch started");
    }
);

/// nlsel's netlink socket's receive queue in its namespace, from /proc/PID/net/netlink (the
/// `Rmem` column of the row whose port id is the pid, as the first socket of a process gets).
fn queued_bytes(pid: u32) -> u64 {
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/netlink"))
        .expect("cannot read /proc/PID/net/netlink");
    let row = table
        .lines()
        .skip(1)
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&"0") && f.get(2) == Some(&pid.to_string().as_str()))
        .unwrap_or_else(|| panic!("no NETLINK_ROUTE socket of port {pid}:\n{table}"));
    row[4].parse().expect("Rmem is a number")
}

/// Whether `pid` sleeps in poll(2): /proc/PID/stat's state and /proc/PID/wchan.
fn sleeps_in_poll(pid: u32) -> bool {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    let state = stat
        .rsplit_once(')')
        .map(|(_, rest)| rest.trim_start().starts_with('S'));
    let wchan = std::fs::read_to_string(format!("/proc/{pid}/wchan")).unwrap_or_default();
    state == Some(true) && wchan.starts_with("poll_schedule_timeout")
}

/// Waits until the watch has read everything queued for it and sleeps in its loop's poll (the
/// kernel answers requests within the send, so a pass never sleeps in poll): all that was
/// notified before this call has been handled. Checked twice in a row, to step over the
/// instant between a read and the next wait.
fn wait_handled(watch: &Watch) {
    let pid = watch.child.id();
    let deadline = Instant::now() + GUARD;
    let idle = || queued_bytes(pid) == 0 && sleeps_in_poll(pid);
    while !(idle() && idle()) {
        assert!(
            Instant::now() < deadline,
            "the watch never went idle\n{}",
            watch.transcript()
        );
        std::thread::yield_now();
    }
}

/// Sends a stream of `count` RAs for `prefix` from ra0 in `ns`, one every `interval` seconds,
/// with valid 7200 s and preferred `preferred` s, in the background.
fn ra_stream(ns: &Netns, prefix: &str, preferred: u32, count: u32, interval: &str) -> Child {
    Command::new("ip")
        .args([
            "netns",
            "exec",
            ns.name(),
            "python3",
            RA_SENDER,
            "ra0",
            prefix,
            "7200",
        ])
        .arg(preferred.to_string())
        .arg(count.to_string())
        .arg(interval)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("cannot run ra_sender.py")
}

/// Sends one RA for `prefix` with valid 7200 s and preferred `preferred` s.
fn send_ra_preferred(ns: &Netns, prefix: &str, preferred: u32) {
    let status = ra_stream(ns, prefix, preferred, 1, "0")
        .wait()
        .expect("ra_sender.py ran");
    assert!(status.success(), "ra_sender.py: {status:?}");
}

nstest!(
    /// RAs faster than one a second: the kernel's refresh of a SLAAC address is undone every
    /// time, at once, not held back by the limiter that bounds fights with other programs. Each
    /// RA is sent as soon as the refresh before it was undone, so they come far sooner than
    /// `MIN_INTERVAL` (1 s) after nlsel's last change: were a router's address limited, its
    /// changes would be deferred, the third deferral would warn, and stderr must hold the ready
    /// line only. What is asserted is what happened (one line and a deprecated parent for each
    /// RA, no warning), not how often the parent was seen preferred, which depends on how soon
    /// a loaded machine wakes nlsel (10 of 1,000 samples once, with the CPUs shared).
    fn sub_second_ra_stream_keeps_the_slaac_parent_deprecated(py: Python3, a: Netns, b: Netns) {
        const RAS: usize = 30;
        slaac_pair(&py, &a, &b, 0);
        a.add_addr(IF, &format!("{KEPT}/64"));
        let mut watch = Watch::start(&a, &["deprecate", "--except", "::2", "--watch"]);
        send_ra(&b, SLAAC_PREFIX);
        let line = deprecated(&format!("{SLAAC_PARENT}/64"), IF);
        watch.wait_line(&line, 1);
        let start = Instant::now();
        for n in 2..=RAS + 1 {
            send_ra(&b, SLAAC_PREFIX);
            watch.wait_line(&line, n);
            assert!(
                a.addr(SLAAC_PARENT).is_deprecated(),
                "RA #{n} was not undone\n{}",
                watch.transcript()
            );
        }
        eprintln!(
            "sub-second RAs: {RAS} refreshes undone in {:?}",
            start.elapsed()
        );
        let ended = watch.stop("TERM");
        assert_clean_end(&ended, &vec![line; RAS + 1]);
    }
);

/// The `preferred_lft` values `ip monitor address` showed for `local`.
fn monitored_preferred(lines: &[String], local: &str) -> Vec<String> {
    let mut values = Vec::new();
    let mut words = lines.iter().flat_map(|l| l.split_whitespace());
    let mut current = false;
    while let Some(word) = words.next() {
        if word.contains('/') && word.contains(':') {
            current = word.split('/').next() == Some(local);
        } else if word == "preferred_lft" && current {
            values.extend(words.next().map(str::to_owned));
        }
    }
    values
}

nstest!(
    /// `prefer SLAAC --watch` under a router that gives preferred 30 of valid 7200, then 0: the
    /// preferred lifetime is never raised above the router's, the router's 0 stays, and one
    /// warning says the router is deprecating the preferred address.
    fn prefer_keeps_the_routers_preferred_lifetime_and_its_deprecation(
        py: Python3,
        a: Netns,
        b: Netns,
    ) {
        slaac_pair(&py, &a, &b, 0);
        a.add_addr(IF, &format!("{KEPT}/64"));
        send_ra_preferred(&b, SLAAC_PREFIX, 30);
        wait_until(&a, "the SLAAC address", || {
            a.find_addr(SLAAC_PARENT).is_some()
        });
        let monitor = Monitor::start(&a);
        let mut watch = Watch::start(&a, &["prefer", SLAAC_PARENT, "--watch"]);
        let kept = deprecated(&format!("{KEPT}/64"), IF);
        watch.wait_line(&kept, 1);
        send_ra_preferred(&b, SLAAC_PREFIX, 30);
        wait_handled(&watch);
        let parent = a.addr(SLAAC_PARENT);
        assert!(
            parent.preferred <= 30 && parent.valid <= 7200,
            "the router's lifetimes: {parent:?}"
        );
        let warning = |l: &str| {
            l.starts_with(&format!("nlsel: warning: {SLAAC_PARENT}/64 dev {IF}: its router is deprecating the address you prefer"))
        };
        for n in 0..3 {
            send_ra_preferred(&b, SLAAC_PREFIX, 0);
            if n == 0 {
                watch.wait_lines(
                    Stream::Stderr,
                    1,
                    "the router's deprecation warning",
                    warning,
                );
            }
            wait_handled(&watch);
            // The kernel sets the deprecated flag itself a moment later (addrconf_verify).
            let parent = a.addr(SLAAC_PARENT);
            assert_eq!(parent.preferred, 0, "the router's 0 stays: {parent:?}");
        }
        let ended = watch.stop("TERM");
        assert_eq!(ended.status.code(), Some(0), "{:?}", ended.stderr);
        assert_eq!(ended.stdout, [kept], "only the other address is changed");
        assert_eq!(
            ended.stderr.iter().filter(|l| warning(l)).count(),
            1,
            "one warning per episode: {:?}",
            ended.stderr
        );
        let seen = monitored_preferred(&monitor.finish(), SLAAC_PARENT);
        assert!(!seen.is_empty(), "the monitor saw the parent");
        for value in &seen {
            let secs: u64 = value.trim_end_matches("sec").parse().unwrap_or(u64::MAX);
            assert!(
                secs <= 30,
                "preferred_lft {value} above the router's 30: {seen:?}"
            );
        }
    }
);

nstest!(
    /// `-n NS --watch` ends with exit 1 naming NS when NS is deleted, and a new watch works in the
    /// namespace added again under the same name.
    fn deleted_namespace_ends_the_watch_and_a_new_one_works(ns: Netns) {
        venet0_with(&ns, &["2001:db8::beef/64"]);
        let mut watch = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        watch.wait_line(&deprecated("2001:db8::beef/64", IF), 1);
        ns.ip_try(&["netns", "del", ns.name()]);
        let deadline = Instant::now() + GUARD;
        while watch.receive(deadline, "the end after ip netns del") {}
        let status = watch.child.wait().expect("cannot reap nlsel");
        assert_eq!(status.code(), Some(1), "{status:?} {:?}", watch.stderr);
        let last = watch.stderr.last().cloned().unwrap_or_default();
        assert!(
            last.contains(&format!("network namespace \"{}\"", ns.name()))
                && last.contains("deleted"),
            "the message names the namespace: {:?}",
            watch.stderr
        );
        // The same name, a new namespace.
        let added = Command::new("ip")
            .args(["netns", "add", ns.name()])
            .status()
            .expect("ip netns add");
        assert!(added.success());
        ns.ip(&["link", "set", "lo", "up"]);
        ns.veth(IF, "venet0p");
        ns.ip(&["addr", "add", &format!("{KEPT}/64"), "dev", IF, "nodad"]);
        let mut again = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        ns.ip(&["addr", "add", "2001:db8::cafe/64", "dev", IF, "nodad"]);
        again.wait_line(&deprecated("2001:db8::cafe/64", IF), 1);
        assert_deprecated(&ns, "2001:db8::cafe");
        let ended = again.stop("TERM");
        assert_eq!(ended.status.code(), Some(0), "{:?}", ended.stderr);
    }
);

/// A signal that arrives before the handler is installed still ends the watch with exit 0:
/// nlsel is started with SIGTERM (or SIGHUP) already pending, held blocked across exec, the
/// earliest a signal can come.
fn early_signal_ends_watch_with_exit_0(_py: &Python3, ns: &Netns, signal: &str) {
    venet0_with(ns, &["2001:db8::beef/64"]);
    let script = format!(
        "import os, signal, sys\n\
         s = signal.SIG{signal}\n\
         signal.pthread_sigmask(signal.SIG_BLOCK, [s])\n\
         os.kill(os.getpid(), s)\n\
         os.execv(sys.argv[1], sys.argv[1:])\n"
    );
    let child = Command::new("python3")
        .args([
            "-c",
            &script,
            BIN,
            "-n",
            ns.name(),
            "deprecate",
            "--except",
            "::2",
        ])
        .arg("--watch")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("cannot run python3");
    let (tx, ended) = mpsc::channel();
    let pid = child.id().to_string();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let Ok(output) = ended.recv_timeout(GUARD) else {
        let _ = Command::new("kill").args(["-s", "KILL", &pid]).status();
        panic!("nlsel did not end on a SIG{signal} that came before its handler");
    };
    let output = output.expect("cannot reap nlsel");
    assert_eq!(
        output.status.code(),
        Some(0),
        "{:?}: {}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    // It ended before it touched anything.
    assert_preferred_forever(ns, "2001:db8::beef");
}

nstest!(
    fn sigterm_before_the_handler_ends_watch_with_exit_0(py: Python3, ns: Netns) {
        early_signal_ends_watch_with_exit_0(&py, &ns, "TERM");
    }
);

nstest!(
    fn sighup_before_the_handler_ends_watch_with_exit_0(py: Python3, ns: Netns) {
        early_signal_ends_watch_with_exit_0(&py, &ns, "HUP");
    }
);

nstest!(
    fn sighup_ends_watch_with_exit_0(ns: Netns) {
        signal_ends_watch(&ns, "HUP");
    }
);

nstest!(
    /// stdout on a full device: the watch says so on stderr and ends with exit 1 at the first
    /// report it cannot write, instead of running on unheard.
    fn full_stdout_ends_the_watch_with_an_error(ns: Netns) {
        venet0_with(&ns, &["2001:db8::beef/64"]);
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("cannot open /dev/full");
        let mut child = Command::new(BIN)
            .args(["-n", ns.name(), "deprecate", "--except", "::2", "--watch"])
            .stdin(Stdio::null())
            .stdout(full)
            .stderr(Stdio::piped())
            .spawn()
            .expect("cannot start nlsel");
        let pid = child.id().to_string();
        let (tx, ended) = mpsc::channel();
        std::thread::spawn(move || {
            let mut stderr = String::new();
            let _ = child
                .stderr
                .take()
                .map(|mut e| e.read_to_string(&mut stderr));
            let _ = tx.send((child.wait(), stderr));
        });
        let Ok((status, stderr)) = ended.recv_timeout(GUARD) else {
            let _ = Command::new("kill").args(["-s", "KILL", &pid]).status();
            panic!("nlsel with stdout on /dev/full did not end");
        };
        let status = status.expect("cannot reap nlsel");
        assert_eq!(status.code(), Some(1), "{status:?}: {stderr}");
        assert!(
            stderr.contains("No space left on device"),
            "the cause on stderr: {stderr}"
        );
    }
);

nstest!(
    /// A pass that fails (the `--dev` link is gone) is reported once and retried at its timer
    /// only, not on every unrelated notification.
    fn failing_pass_is_reported_once_and_not_rerun_on_every_notification(ns: Netns) {
        venet0_with(&ns, &[]);
        ns.veth("veth1", "veth1p");
        ns.add_addr("veth1", "2001:db8:1::2/64");
        let mut watch = Watch::start(
            &ns,
            &["deprecate", "--except", "::2", "--dev", "veth1", "--watch"],
        );
        ns.ip(&["link", "del", "veth1"]);
        // A new address runs a pass, which fails; then 20 more notifications that would.
        ns.ip(&["addr", "add", "2001:db8:9::1:0/64", "dev", IF]);
        let failed = |l: &str| l.starts_with("nlsel: ") && l.contains("trying again");
        watch.wait_lines(Stream::Stderr, 1, "the failure", failed);
        for i in 1..=20 {
            ns.ip(&["addr", "add", &format!("2001:db8:9::1:{i:x}/64"), "dev", IF]);
        }
        wait_handled(&watch);
        let ended = watch.stop("TERM");
        assert_eq!(ended.status.code(), Some(0), "{:?}", ended.stderr);
        assert_eq!(
            ended.stderr.iter().filter(|l| failed(l)).count(),
            1,
            "one report of the failure: {:?}",
            ended.stderr
        );
        assert!(ended.stdout.is_empty(), "{:?}", ended.stdout);
    }
);

nstest!(
    /// The kept address failed duplicate address detection: said once while it stays so, not on
    /// every notification that runs a pass.
    fn dadfailed_warning_is_given_once_per_episode(ns: Netns, peer: Netns) {
        ns.ip(&["link", "add", IF, "type", "veth", "peer", "name", "dup0"]);
        ns.ip(&["link", "set", "dup0", "netns", peer.name()]);
        peer.ip(&["link", "set", "dup0", "up"]);
        peer.ip(&["addr", "add", &format!("{KEPT}/64"), "dev", "dup0", "nodad"]);
        let sysctl = ns.exec(&["sysctl", "-qw", "net.ipv6.conf.venet0.accept_dad=1"]);
        assert!(sysctl.status.success());
        ns.ip(&["link", "set", IF, "up"]);
        ns.veth("veth1", "veth1p");
        ns.ip(&["addr", "add", "2001:db8:1::2/64", "dev", "veth1"]);
        peer.settle();
        ns.ip(&["addr", "add", &format!("{KEPT}/64"), "dev", IF]);
        wait_until(&ns, "DAD failure of the kept address", || {
            ns.find_addr(KEPT).is_some_and(|a| a.has("dadfailed"))
        });
        ns.ip(&["addr", "add", "2001:db8::beef/64", "dev", IF, "nodad"]);
        let mut watch = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        let dadfailed = |l: &str| l.contains("failed duplicate address detection");
        for i in 1..=3u16 {
            let cidr = format!("2001:db8:1::1:{i:x}/64");
            ns.ip(&["addr", "add", &cidr, "dev", "veth1", "nodad"]);
            watch.wait_line(&deprecated(&cidr, "veth1"), 1);
        }
        let ended = watch.stop("TERM");
        assert_eq!(ended.status.code(), Some(0), "{:?}", ended.stderr);
        assert_eq!(
            ended.stderr.iter().filter(|l| dadfailed(l)).count(),
            1,
            "one warning while it stays: {:?}",
            ended.stderr
        );
        assert_preferred_forever(&ns, "2001:db8::beef");
    }
);

/// The `Drops` column of nlsel's NETLINK_ROUTE socket in /proc/PID/net/netlink.
fn dropped(pid: u32) -> u64 {
    let table = std::fs::read_to_string(format!("/proc/{pid}/net/netlink")).unwrap_or_default();
    table
        .lines()
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .find(|f| f.get(1) == Some(&"0") && f.get(2) == Some(&pid.to_string().as_str()))
        .and_then(|f| f.get(8).and_then(|d| d.parse().ok()))
        .unwrap_or(0)
}

nstest!(
    /// The kernel drops notifications (the watch is stopped while 30,000 of them flood its 8 MiB
    /// receive buffer, then 300 addresses are added, whose notifications are lost): the overrun
    /// leads to a full re-read, and none of the 300 is left preferred.
    fn overrun_leads_to_a_full_re_read(ns: Netns) {
        venet0_with(&ns, &["2001:db8::dead/64 preferred_lft 0"]);
        let mut watch = Watch::start(&ns, &["deprecate", "--except", "::2", "--watch"]);
        let pid = watch.child.id();
        let signal = |name: &str| {
            let sent = Command::new("kill")
                .args(["-s", name, &pid.to_string()])
                .status()
                .expect("kill");
            assert!(sent.success());
        };
        signal("STOP");
        // Notifications of a deprecated address, which call for nothing, until the queue is full.
        let flood =
            format!("addr change 2001:db8::dead/64 dev {IF} preferred_lft 0\n").repeat(30_000);
        ns.ip_batch(&flood);
        ns.ip_batch(&add_lines(7, 300));
        let drops = dropped(pid);
        signal("CONT");
        assert!(
            drops > 0,
            "the kernel dropped nothing: not a test of an overrun"
        );
        assert_none_left_preferred(&ns, &watch, "after an overrun");
        watch.wait_lines(Stream::Stdout, 300, "300 deprecations", |l| {
            l.starts_with("deprecated 2001:db8:7::")
        });
        let ended = watch.stop("TERM");
        assert_eq!(ended.status.code(), Some(0), "{:?}", ended.stderr);
    }
);
