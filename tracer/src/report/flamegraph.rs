//! Slow calls' stacks as collapsed stacks (`--folded`) and as a flame graph SVG (`--flamegraph`).
use std::{borrow::Cow, collections::BTreeMap, io::Write};

use anyhow::{bail, Context};

/// Collapsed stacks: one line per distinct stack, frames outermost first joined by ';', then a space and
/// the summed weight (ns of the slow calls with that stack), sorted by stack (as inferno wants its input).
/// This is the format flamegraph.pl, inferno and speedscope read.
///
/// Frames are cleaned so that each stays one frame and the line parses back the same: ';' becomes ',',
/// newlines and other control characters become spaces, surrounding whitespace is trimmed, and an empty
/// frame becomes "[unknown]", as does an empty frame list. A frame whose last word is a number
/// (`foo 12`) or that starts with "# " gets '_' for that space, since flame graph tools would read the
/// number as a second (differential) count or the line as a comment.
///
/// Weights of identical stacks are summed (saturating). Stacks whose total weight is 0 are left out:
/// flame graph tools draw nothing for them anyway.
pub fn folded<'a, I>(stacks: I) -> String
where
    I: IntoIterator<Item = (&'a [String], u64)>,
{
    let mut merged: BTreeMap<String, u64> = BTreeMap::new();
    for (frames, weight) in stacks {
        let mut stack = String::new();
        for (i, frame) in frames.iter().enumerate() {
            if i != 0 {
                stack.push(';');
            }
            stack.push_str(&clean_frame(frame));
        }
        if stack.is_empty() {
            stack.push_str(UNKNOWN);
        }
        let total = merged.entry(stack).or_insert(0);
        *total = total.saturating_add(weight);
    }
    let mut out = String::new();
    for (stack, weight) in merged.into_iter().filter(|&(_, weight)| weight != 0) {
        out.push_str(&stack);
        out.push(' ');
        out.push_str(&weight.to_string());
        out.push('\n');
    }
    out
}

/// The flame graph of `folded` (text in the format of [`folded`]) as an SVG, titled `title`; counts are
/// nanoseconds (inferno's count name "ns"). Colors come from a hash of the frame name, so the same
/// input always gives the same SVG.
///
/// Empty input (no line with a positive weight, e.g. no call was slower than the threshold) is not an
/// error: inferno would write an "ERROR" SVG and fail, so instead this writes a small valid SVG with
/// the title and a "no data" message, and returns Ok. Lines without a count are skipped, as inferno
/// does. Errors: a count too large for inferno's arithmetic (over i64::MAX, or a total over u64::MAX),
/// and failures to draw or to write `out`. The SVG is built in memory first, so `out` need not be
/// buffered and gets nothing if drawing fails.
pub fn write_svg(folded: &str, title: &str, mut out: impl Write) -> anyhow::Result<()> {
    // Control characters are not allowed in XML 1.0, and inferno only escapes markup characters.
    let folded = without_xml_invalid(folded, true);
    let title = without_xml_invalid(title, false);

    let mut lines: Vec<&str> = Vec::new();
    let mut total: u64 = 0;
    for line in folded.lines().map(str::trim) {
        if line.is_empty() || line.starts_with("# ") {
            continue;
        }
        let Some((stack, count)) = trailing_count(line) else { continue };
        if stack.is_empty() {
            continue;
        }
        // A second count before the last makes the line differential, as inferno reads it.
        let previous = trailing_count(stack).map_or(0, |(_, previous)| previous);
        // inferno subtracts the two counts as isize and sums the last ones as u64, unchecked.
        if count > i64::MAX as u64 || previous > i64::MAX as u64 {
            bail!("flame graph: count too large in line {line:?}");
        }
        total = total.checked_add(count).context("flame graph: the total of the counts does not fit in 64 bits")?;
        lines.push(line);
    }

    if total == 0 {
        return write_empty_svg(&title, &mut out).context("writing the flame graph");
    }

    // inferno sorts the lines itself (its default), so any order of input lines is fine.
    let mut options = inferno::flamegraph::Options::default();
    options.title = title.into_owned();
    options.count_name = "ns".to_string();
    options.hash = true;
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut options, lines, &mut svg).context("drawing the flame graph")?;
    out.write_all(&svg).and_then(|()| out.flush()).context("writing the flame graph")
}

const UNKNOWN: &str = "[unknown]";

/// One frame made safe for a collapsed-stack line (see [`folded`]).
fn clean_frame(frame: &str) -> Cow<'_, str> {
    let needs_mapping = frame.chars().any(|c| c == ';' || is_xml_invalid(c));
    let mapped: Cow<'_, str> = if needs_mapping {
        Cow::Owned(frame.chars().map(|c| if c == ';' { ',' } else if is_xml_invalid(c) { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(frame)
    };
    let trimmed = mapped.trim();
    if trimmed.is_empty() {
        return Cow::Borrowed(UNKNOWN);
    }
    let comment_like = trimmed.starts_with("# ");
    let numeric_tail = trimmed.rsplit_once(' ').filter(|(_, word)| is_number_like(word)).map(|(head, _)| head.len());
    if !comment_like && numeric_tail.is_none() {
        return match mapped {
            Cow::Borrowed(frame) => Cow::Borrowed(frame.trim()),
            Cow::Owned(ref frame) => Cow::Owned(frame.trim().to_string()),
        };
    }
    let mut fixed = trimmed.to_string();
    // Both spaces are ASCII, so replacing one byte keeps the string valid UTF-8.
    if let Some(at) = numeric_tail {
        fixed.replace_range(at..at + 1, "_");
    }
    if comment_like {
        fixed.replace_range(1..2, "_");
    }
    Cow::Owned(fixed)
}

/// A word flame graph tools would take for a count: digits, maybe with a '.'.
fn is_number_like(word: &str) -> bool {
    word.bytes().any(|b| b.is_ascii_digit()) && word.bytes().all(|b| b.is_ascii_digit() || b == b'.')
}

/// The count at the end of a line as inferno reads it (after the last ' ', digits with at most one '.',
/// fraction dropped), and the line before it; None if inferno would find no count there.
fn trailing_count(line: &str) -> Option<(&str, u64)> {
    let start = line.rfind(' ')? + 1;
    let word = &line[start..];
    let (whole, fraction) = word.split_once('.').unwrap_or((word, ""));
    if !whole.bytes().chain(fraction.bytes()).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let count = whole.parse::<u64>().ok()?;
    Some((line[..start].trim_end(), count))
}

fn is_xml_invalid(c: char) -> bool {
    c.is_control() || c == '\u{FFFE}' || c == '\u{FFFF}'
}

/// `text` with characters XML 1.0 does not allow replaced by spaces; newlines kept if `keep_newlines`.
fn without_xml_invalid(text: &str, keep_newlines: bool) -> Cow<'_, str> {
    let bad = |c: char| is_xml_invalid(c) && !(keep_newlines && c == '\n') && c != '\t';
    if text.chars().any(bad) {
        Cow::Owned(text.chars().map(|c| if bad(c) { ' ' } else { c }).collect())
    } else {
        Cow::Borrowed(text)
    }
}

/// A minimal SVG, in the look of inferno's, saying there is nothing to draw.
fn write_empty_svg(title: &str, out: &mut impl Write) -> std::io::Result<()> {
    let svg = format!(
        concat!(
            "<?xml version=\"1.0\" standalone=\"no\"?>\n",
            "<svg version=\"1.1\" width=\"1200\" height=\"90\" viewBox=\"0 0 1200 90\" ",
            "xmlns=\"http://www.w3.org/2000/svg\">\n",
            "<rect x=\"0\" y=\"0\" width=\"100%\" height=\"100%\" fill=\"#eeeeee\"/>\n",
            "<text x=\"50%\" y=\"30\" text-anchor=\"middle\" font-family=\"Verdana\" font-size=\"17\">{}</text>\n",
            "<text x=\"50%\" y=\"62\" text-anchor=\"middle\" font-family=\"Verdana\" font-size=\"12\">",
            "No data: no stack with a positive weight (no call was slower than the threshold)</text>\n",
            "</svg>\n"
        ),
        xml_escape(title)
    );
    out.write_all(svg.as_bytes())?;
    out.flush()
}

fn xml_escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&apos;"),
            c => escaped.push(c),
        }
    }
    escaped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(frames: &[&str]) -> Vec<String> {
        frames.iter().map(|f| f.to_string()).collect()
    }

    /// Each line back as (frames, weight): split at the last space, then at ';'.
    fn parse(folded: &str) -> Vec<(Vec<String>, u64)> {
        folded
            .lines()
            .map(|line| {
                let (frames, weight) = line.rsplit_once(' ').expect("a space before the weight");
                (frames.split(';').map(str::to_string).collect(), weight.parse().expect("a numeric weight"))
            })
            .collect()
    }

    fn svg_of(folded: &str, title: &str) -> String {
        let mut out = Vec::new();
        write_svg(folded, title, &mut out).expect("an SVG");
        String::from_utf8(out).expect("UTF-8")
    }

    fn assert_svg_shape(svg: &str) {
        assert!(svg.starts_with("<?xml"), "{svg}");
        assert!(svg.contains("<svg"));
        assert!(svg.trim_end().ends_with("</svg>"));
        let opened = svg.matches("<g ").count() + svg.matches("<g>").count();
        assert_eq!(opened, svg.matches("</g>").count(), "every <g has its </g>");
    }

    #[test]
    fn merges_identical_stacks_and_sums_weights() {
        let a = stack(&["main", "slow_reader", "[k] do_syscall_64"]);
        let b = stack(&["main", "net/http.(*conn).serve", "libc.so.6+0x11ba5"]);
        let text = folded([(&a[..], 100), (&b[..], 7), (&a[..], 50)]);
        assert_eq!(
            text,
            "main;net/http.(*conn).serve;libc.so.6+0x11ba5 7\nmain;slow_reader;[k] do_syscall_64 150\n"
        );
    }

    #[test]
    fn total_weight_is_kept_and_lines_parse_back() {
        let stacks = [
            (stack(&["main", "a"]), 3u64),
            (stack(&["main", "b", "c"]), 1_000_000),
            (stack(&["main", "a"]), 4),
            (stack(&["main"]), 12),
            (stack(&["main", "b"]), 5),
        ];
        let text = folded(stacks.iter().map(|(s, w)| (&s[..], *w)));
        let parsed = parse(&text);
        let total: u64 = parsed.iter().map(|(_, w)| w).sum();
        assert_eq!(total, stacks.iter().map(|(_, w)| w).sum::<u64>());
        assert_eq!(
            parsed,
            vec![
                (stack(&["main"]), 12),
                (stack(&["main", "a"]), 7),
                (stack(&["main", "b"]), 5),
                (stack(&["main", "b", "c"]), 1_000_000),
            ]
        );
        let mut sorted = text.lines().collect::<Vec<_>>();
        sorted.sort();
        assert_eq!(sorted, text.lines().collect::<Vec<_>>());
    }

    #[test]
    fn a_frame_never_adds_a_level_or_a_line() {
        let s = stack(&["main", "<[u8; 8] as Debug>::fmt", "two\nlines\r", " padded\t"]);
        let text = folded([(&s[..], 9)]);
        let parsed = parse(&text);
        assert_eq!(parsed, vec![(stack(&["main", "<[u8, 8] as Debug>::fmt", "two lines", "padded"]), 9)]);
    }

    #[test]
    fn empty_stacks_unknown_frames_and_zero_weights() {
        let empty: Vec<String> = Vec::new();
        let blank = stack(&["main", "", " ; "]);
        let zero = stack(&["main", "never"]);
        let text = folded([(&empty[..], 2), (&blank[..], 3), (&zero[..], 0), (&empty[..], 0)]);
        assert_eq!(text, "[unknown] 2\nmain;[unknown];, 3\n");
        assert_eq!(folded(std::iter::empty::<(&[String], u64)>()), "");
    }

    #[test]
    fn frames_that_would_read_as_counts_or_comments_are_fixed() {
        let s = stack(&["# root", "worker 12", "v 1.5"]);
        let text = folded([(&s[..], 4)]);
        assert_eq!(text, "#_root;worker_12;v_1.5 4\n");
        // What inferno reads: one stack of weight 4, not a differential line or a comment.
        let svg = svg_of(&text, "t");
        assert!(svg.contains("v_1.5") && svg.contains("#_root"));
        assert!(svg.contains("4 ns"));
    }

    #[test]
    fn svg_of_a_small_input() {
        let a = stack(&["main", "slow_reader", "[k] do_syscall_64"]);
        let b = stack(&["main", "net/http.(*conn).serve"]);
        let text = folded([(&a[..], 3_000_000), (&b[..], 1_000_000)]);
        let svg = svg_of(&text, "slow calls of <pid 42> & co");
        assert_svg_shape(&svg);
        for name in ["main", "slow_reader", "[k] do_syscall_64", "net/http.(*conn).serve"] {
            assert!(svg.contains(name), "{name} in the SVG");
        }
        assert!(svg.contains("slow calls of &lt;pid 42&gt; &amp; co"));
        assert!(svg.contains(" ns"));
        assert_eq!(svg, svg_of(&text, "slow calls of <pid 42> & co"), "the same input gives the same SVG");
    }

    #[test]
    fn unsorted_input_and_frames_extended_by_a_space() {
        let a = stack(&["main", "foo"]);
        let b = stack(&["main", "foo (deleted)", "x"]);
        let text = folded([(&a[..], 5), (&b[..], 3)]);
        let shuffled: String = text.lines().rev().map(|l| format!("{l}\n")).collect();
        for input in [&text, &shuffled] {
            let svg = svg_of(input, "t");
            assert_svg_shape(&svg);
            assert!(svg.contains("foo (deleted)"));
        }
    }

    #[test]
    fn empty_input_writes_a_no_data_svg() {
        for input in ["", "\n\n", "# a comment\n", "main 0\n", "no count here\n"] {
            let svg = svg_of(input, "slow <calls>\u{1}");
            assert_svg_shape(&svg);
            assert!(svg.contains("No data"), "{svg}");
            assert!(svg.contains("slow &lt;calls&gt; "));
        }
    }

    #[test]
    fn hostile_text_gives_an_error_or_a_well_formed_svg() {
        let max = u64::MAX;
        assert!(write_svg(&format!("a {max}\n"), "t", Vec::new()).is_err());
        assert!(write_svg(&format!("a {}\nb {}\n", i64::MAX, i64::MAX), "t", Vec::new()).is_ok());
        assert!(write_svg(&format!("a {}\nb {}\nc 2\n", i64::MAX, i64::MAX), "t", Vec::new()).is_err());
        assert!(write_svg(&format!("a {max} 1\n"), "t", Vec::new()).is_err());
        for input in ["a 1 5\na 0;b 3\n", "x\u{1}y 3\n", "a;;b 2\n a;b 1.9 \n", "a\tb 1\na 2\n", "; 1\n"] {
            let svg = svg_of(input, "t");
            assert_svg_shape(&svg);
            assert!(!svg.contains('\u{1}'));
        }
    }
}
