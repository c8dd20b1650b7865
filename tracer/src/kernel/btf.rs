//! Member offsets of kernel structs, read from the kernel's own BTF, for the few places a
//! program reads a kernel struct (`task_struct.pid` in the scheduler programs, the addresses of
//! `struct sock` in the TCP state program). Reading the running kernel's BTF is what CO-RE
//! relocations do; aya 0.14 has none for Rust programs.
use std::{collections::HashMap, fs};

use anyhow::{bail, Context, Result};

const BTF_MAGIC: u16 = 0xeb9f;
const KIND_PTR: u32 = 2;
const KIND_STRUCT: u32 = 4;
const KIND_UNION: u32 = 5;
const KIND_TYPEDEF: u32 = 8;
const KIND_FUNC_PROTO: u32 = 13;

/// Reads BTF file `path` (sysfs serves it a page per read, so this takes a few milliseconds).
pub fn read(path: &str) -> Result<Vec<u8>> {
    fs::read(path).with_context(|| format!("cannot read {path}"))
}

/// A kernel's BTF, parsed once, with its structs and typedefs indexed by name: every offset and
/// feature tracer asks of it at start-up.
pub struct KernelBtf<'a> {
    types: Types<'a>,
    structs: HashMap<&'a [u8], usize>,
    typedefs: HashMap<&'a [u8], usize>,
}

impl<'a> KernelBtf<'a> {
    pub fn parse(data: &'a [u8]) -> Result<Self> {
        let types = Types::parse(data)?;
        let (mut structs, mut typedefs) = (HashMap::new(), HashMap::new());
        for id in 1..types.starts.len() {
            let (kind, name_off, ..) = types.header(id)?;
            let index = match kind {
                KIND_STRUCT => &mut structs,
                KIND_TYPEDEF => &mut typedefs,
                _ => continue,
            };
            // The first of a name, as a linear search would find it.
            index.entry(types.string(name_off)).or_insert(id);
        }
        Ok(Self { types, structs, typedefs })
    }

    /// Byte offset of `member` in `struct name`; a member of an anonymous struct or union inside
    /// it (`sock_common.skc_daddr`) is found too.
    pub fn member_offset(&self, name: &str, member: &str) -> Result<u32> {
        let id = *self.structs.get(name.as_bytes()).with_context(|| format!("kernel BTF: no struct {name}"))?;
        match self.types.find(id, member.as_bytes(), 0)? {
            Some(bits) => Ok(bits / 8),
            None => bail!("kernel BTF: struct {name} has no member {member}"),
        }
    }

    /// Whether `struct name` has `member` (anonymous members looked into).
    pub fn has_member(&self, name: &str, member: &str) -> bool {
        self.member_offset(name, member).is_ok()
    }

    /// How many arguments BTF tracepoint `name` passes its programs, or `None` where this kernel
    /// has no such tracepoint: its `btf_trace_NAME` typedef points to a function whose first
    /// parameter is the tracepoint's own data pointer, then the arguments (what aya's
    /// `BtfTracePoint::load` looks up, and what the verifier checks a program's context reads
    /// against).
    pub fn tracepoint_arg_count(&self, name: &str) -> Result<Option<usize>> {
        let typedef = format!("btf_trace_{name}");
        let Some(&id) = self.typedefs.get(typedef.as_bytes()) else { return Ok(None) };
        let types = &self.types;
        // A typedef's and a pointer's type follow their name and info.
        let (.., at) = types.header(id)?;
        let (ptr_kind, .., ptr_at) = types.header(u32_at(types.data, at + 8)? as usize)?;
        let proto = u32_at(types.data, ptr_at + 8)? as usize;
        let (proto_kind, _, params, ..) = types.header(proto)?;
        if ptr_kind != KIND_PTR || proto_kind != KIND_FUNC_PROTO || params == 0 {
            bail!("{typedef} is not a pointer to a function");
        }
        Ok(Some(params - 1))
    }
}

/// The type section of a BTF blob, with where each type starts.
struct Types<'a> {
    data: &'a [u8],
    strings: usize,
    /// Start of type `id` (ids count from 1; 0 is void).
    starts: Vec<usize>,
}

impl<'a> Types<'a> {
    fn parse(data: &'a [u8]) -> Result<Self> {
        let u32_at = |at: usize| u32_at(data, at);
        if u16::from_le_bytes(data.get(0..2).context("truncated BTF")?.try_into().unwrap()) != BTF_MAGIC {
            bail!("not little-endian BTF");
        }
        let header_len = u32_at(4)? as usize;
        let (type_off, type_len) = (u32_at(8)? as usize, u32_at(12)? as usize);
        let strings = header_len + u32_at(16)? as usize;
        let (types, end) = (header_len + type_off, header_len + type_off + type_len);
        let mut starts = vec![0];
        let mut at = types;
        while at < end {
            starts.push(at);
            let info = u32_at(at + 4)?;
            let vlen = (info & 0xffff) as usize;
            // The common part, then what follows it, by kind.
            at += 12 + match (info >> 24) & 0x1f {
                1 | 14 | 17 => 4,             // int, var, decl_tag
                3 => 12,                       // array
                4 | 5 | 15 | 19 => vlen * 12,  // struct, union, datasec, enum64
                6 | 13 => vlen * 8,            // enum, func_proto
                _ => 0,                        // ptr, fwd, typedef, modifiers, func, float, type_tag
            };
        }
        Ok(Self { data, strings, starts })
    }

    fn string(&self, off: u32) -> &'a [u8] {
        let rest = self.data.get(self.strings + off as usize..).unwrap_or_default();
        &rest[..rest.iter().position(|b| *b == 0).unwrap_or(rest.len())]
    }

    /// (kind, name offset, vlen, kind_flag, start) of type `id`.
    fn header(&self, id: usize) -> Result<(u32, u32, usize, bool, usize)> {
        let at = *self.starts.get(id).filter(|&&at| at != 0).context("bad type id")?;
        let (name_off, info) = (u32_at(self.data, at)?, u32_at(self.data, at + 4)?);
        Ok(((info >> 24) & 0x1f, name_off, (info & 0xffff) as usize, info >> 31 == 1, at))
    }

    /// Offset in bits of `member` in struct/union `id`, looking into anonymous members.
    fn find(&self, id: usize, member: &[u8], depth: usize) -> Result<Option<u32>> {
        let (kind, _, vlen, kind_flag, at) = self.header(id)?;
        if !(kind == KIND_STRUCT || kind == KIND_UNION) || depth > 8 {
            return Ok(None);
        }
        for i in 0..vlen {
            let m = at + 12 + i * 12;
            let (name_off, member_type, offset) = (u32_at(self.data, m)?, u32_at(self.data, m + 4)?, u32_at(self.data, m + 8)?);
            // With kind_flag, the low 24 bits are the bit offset (bitfield size above).
            let bits = if kind_flag { offset & 0x00ff_ffff } else { offset };
            if name_off == 0 {
                if let Some(inner) = self.find(member_type as usize, member, depth + 1)? {
                    return Ok(Some(bits + inner));
                }
            } else if self.string(name_off) == member {
                return Ok(Some(bits));
            }
        }
        Ok(None)
    }
}

fn u32_at(data: &[u8], at: usize) -> Result<u32> {
    Ok(u32::from_le_bytes(data.get(at..at + 4).context("truncated BTF")?.try_into().unwrap()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_task_struct_pid_in_this_kernel() {
        let data = read("/sys/kernel/btf/vmlinux").unwrap();
        let btf = KernelBtf::parse(&data).unwrap();
        let pid = btf.member_offset("task_struct", "pid").unwrap();
        let tgid = btf.member_offset("task_struct", "tgid").unwrap();
        assert_eq!(tgid, pid + 4, "pid and tgid are adjacent pid_t fields");
        assert!(btf.member_offset("task_struct", "no_such_member").is_err());
        assert!(btf.member_offset("no_such_struct", "pid").is_err());
        // Members of anonymous unions and structs: sock_common's address and port pairs.
        let daddr = btf.member_offset("sock_common", "skc_daddr").unwrap();
        let saddr = btf.member_offset("sock_common", "skc_rcv_saddr").unwrap();
        assert_eq!(saddr, daddr + 4, "skc_daddr and skc_rcv_saddr form skc_addrpair");
        // This kernel's tracepoints: sched_switch with prev_state (5.18+), sock_send_length (6.3+).
        assert_eq!(btf.tracepoint_arg_count("sched_switch").unwrap(), Some(4));
        assert_eq!(btf.tracepoint_arg_count("sock_send_length").unwrap(), Some(3));
        assert_eq!(btf.tracepoint_arg_count("no_such_tracepoint").unwrap(), None);
        assert!(btf.has_member("task_struct", "__state") && !btf.has_member("task_struct", "state"));
        let dport = btf.member_offset("sock_common", "skc_dport").unwrap();
        assert_eq!(btf.member_offset("sock_common", "skc_num").unwrap(), dport + 2);
    }
}
