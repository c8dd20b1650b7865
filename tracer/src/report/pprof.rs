//! `--pprof FILE`: the slow calls' stacks as a gzipped `profile.proto`, the format `go tool
//! pprof`, Pyroscope, Parca and Go's PGO read. Two sample types, the calls (count) and their
//! time (nanoseconds, the default); labels: the syscall, the thread (tid) and its name, and a
//! Go program's goroutine.
//!
//! The messages are declared here with prost's derive, from `profile.proto` of
//! github.com/google/pprof: six small messages did not justify a generated crate or a build
//! script.
use std::{collections::HashMap, io::Write};

use flate2::{write::GzEncoder, Compression};
use prost::Message;

use crate::model::slow::{Frame, SlowCalls};

#[derive(Clone, PartialEq, prost::Message)]
struct Profile {
    #[prost(message, repeated, tag = "1")]
    sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    sample: Vec<Sample>,
    #[prost(message, repeated, tag = "3")]
    mapping: Vec<Mapping>,
    #[prost(message, repeated, tag = "4")]
    location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    function: Vec<Function>,
    #[prost(string, repeated, tag = "6")]
    string_table: Vec<String>,
    #[prost(int64, tag = "9")]
    time_nanos: i64,
    #[prost(int64, tag = "10")]
    duration_nanos: i64,
    #[prost(int64, tag = "14")]
    default_sample_type: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct ValueType {
    #[prost(int64, tag = "1")]
    r#type: i64,
    #[prost(int64, tag = "2")]
    unit: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Sample {
    #[prost(uint64, repeated, tag = "1")]
    location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    label: Vec<Label>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Label {
    #[prost(int64, tag = "1")]
    key: i64,
    #[prost(int64, tag = "2")]
    str: i64,
    #[prost(int64, tag = "3")]
    num: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Mapping {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(bool, tag = "7")]
    has_functions: bool,
    #[prost(bool, tag = "8")]
    has_filenames: bool,
    #[prost(bool, tag = "9")]
    has_line_numbers: bool,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Location {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(uint64, tag = "2")]
    mapping_id: u64,
    #[prost(message, repeated, tag = "4")]
    line: Vec<Line>,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Line {
    #[prost(uint64, tag = "1")]
    function_id: u64,
    #[prost(int64, tag = "2")]
    line: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
struct Function {
    #[prost(uint64, tag = "1")]
    id: u64,
    #[prost(int64, tag = "2")]
    name: i64,
    #[prost(int64, tag = "3")]
    system_name: i64,
    #[prost(int64, tag = "4")]
    filename: i64,
}

/// Builds the profile, interning strings, functions and locations.
#[derive(Default)]
struct Builder {
    strings: Vec<String>,
    string_ids: HashMap<String, i64>,
    functions: Vec<Function>,
    function_ids: HashMap<(String, String), u64>,
    locations: Vec<Location>,
    location_ids: HashMap<Frame, u64>,
}

impl Builder {
    fn string(&mut self, s: &str) -> i64 {
        if let Some(&id) = self.string_ids.get(s) {
            return id;
        }
        let id = self.strings.len() as i64;
        self.strings.push(s.to_string());
        self.string_ids.insert(s.to_string(), id);
        id
    }

    /// A frame's location: its function, and its line where the frame has `file:line`.
    fn location(&mut self, frame: &Frame) -> u64 {
        if let Some(&id) = self.location_ids.get(frame) {
            return id;
        }
        let (file, line) = match frame.location.as_deref().and_then(|l| l.rsplit_once(':')) {
            Some((file, line)) => (file.to_string(), line.parse().unwrap_or(0)),
            None => (frame.location.clone().unwrap_or_default(), 0),
        };
        let key = (frame.function.clone(), file);
        let function_id = match self.function_ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = self.functions.len() as u64 + 1;
                let (name, filename) = (self.string(&key.0), self.string(&key.1));
                self.functions.push(Function { id, name, system_name: name, filename });
                self.function_ids.insert(key, id);
                id
            }
        };
        let id = self.locations.len() as u64 + 1;
        self.locations.push(Location { id, mapping_id: 1, line: vec![Line { function_id, line }] });
        self.location_ids.insert(frame.clone(), id);
        id
    }
}

/// The profile of `slow`'s calls, gzipped, for a trace that began at `start_unix_ns` and lasted
/// `duration_ns`.
pub fn profile(slow: &SlowCalls, start_unix_ns: i64, duration_ns: i64) -> anyhow::Result<Vec<u8>> {
    let mut b = Builder::default();
    b.string("");
    let sample_type = vec![
        ValueType { r#type: b.string("calls"), unit: b.string("count") },
        ValueType { r#type: b.string("time"), unit: b.string("nanoseconds") },
    ];
    let (syscall, thread, comm, goroutine) = (b.string("syscall"), b.string("thread"), b.string("comm"), b.string("goroutine"));
    let mut samples: Vec<_> = slow.samples().collect();
    // The same bytes for the same trace.
    samples.sort_by(|a, b| (&a.0.frames, &a.0.syscall, a.0.tid).cmp(&(&b.0.frames, &b.0.syscall, b.0.tid)));
    let mut sample = Vec::with_capacity(samples.len());
    for (key, figures) in samples {
        let location_id = key.frames.iter().map(|frame| b.location(frame)).collect();
        let mut label = vec![Label { key: syscall, str: b.string(&key.syscall), num: 0 }];
        if key.tid != 0 {
            label.push(Label { key: thread, str: 0, num: i64::from(key.tid) });
            label.push(Label { key: comm, str: b.string(&key.comm), num: 0 });
        }
        if let Some(id) = key.goroutine {
            label.push(Label { key: goroutine, str: 0, num: i64::try_from(id).unwrap_or(i64::MAX) });
        }
        let value = vec![i64::try_from(figures.count).unwrap_or(i64::MAX), i64::try_from(figures.total_ns).unwrap_or(i64::MAX)];
        sample.push(Sample { location_id, value, label });
    }
    let default_sample_type = b.string("time");
    let profile = Profile {
        sample_type,
        sample,
        mapping: vec![Mapping { id: 1, has_functions: true, has_filenames: true, has_line_numbers: true }],
        location: b.locations,
        function: b.functions,
        string_table: b.strings,
        time_nanos: start_unix_ns,
        duration_nanos: duration_ns,
        default_sample_type,
    };
    let mut gz = GzEncoder::new(Vec::new(), Compression::default());
    gz.write_all(&profile.encode_to_vec())?;
    Ok(gz.finish()?)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::slow::SlowCall;

    fn call(tid: u32, ns: u64, frames: &[(&str, Option<&str>)]) -> SlowCall {
        SlowCall {
            tgid: 1,
            tid,
            comm: "w".into(),
            start_ns: 0,
            duration_ns: ns,
            blocked_ns: 0,
            runq_ns: 0,
            text: "nanosleep(0x1, 0x2) = 0".into(),
            user_stack: frames.iter().map(|(f, l)| Frame { function: f.to_string(), location: l.map(String::from) }).collect(),
            kernel_stack: Vec::new(),
            goroutine: None,
        }
    }

    #[test]
    fn samples_functions_and_lines_round_trip() {
        let mut slow = SlowCalls::new(1, 10);
        let leaf = ("syscall.Syscall", Some("asm.s:36"));
        slow.record(call(7, 100, &[leaf, ("main.handler", Some("main.go:20"))]));
        slow.record(call(7, 50, &[leaf, ("main.handler", Some("main.go:20"))]));
        slow.record(call(8, 30, &[leaf, ("main.other", None)]));
        let bytes = profile(&slow, 1, 2).unwrap();
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut flate2::read::GzDecoder::new(bytes.as_slice()), &mut raw).unwrap();
        let p = Profile::decode(raw.as_slice()).unwrap();
        let s = |i: i64| p.string_table[i as usize].as_str();
        assert_eq!(s(0), "");
        assert_eq!(p.sample.len(), 2);
        let totals: (i64, i64) = p.sample.iter().fold((0, 0), |(c, t), x| (c + x.value[0], t + x.value[1]));
        assert_eq!(totals, (3, 180));
        let handler = p.function.iter().find(|f| s(f.name) == "main.handler").unwrap();
        assert_eq!(s(handler.filename), "main.go");
        let line = p.location.iter().flat_map(|l| &l.line).find(|l| l.function_id == handler.id).unwrap();
        assert_eq!(line.line, 20);
        // Leaf first, and one location a distinct frame.
        assert_eq!(p.location.len(), 3);
        let first = &p.sample.iter().find(|x| x.value[0] == 2).unwrap();
        assert_eq!(first.location_id.len(), 2);
        let leaf_fn = p.location[first.location_id[0] as usize - 1].line[0].function_id;
        assert_eq!(s(p.function[leaf_fn as usize - 1].name), "syscall.Syscall");
        assert_eq!(s(p.sample_type[p.sample_type.len() - 1].r#type), "time");
        assert_eq!(s(p.default_sample_type), "time");
    }
}
