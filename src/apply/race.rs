//! The guard that no address deleted during a change is brought back by it.
//!
//! The race: the kernel creates the address an RTM_NEWADDR names when it does not exist, even
//! without NLM_F_CREATE. If another process deletes an address between nlsel's dump and its
//! change, the change re-creates it. The guard:
//!
//! 1. The connection joins the address notification groups *before* the dump, so every
//!    RTM_NEWADDR and RTM_DELADDR from then on reaches nlsel, queued in the kernel's order
//!    among the dump replies and the ACKs (the kernel handles each message under the RTNL lock
//!    and queues its notifications before its ACK). Notifications are told from replies by
//!    kind (`crate::nl::request`), never by sequence number: IPv4 ones carry the sequence
//!    number and port of the process that caused them.
//! 2. Suspects: a change whose address had an RTM_DELADDR queued before the change's ACK; every
//!    change whose outcome is unknown (sent, ACK never came); and, if the kernel dropped
//!    notifications (ENOBUFS), every change.
//! 3. For each suspect, nlsel reads the address again. Absent: deleted after the change,
//!    nothing to do. Present: who created it?
//!    - IPv4, ACK seen, no overrun: the kernel notifies every creation and every change of an
//!      IPv4 address synchronously, so the RTM_NEWADDR notifications for the address between
//!      its last RTM_DELADDR and nlsel's ACK say it exactly: one is nlsel's own change, which
//!      created it (nlsel deletes it); two or more mean someone else re-added it and nlsel's
//!      change only updated it (kept).
//!    - Otherwise (IPv6, whose creation notification may come only when DAD ends and whose
//!      change of a tentative address notifies nothing; or an unknown outcome; or an overrun),
//!      the stamps of IFA_CACHEINFO decide. After a seen deletion what exists is a new
//!      incarnation; without one, only a creation stamp (`cstamp`) newer than the dump's shows
//!      one. A new incarnation never changed since its creation (`tstamp` == `cstamp`, or one
//!      hundredth later: see [`CREATION_STAMP_SLACK`]) is the one nlsel's change created, and
//!      nlsel deletes it; one changed since was re-added by someone else before the change,
//!      and it is kept.
//!
//! What cannot be closed:
//! - Another process deletes the address, nlsel's change re-creates it, and the other
//!   process's own re-add then fails with EEXIST: nlsel removes its copy and the address is
//!   gone. A refused request causes no notification, so nothing in what the kernel tells nlsel
//!   shows that anyone wanted the address back. The other process was told (EEXIST); one that
//!   re-adds with `ip addr replace` instead updates nlsel's copy, which the rules above see
//!   and keep (for IPv6, unless it lands in the same 10 ms tick as the re-creation).
//! - IPv6 (and IPv4 after an overrun or a lost ACK): another process re-adds the address and
//!   nlsel's change updates it within the same 10 ms tick; the two look alike and the address
//!   is deleted as if nlsel had created it.
//! - The opposite mistake, keeping a copy nlsel created, needs someone to change that copy
//!   before nlsel reads it back (for IPv4 with the ACK seen, not even then).

use std::net::IpAddr;

use crate::context::Context;
use crate::failure::{Failure, Kind};
use crate::model::{Address, Interface, read_addresses};
use crate::nl::Family;
use crate::nl::addr::AddrMessage;
use crate::nl::header::{RTM_DELADDR, RTM_NEWADDR};
use crate::nl::request::{BatchOutcome, Notification, RequestError};
use crate::plan::Change;
use crate::srcsel::read::ReadError;

/// The address a notification names, with the notification's type: (type, ifindex, address).
fn notified_address(notification: &Notification) -> Option<(u16, u32, IpAddr)> {
    if notification.msg_type != RTM_DELADDR && notification.msg_type != RTM_NEWADDR {
        return None;
    }
    let (message, _) = AddrMessage::parse(&notification.payload).ok()?;
    Some((
        notification.msg_type,
        message.ifindex,
        message.local_address()?,
    ))
}

/// What the notifications before a change's ACK say of its address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
struct History {
    /// An RTM_DELADDR for it was seen.
    deleted: bool,
    /// RTM_NEWADDR notifications for it after its last RTM_DELADDR.
    news_after_deletion: usize,
}

fn history(notified: &[Option<(u16, u32, IpAddr)>], key: (u32, IpAddr)) -> History {
    let mut history = History::default();
    for &(msg_type, ifindex, local) in notified.iter().flatten() {
        if (ifindex, local) != key {
            continue;
        }
        if msg_type == RTM_DELADDR {
            history = History {
                deleted: true,
                news_after_deletion: 0,
            };
        } else if history.deleted {
            history.news_after_deletion = history.news_after_deletion.saturating_add(1);
        }
    }
    history
}

/// A change that may have re-created a deleted address.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Suspect {
    /// Index of the change.
    index: usize,
    /// What the notifications said, up to the change's ACK (up to the end, when its ACK
    /// never came).
    history: History,
    /// The kernel acknowledged the change; otherwise its outcome is unknown.
    acknowledged: bool,
}

/// The changes that may have re-created a deleted address: those acknowledged after an
/// RTM_DELADDR of their address, and, when notifications may be missing (`overrun`) or the
/// change's outcome is unknown (sent, but no ACK), all of them.
pub(super) fn suspects(
    changes: &[&Change<'_>],
    outcome: &BatchOutcome,
    notifications: &[Notification],
    overrun: bool,
) -> Vec<Suspect> {
    let notified: Vec<Option<(u16, u32, IpAddr)>> =
        notifications.iter().map(notified_address).collect();
    (0..outcome.sent.min(changes.len()))
        .filter_map(|index| {
            let change = changes.get(index)?;
            let acknowledged = match outcome.results.get(index) {
                Some(Some(Ok(()))) => true,
                // Refused: the kernel changed nothing.
                Some(Some(Err(_))) => return None,
                _ => false,
            };
            let before_ack = if acknowledged {
                outcome
                    .notifications_before_ack
                    .get(index)
                    .copied()
                    .unwrap_or(0)
            } else {
                notified.len()
            };
            let key = (change.address.ifindex, change.address.local);
            let history = history(notified.get(..before_ack).unwrap_or_default(), key);
            (history.deleted || overrun || !acknowledged).then_some(Suspect {
                index,
                history,
                acknowledged,
            })
        })
        .collect()
}

/// Who created the address that exists now, as far as nlsel can tell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Creator {
    /// The address nlsel's dump saw, never deleted: nothing to undo.
    Original,
    /// nlsel's change re-created it after someone deleted it.
    OurChange,
    /// Someone else re-added it, and nlsel's change only updated it.
    SomeoneElse,
}

/// Decides who created `current`, the address as read back after the change, for a change of
/// `original` that is suspect as `suspect` says.
fn creator(original: &Address, current: &Address, suspect: &Suspect, overrun: bool) -> Creator {
    let history = suspect.history;
    // IPv4 notifies every creation and every change at once, under the RTNL lock, so between
    // the last deletion and the ACK exactly one RTM_NEWADDR means our change created the
    // address, and two or more that someone else created it and our change updated it.
    // IPv6 notifies a tentative address only when DAD ends, so only the stamps can tell.
    if original.family == Family::Inet
        && history.deleted
        && suspect.acknowledged
        && !overrun
        && history.news_after_deletion > 0
    {
        return if history.news_after_deletion == 1 {
            Creator::OurChange
        } else {
            Creator::SomeoneElse
        };
    }
    // After a deletion, what exists is a new incarnation whatever its stamp says (the two can
    // share a 10 ms tick); otherwise only a new creation stamp shows one.
    let new_incarnation = history.deleted || current.cstamp != original.cstamp;
    if !new_incarnation {
        Creator::Original
    } else if current.tstamp.wrapping_sub(current.cstamp) <= CREATION_STAMP_SLACK {
        Creator::OurChange
    } else {
        Creator::SomeoneElse
    }
}

/// How many hundredths of a second `tstamp` may trail `cstamp` in an address never changed
/// since its creation. Since 3.14 `ipv6_add_addr` sets both from one `jiffies`, but 3.10's
/// `inet6_addr_add` (OpenVZ 7's too) sets `tstamp = jiffies` once more after `ipv6_add_addr`
/// returns, without sleeping in between (its allocations are GFP_ATOMIC): the two reads can
/// straddle one 10 ms boundary of `cstamp_delta`, not two. It widens the one tick in which an
/// update by someone else cannot be told from the creation (module comment) to two.
pub const CREATION_STAMP_SLACK: u32 = 1;

/// Deletes what the changes in `suspects` re-created; returns the indexes of those it deleted.
pub(super) fn remove_recreated(
    ctx: &mut Context,
    interfaces: &[Interface],
    changes: &[&Change<'_>],
    suspects: &[Suspect],
    overrun: bool,
) -> Result<Vec<usize>, Failure> {
    let mut removed = Vec::new();
    for suspect in suspects {
        let i = suspect.index;
        let Some(change) = changes.get(i) else {
            continue;
        };
        let original = change.address;
        let Some(current) = read_back(ctx, original)? else {
            // Absent: deleted after the change, or the change never re-created it.
            continue;
        };
        if creator(original, &current, suspect, overrun) != Creator::OurChange {
            continue;
        }
        let deletion = current.delete_message();
        match ctx.conn.request(RTM_DELADDR, &deletion, |_| Ok(())) {
            Ok(()) => removed.push(i),
            // Deleted again meanwhile: the state is what the other process wanted.
            Err(error)
                if error.errno() == Some(libc::EADDRNOTAVAIL)
                    || error.errno() == Some(libc::ENODEV) =>
            {
                removed.push(i)
            }
            // The ACK was dropped: read the state instead of waiting for it.
            Err(RequestError::AcksLost { .. }) if read_back(ctx, original)?.is_none() => {
                removed.push(i)
            }
            Err(error) => {
                let what = format!(
                    "removing re-created {}",
                    super::change_description(change, interfaces)
                );
                return Err(Kind::Request(ReadError {
                    what,
                    source: error,
                })
                .into());
            }
        }
    }
    Ok(removed)
}

/// The address `original` names (same interface, same local address) as the kernel has it
/// now, if it has it.
fn read_back(ctx: &mut Context, original: &Address) -> Result<Option<Address>, Failure> {
    let now = read_addresses(&mut ctx.conn, original.family, |address| {
        address.ifindex == original.ifindex && address.local == original.local
    })
    .map_err(Failure::request("re-reading addresses"))?;
    Ok(now.into_iter().next())
}

#[cfg(test)]
mod tests {
    //! The race guard's decisions, on hand-made notifications: which changes are suspect, and
    //! who created the address that exists after them.

    use super::*;
    use crate::nl::Emit;
    use crate::nl::header::NlmFlags;
    use crate::nl::request::KernelError;
    use crate::plan::Action;

    fn address(text: &str, cstamp: u32, tstamp: u32) -> Address {
        Address {
            cstamp,
            tstamp,
            ..Address::for_test(text)
        }
    }

    fn notification(msg_type: u16, ifindex: u32, text: &str) -> Notification {
        let local: IpAddr = text.parse().unwrap();
        let message = AddrMessage {
            ifindex,
            local: Some(local),
            address: Some(local),
            ..AddrMessage::empty(Family::of(&local))
        };
        let mut payload = vec![0; message.buffer_len().unwrap()];
        message.emit(&mut payload).unwrap();
        Notification {
            msg_type,
            flags: NlmFlags::empty(),
            payload,
        }
    }

    fn deprecation(address: &Address) -> Change<'_> {
        Change {
            address,
            action: Action::Deprecate,
            preferred_lft: 0,
            valid_lft: address.valid_lft,
        }
    }

    /// A batch of `n` changes, all sent; `acked[i]` says whether change i was acknowledged,
    /// after `before_ack[i]` notifications.
    fn outcome(acked: &[Option<bool>], before_ack: &[usize]) -> BatchOutcome {
        BatchOutcome {
            results: acked
                .iter()
                .map(|ack| {
                    ack.map(|ok| {
                        if ok {
                            Ok(())
                        } else {
                            Err(KernelError {
                                errno: libc::EINVAL,
                                message: None,
                            })
                        }
                    })
                })
                .collect(),
            notifications_before_ack: before_ack.to_vec(),
            sent: acked.len(),
            failure: None,
        }
    }

    #[test]
    fn history_counts_creations_after_the_last_deletion_of_the_same_address() {
        let key = (2, "192.0.2.1".parse().unwrap());
        let notified: Vec<_> = [
            notification(RTM_NEWADDR, 2, "192.0.2.1"),
            notification(RTM_DELADDR, 2, "192.0.2.1"),
            notification(RTM_NEWADDR, 3, "192.0.2.1"),
            notification(RTM_NEWADDR, 2, "192.0.2.9"),
            notification(RTM_NEWADDR, 2, "192.0.2.1"),
        ]
        .iter()
        .map(notified_address)
        .collect();
        assert_eq!(
            history(&notified, key),
            History {
                deleted: true,
                news_after_deletion: 1
            }
        );
        assert_eq!(history(&notified[..1], key), History::default());
    }

    #[test]
    fn suspects_are_deletions_before_the_ack_unknown_outcomes_and_everything_after_an_overrun() {
        let kept = address("2001:db8::1", 10, 10);
        let deleted = address("2001:db8::2", 10, 10);
        let unanswered = address("2001:db8::3", 10, 10);
        let refused = address("2001:db8::4", 10, 10);
        let changes_owned = [
            deprecation(&kept),
            deprecation(&deleted),
            deprecation(&unanswered),
            deprecation(&refused),
        ];
        let changes: Vec<&Change<'_>> = changes_owned.iter().collect();
        let notifications = [
            notification(RTM_DELADDR, 2, "2001:db8::2"),
            // After every ACK it was counted for: not a reason to suspect change 0.
            notification(RTM_DELADDR, 2, "2001:db8::1"),
        ];
        let batch = outcome(&[Some(true), Some(true), None, Some(false)], &[0, 1, 0, 0]);
        let found = suspects(&changes, &batch, &notifications, false);
        let indexes: Vec<usize> = found.iter().map(|suspect| suspect.index).collect();
        assert_eq!(indexes, [1, 2]);
        assert!(found[0].acknowledged && found[0].history.deleted);
        // Unanswered: every notification counts, and there were none for it.
        assert!(!found[1].acknowledged && !found[1].history.deleted);
        // After an overrun every sent, unrefused change is suspect.
        let indexes: Vec<usize> = suspects(&changes, &batch, &notifications, true)
            .iter()
            .map(|suspect| suspect.index)
            .collect();
        assert_eq!(indexes, [0, 1, 2]);
        // A change that was never sent cannot have re-created anything.
        let mut unsent = outcome(&[Some(true), Some(true), None, Some(false)], &[0, 1, 0, 0]);
        unsent.sent = 2;
        assert_eq!(suspects(&changes, &unsent, &notifications, true).len(), 2);
    }

    #[test]
    fn creator_by_ipv4_notification_count_then_by_stamps() {
        let suspect = |deleted, news, acknowledged| Suspect {
            index: 0,
            history: History {
                deleted,
                news_after_deletion: news,
            },
            acknowledged,
        };
        let v4 = address("192.0.2.1", 10, 10);
        let untouched = address("192.0.2.1", 50, 50);
        let updated = address("192.0.2.1", 50, 60);
        assert_eq!(
            creator(&v4, &updated, &suspect(true, 1, true), false),
            Creator::OurChange
        );
        assert_eq!(
            creator(&v4, &untouched, &suspect(true, 2, true), false),
            Creator::SomeoneElse
        );
        // After an overrun the count cannot be trusted: the stamps decide.
        assert_eq!(
            creator(&v4, &untouched, &suspect(true, 2, true), true),
            Creator::OurChange
        );
        let v6 = address("2001:db8::1", 10, 10);
        let same = address("2001:db8::1", 10, 10);
        let new_untouched = address("2001:db8::1", 50, 50);
        let new_updated = address("2001:db8::1", 50, 60);
        assert_eq!(
            creator(&v6, &same, &suspect(false, 0, false), false),
            Creator::Original
        );
        // A deletion seen makes any copy a new incarnation, even with the old stamps.
        assert_eq!(
            creator(&v6, &same, &suspect(true, 0, true), false),
            Creator::OurChange
        );
        assert_eq!(
            creator(&v6, &new_untouched, &suspect(false, 0, false), true),
            Creator::OurChange
        );
        assert_eq!(
            creator(&v6, &new_updated, &suspect(true, 1, true), false),
            Creator::SomeoneElse
        );
        // 3.10's inet6_addr_add stamps tstamp again just after creation: one hundredth
        // later is still the creation, two is a change.
        let straddled = address("2001:db8::1", 50, 50 + CREATION_STAMP_SLACK);
        assert_eq!(
            creator(&v6, &straddled, &suspect(true, 0, true), false),
            Creator::OurChange
        );
        let changed = address("2001:db8::1", 50, 51 + CREATION_STAMP_SLACK);
        assert_eq!(
            creator(&v6, &changed, &suspect(true, 0, true), false),
            Creator::SomeoneElse
        );
        // A tstamp before cstamp is no creation (and the stamps may wrap: u32 hundredths).
        let earlier = address("2001:db8::1", 50, 49);
        assert_eq!(
            creator(&v6, &earlier, &suspect(true, 0, true), false),
            Creator::SomeoneElse
        );
        let wrapped = address("2001:db8::1", u32::MAX, 0);
        assert_eq!(
            creator(&v6, &wrapped, &suspect(true, 0, true), false),
            Creator::OurChange
        );
    }
}
