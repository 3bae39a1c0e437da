//! Verification of a ledger: the hash chain, and a replay of every entry into a fresh
//! [`Registry`] that re-applies the rules and the conservation invariant.

use std::fmt;

use crate::ledger::{DecodeError, Digest, Entry};
use crate::{ConservationError, Registry, RegistryError, Totals};

/// What a successful verification found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// How many entries (the last sequence number).
    pub entries: u64,
    /// The last entry's hash. Compare it with a head kept elsewhere to detect a truncated
    /// ledger (dropping the last entries leaves a valid, shorter chain).
    pub head: Digest,
    /// Certificate totals after the last entry; conserved.
    pub totals: Totals,
}

impl fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ok {} entries", self.entries)
    }
}

/// The first bad entry of a ledger and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("entry {first_bad_seq}: {reason}")]
pub struct VerifyError {
    /// The sequence number the first bad entry should have: its position in the ledger,
    /// counted from 1.
    pub first_bad_seq: u64,
    /// What is wrong with it.
    pub reason: VerifyFailure,
}

/// What is wrong with a bad entry.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VerifyFailure {
    /// Its stored bytes are not a well-formed entry.
    #[error("cannot be read: {0}")]
    Undecodable(DecodeError),
    /// It carries another sequence number than its position (an entry deleted, inserted or
    /// moved before it).
    #[error("carries sequence number {found} (an entry is missing, extra or out of order)")]
    OutOfSequence {
        /// The sequence number it carries.
        found: u64,
    },
    /// Its `prev_hash` is not the previous entry's hash.
    #[error("its prev_hash does not match the previous entry's hash")]
    BrokenChain,
    /// Its hash is not the hash of its content: it was changed after it was written.
    #[error("its hash does not match its content (stored {stored}, computed {computed})")]
    HashMismatch {
        /// The hash it carries.
        stored: Digest,
        /// The hash of its content.
        computed: Digest,
    },
    /// Replaying its command breaks a rule.
    #[error("breaks a rule: {0}")]
    RuleViolated(RegistryError),
    /// Replaying its command has other effects than the entry records.
    #[error("records other effects than its command has ({0})")]
    EffectMismatch(String),
    /// The conservation rule fails after it.
    #[error("breaks conservation: {0}")]
    Conservation(ConservationError),
    /// A stored checkpoint at this entry is not the state the ledger replays to (or is
    /// unreadable, or lies beyond the ledger's end: entries were cut off).
    #[error("the stored checkpoint here {0}")]
    Checkpoint(String),
}

/// Verifies entries in ledger order: each must carry its position as sequence number, chain
/// onto the previous hash, hash to its stored hash, and replay into a fresh registry with
/// exactly the effects it records while conserving every certificate. Names the first bad entry.
pub fn verify(entries: &[Entry]) -> Result<VerifyReport, VerifyError> {
    replay(entries).map(|(_, report)| report)
}

/// Verifies entries from their stored bytes ([`Entry::to_bytes`]), as a store keeps them.
pub fn verify_bytes<B: AsRef<[u8]>>(entries: &[B]) -> Result<VerifyReport, VerifyError> {
    verify_bytes_with_checkpoint(entries, None)
}

/// [`verify_bytes`], and a stored checkpoint ([`Registry::checkpoint`]) checked on the way:
/// the state the ledger replays to at its position must encode to exactly its bytes.
pub fn verify_bytes_with_checkpoint<B: AsRef<[u8]>>(
    entries: &[B],
    checkpoint: Option<&[u8]>,
) -> Result<VerifyReport, VerifyError> {
    let mut verifier = StreamVerifier::new(checkpoint)?;
    for bytes in entries {
        verifier.push(bytes.as_ref())?;
    }
    verifier.finish()
}

/// [`verify_bytes_with_checkpoint`] for a ledger read a part at a time: the stored bytes of
/// each entry are pushed in ledger order, and only the registry's state is kept.
pub struct StreamVerifier {
    replayer: Replayer,
    /// The checkpoint's position and bytes.
    checkpoint: Option<(u64, Vec<u8>)>,
}

impl StreamVerifier {
    /// A verifier of a ledger from its first entry, with the stored checkpoint to compare, if
    /// any (refused if it cannot be read).
    pub fn new(checkpoint: Option<&[u8]>) -> Result<StreamVerifier, VerifyError> {
        let checkpoint = match checkpoint {
            Some(bytes) => {
                let seq = Registry::checkpoint_seq(bytes).map_err(|e| VerifyError {
                    first_bad_seq: 0,
                    reason: VerifyFailure::Checkpoint(format!("cannot be read: {e}")),
                })?;
                Some((seq, bytes.to_vec()))
            }
            None => None,
        };
        let verifier = StreamVerifier {
            replayer: Replayer::new(Registry::new()),
            checkpoint,
        };
        verifier.check_checkpoint()?;
        Ok(verifier)
    }

    /// Verifies the next entry from its stored bytes.
    pub fn push(&mut self, bytes: &[u8]) -> Result<(), VerifyError> {
        let entry = Entry::from_bytes(bytes).map_err(|e| VerifyError {
            first_bad_seq: self.replayer.next_seq,
            reason: VerifyFailure::Undecodable(e),
        })?;
        self.replayer.push(entry)?;
        // Only the state is needed: the entries are the caller's.
        self.replayer.registry.forget_entries();
        self.check_checkpoint()
    }

    /// The report after the last entry pushed; refused if the checkpoint lies beyond it.
    pub fn finish(self) -> Result<VerifyReport, VerifyError> {
        let last = self.replayer.next_seq - 1;
        if let Some((seq, _)) = self.checkpoint.as_ref().filter(|(seq, _)| *seq > last) {
            return Err(VerifyError {
                first_bad_seq: *seq,
                reason: VerifyFailure::Checkpoint(format!(
                    "lies beyond the ledger, which ends at entry {last}: entries were cut off"
                )),
            });
        }
        self.replayer.finish().map(|(_, report)| report)
    }

    /// At the checkpoint's position, the state must encode to its bytes.
    fn check_checkpoint(&self) -> Result<(), VerifyError> {
        match &self.checkpoint {
            Some((seq, bytes)) if *seq == self.replayer.next_seq - 1 => {
                if self.replayer.registry.checkpoint() == *bytes {
                    Ok(())
                } else {
                    Err(VerifyError {
                        first_bad_seq: *seq,
                        reason: VerifyFailure::Checkpoint(
                            "differs from the state the ledger replays to".into(),
                        ),
                    })
                }
            }
            _ => Ok(()),
        }
    }
}

/// Rebuilds a registry from its ledger, verifying it on the way (see [`verify`]).
pub fn replay(entries: &[Entry]) -> Result<(Registry, VerifyReport), VerifyError> {
    resume(Registry::new(), entries.iter().cloned())
}

/// Replays `entries` — those after `registry`'s last, as when it was restored from a
/// checkpoint — onto it, verifying each as [`verify`] does (sequence, chain onto its head,
/// hash, rules, conservation).
pub fn resume(
    registry: Registry,
    entries: impl IntoIterator<Item = Entry>,
) -> Result<(Registry, VerifyReport), VerifyError> {
    let mut replayer = Replayer::new(registry);
    for entry in entries {
        replayer.push(entry)?;
    }
    replayer.finish()
}

struct Replayer {
    registry: Registry,
    next_seq: u64,
}

impl Replayer {
    fn new(registry: Registry) -> Replayer {
        Replayer {
            next_seq: registry.last_seq() + 1,
            registry,
        }
    }

    fn push(&mut self, entry: Entry) -> Result<(), VerifyError> {
        let bad = |reason| VerifyError {
            first_bad_seq: self.next_seq,
            reason,
        };
        if entry.seq != self.next_seq {
            return Err(bad(VerifyFailure::OutOfSequence { found: entry.seq }));
        }
        if entry.prev_hash != self.registry.head() {
            return Err(bad(VerifyFailure::BrokenChain));
        }
        let computed = entry.computed_hash();
        if computed != entry.hash {
            return Err(bad(VerifyFailure::HashMismatch {
                stored: entry.hash,
                computed,
            }));
        }
        match self.registry.replay_entry(entry) {
            Err(e) => return Err(bad(VerifyFailure::RuleViolated(e))),
            Ok(Err(body)) => {
                return Err(bad(VerifyFailure::EffectMismatch(format!(
                    "the rules give {}",
                    describe(&body)
                ))));
            }
            Ok(Ok(())) => {}
        }
        let last = self.registry.entries().last().expect("just replayed");
        let pms = self.registry.pms_of_body(&last.body);
        self.registry
            .check_pms(&pms)
            .map_err(|e| bad(VerifyFailure::Conservation(e)))?;
        self.next_seq += 1;
        Ok(())
    }

    fn finish(self) -> Result<(Registry, VerifyReport), VerifyError> {
        let totals = self
            .registry
            .check_conservation()
            .map_err(|e| VerifyError {
                first_bad_seq: self.next_seq - 1,
                reason: VerifyFailure::Conservation(e),
            })?;
        let report = VerifyReport {
            entries: self.next_seq - 1,
            head: self.registry.head(),
            totals,
        };
        Ok((self.registry, report))
    }
}

/// A short description of a body for error messages.
fn describe(body: &crate::Body) -> String {
    let ranges: Vec<String> = body.ranges().iter().map(ToString::to_string).collect();
    format!("{} of [{}]", body.kind(), ranges.join(", "))
}
