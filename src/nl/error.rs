//! `struct nlmsgerr` (NLMSG_ERROR, which is also the ACK) and the errno that ends a dump
//! (NLMSG_DONE), both with the extended-ack attributes the kernel appends when asked.
//!
//! Layout of an NLMSG_ERROR payload: the negative errno as an `int`, the request's header, the
//! rest of the request unless the kernel set `NLM_F_CAPPED`, then, if `NLM_F_ACK_TLVS` is set,
//! attributes such as `NLMSGERR_ATTR_MSG` (a text explaining the error).

use super::attr::{Attr, AttrWriter, Attrs};
use super::header::{Header, NLMSG_HDRLEN, NlmFlags};
use super::{Error, Result, align4, field_mut, split};

pub const NLMSGERR_ATTR_MSG: u16 = 1;
pub const NLMSGERR_ATTR_OFFS: u16 = 2;
pub const NLMSGERR_ATTR_COOKIE: u16 = 3;
pub const NLMSGERR_ATTR_POLICY: u16 = 4;
pub const NLMSGERR_ATTR_MISS_TYPE: u16 = 5;
pub const NLMSGERR_ATTR_MISS_NEST: u16 = 6;

const ERRNO_LEN: usize = 4;

/// The extended-ack attributes nlsel reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ExtAck<'a> {
    /// `NLMSGERR_ATTR_MSG`, without its NUL.
    pub msg: Option<&'a [u8]>,
    /// `NLMSGERR_ATTR_OFFS`: offset of the offending attribute in the request.
    pub offset: Option<u32>,
    /// `NLMSGERR_ATTR_MISS_TYPE`: the attribute type the kernel missed.
    pub missing_type: Option<u32>,
}

impl<'a> ExtAck<'a> {
    pub fn parse(bytes: &'a [u8]) -> Result<ExtAck<'a>> {
        let mut ext_ack = ExtAck::default();
        for attr in Attrs::new(bytes) {
            let attr = attr?;
            match attr.attr_type() {
                NLMSGERR_ATTR_MSG => ext_ack.msg = Some(attr.c_str()),
                NLMSGERR_ATTR_OFFS => ext_ack.offset = Some(attr.u32("NLMSGERR_ATTR_OFFS")?),
                NLMSGERR_ATTR_MISS_TYPE => {
                    ext_ack.missing_type = Some(attr.u32("NLMSGERR_ATTR_MISS_TYPE")?)
                }
                _ => {}
            }
        }
        Ok(ext_ack)
    }

    pub fn is_empty(&self) -> bool {
        *self == ExtAck::default()
    }

    pub fn buffer_len(&self) -> usize {
        let msg = self
            .msg
            .map_or(0, |msg| Attr::len_for(msg.len().saturating_add(1)));
        let offset = self.offset.map_or(0, |_| Attr::len_for(4));
        let missing = self.missing_type.map_or(0, |_| Attr::len_for(4));
        msg.saturating_add(offset).saturating_add(missing)
    }

    pub fn emit(&self, buf: &mut [u8]) -> Result<()> {
        let mut writer = AttrWriter::new(buf, 0);
        if let Some(msg) = self.msg {
            writer.put_c_str(NLMSGERR_ATTR_MSG, msg)?;
        }
        if let Some(offset) = self.offset {
            writer.put(NLMSGERR_ATTR_OFFS, &offset.to_ne_bytes())?;
        }
        if let Some(missing) = self.missing_type {
            writer.put(NLMSGERR_ATTR_MISS_TYPE, &missing.to_ne_bytes())?;
        }
        Ok(())
    }
}

fn parse_errno<'a>(payload: &'a [u8], what: &'static str) -> Result<(i32, &'a [u8])> {
    let (errno, rest) = split(payload, ERRNO_LEN, what)?;
    let errno =
        <[u8; ERRNO_LEN]>::try_from(errno).map_err(|_| Error::truncated(what, ERRNO_LEN, 0))?;
    Ok((i32::from_ne_bytes(errno), rest))
}

/// An NLMSG_ERROR message: an ACK when `error` is 0, a failure otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorMessage<'a> {
    /// The kernel's `-errno`, or 0 for an ACK.
    pub error: i32,
    /// The header of the request this answers; its `seq` ties the two together.
    pub request: Header,
    /// The rest of the request, or `None` when the kernel capped it (`NLM_F_CAPPED`).
    pub request_payload: Option<&'a [u8]>,
    pub ext_ack: ExtAck<'a>,
}

impl<'a> ErrorMessage<'a> {
    /// Reads the payload of an NLMSG_ERROR whose header carried `flags`.
    pub fn parse(flags: NlmFlags, payload: &'a [u8]) -> Result<ErrorMessage<'a>> {
        let (error, rest) = parse_errno(payload, "nlmsgerr")?;
        let (request, after_header) = Header::parse(rest)
            .map_err(|_| Error::truncated("nlmsgerr", ERRNO_LEN + NLMSG_HDRLEN, payload.len()))?;
        let (request_payload, tlvs) = if flags.contains(NlmFlags::CAPPED) {
            (None, after_header)
        } else {
            let request_len = request.len as usize;
            let body_len = request_len
                .checked_sub(NLMSG_HDRLEN)
                .ok_or(Error::length_too_small(
                    "nlmsgerr request",
                    request_len,
                    NLMSG_HDRLEN,
                ))?;
            let (body, _) = split(after_header, body_len, "nlmsgerr request")?;
            let tlv_start = align4(ERRNO_LEN.saturating_add(request_len))
                .ok_or(Error::too_long("nlmsgerr request", request_len))?;
            (Some(body), payload.get(tlv_start..).unwrap_or_default())
        };
        let ext_ack = if flags.contains(NlmFlags::ACK_TLVS) {
            ExtAck::parse(tlvs)?
        } else {
            ExtAck::default()
        };
        Ok(ErrorMessage {
            error,
            request,
            request_payload,
            ext_ack,
        })
    }

    /// The positive errno, or `None` for an ACK.
    pub fn errno(&self) -> Option<i32> {
        (self.error != 0).then(|| self.error.saturating_neg())
    }

    /// The header flags a message carrying this payload must have.
    pub fn nlm_flags(&self) -> NlmFlags {
        let mut flags = NlmFlags::empty();
        if self.request_payload.is_none() {
            flags |= NlmFlags::CAPPED;
        }
        if !self.ext_ack.is_empty() {
            flags |= NlmFlags::ACK_TLVS;
        }
        flags
    }

    fn request_area_len(&self) -> usize {
        let body = self.request_payload.map_or(0, <[u8]>::len);
        align4(NLMSG_HDRLEN.saturating_add(body)).unwrap_or(usize::MAX)
    }
}

impl super::Emit for ErrorMessage<'_> {
    fn buffer_len(&self) -> usize {
        ERRNO_LEN
            .saturating_add(self.request_area_len())
            .saturating_add(self.ext_ack.buffer_len())
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field_mut(buf, 0, ERRNO_LEN, "nlmsgerr")?.copy_from_slice(&self.error.to_ne_bytes());
        let area = field_mut(buf, ERRNO_LEN, self.request_area_len(), "nlmsgerr")?;
        area.fill(0);
        self.request.emit(area)?;
        if let Some(body) = self.request_payload {
            field_mut(area, NLMSG_HDRLEN, body.len(), "nlmsgerr request")?.copy_from_slice(body);
        }
        let tlv_start = ERRNO_LEN.saturating_add(self.request_area_len());
        let tlvs = field_mut(buf, tlv_start, self.ext_ack.buffer_len(), "nlmsgerr")?;
        self.ext_ack.emit(tlvs)
    }
}

/// The payload of NLMSG_DONE: the dump's final errno, 0 when it completed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DoneMessage<'a> {
    pub error: i32,
    pub ext_ack: ExtAck<'a>,
}

impl<'a> DoneMessage<'a> {
    pub fn parse(flags: NlmFlags, payload: &'a [u8]) -> Result<DoneMessage<'a>> {
        let (error, rest) = parse_errno(payload, "NLMSG_DONE errno")?;
        let ext_ack = if flags.contains(NlmFlags::ACK_TLVS) {
            ExtAck::parse(rest)?
        } else {
            ExtAck::default()
        };
        Ok(DoneMessage { error, ext_ack })
    }

    pub fn errno(&self) -> Option<i32> {
        (self.error != 0).then(|| self.error.saturating_neg())
    }
}

impl super::Emit for DoneMessage<'_> {
    fn buffer_len(&self) -> usize {
        ERRNO_LEN.saturating_add(self.ext_ack.buffer_len())
    }

    fn emit(&self, buf: &mut [u8]) -> Result<()> {
        field_mut(buf, 0, ERRNO_LEN, "NLMSG_DONE errno")?
            .copy_from_slice(&self.error.to_ne_bytes());
        let tlvs = field_mut(buf, ERRNO_LEN, self.ext_ack.buffer_len(), "NLMSG_DONE")?;
        self.ext_ack.emit(tlvs)
    }
}
