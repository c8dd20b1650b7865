//! Drawing and keys of the live view (ratatui + crossterm), on its own thread.
use std::{
    sync::mpsc::{Receiver, Sender, TryRecvError},
    time::Duration,
};

use ratatui::{
    crossterm::event::{self, Event, KeyCode, KeyEventKind, KeyModifiers},
    layout::{Constraint, Layout, Rect},
    style::{Modifier, Style},
    text::Line,
    widgets::{Block, Borders, Cell, Paragraph, Row, Sparkline, Table, TableState},
    DefaultTerminal, Frame,
};

use super::model::{busiest_window, histogram_bars, Pane, Snapshot, ViewState};
use crate::report::{
    sink::Control,
    format::format_ns,
    rows::SortKey,
};

/// Frames per second of the UI; data changes once per interval, keys feel immediate.
const POLL: Duration = Duration::from_millis(50);

/// Takes the terminal at the first snapshot, so that the tracer's start-up messages are
/// printed before the screen is drawn; gives it back when the snapshots stop.
pub fn run(target: String, sort: SortKey, snapshots: Receiver<Snapshot>, commands: Sender<Control>) {
    let Ok(first) = snapshots.recv() else { return };
    let _screen = crate::report::warnings::ScreenTaken::begin();
    let terminal = match ratatui::try_init() {
        Ok(terminal) => terminal,
        Err(err) => {
            eprintln!("tracer: cannot set up the terminal: {err}");
            let _ = commands.send(Control::Stop);
            return;
        }
    };
    let mut state = ViewState::new(sort);
    state.update(first);
    show(terminal, &mut state, &target, &snapshots, &commands);
    ratatui::restore();
}

fn show(mut terminal: DefaultTerminal, state: &mut ViewState, target: &str, snapshots: &Receiver<Snapshot>, commands: &Sender<Control>) {
    loop {
        loop {
            match snapshots.try_recv() {
                Ok(snapshot) if !state.paused => state.update(snapshot),
                Ok(_) => {}
                Err(TryRecvError::Empty) => break,
                Err(TryRecvError::Disconnected) => return,
            }
        }
        if terminal.draw(|frame| draw(frame, state, target)).is_err() {
            let _ = commands.send(Control::Stop);
            return;
        }
        if !event::poll(POLL).unwrap_or(false) {
            continue;
        }
        let Ok(Event::Key(key)) = event::read() else { continue };
        if key.kind != KeyEventKind::Press {
            continue;
        }
        match key.code {
            KeyCode::Char('q') | KeyCode::Esc => {
                let _ = commands.send(Control::Stop);
            }
            KeyCode::Char('c') if key.modifiers.contains(KeyModifiers::CONTROL) => {
                let _ = commands.send(Control::Stop);
            }
            KeyCode::Down | KeyCode::Char('j') => state.move_selection(true),
            KeyCode::Up | KeyCode::Char('k') => state.move_selection(false),
            KeyCode::Char('s') => state.cycle_sort(),
            KeyCode::Char('p') => state.paused = !state.paused,
            KeyCode::Char('r') => {
                state.reset();
                let _ = commands.send(Control::Reset);
            }
            KeyCode::Tab => state.pane = state.pane.next(),
            _ => {}
        }
    }
}

fn draw(frame: &mut Frame, state: &ViewState, target: &str) {
    let [header, table, detail, help] =
        Layout::vertical([Constraint::Length(2 + state.snapshot.cpu_limits.len().min(3) as u16), Constraint::Min(5), Constraint::Length(9), Constraint::Length(1)])
            .areas(frame.area());
    draw_header(frame, header, state, target);
    match state.pane {
        Pane::Errors => draw_errors(frame, table, state),
        Pane::Slow => draw_slow(frame, table, state),
        Pane::Connections => draw_connections(frame, table, state),
        Pane::Interval | Pane::SinceStart => draw_table(frame, table, state),
    }
    draw_detail(frame, detail, state);
    frame.render_widget(
        Paragraph::new("↑↓/j/k select  s sort  p pause  r reset  tab view  q quit").style(Style::new().add_modifier(Modifier::DIM)),
        help,
    );
}

fn draw_header(frame: &mut Frame, area: Rect, state: &ViewState, target: &str) {
    let s = &state.snapshot;
    let paused = if state.paused { "  [PAUSED]" } else { "" };
    let lines = vec![
        Line::from(format!("tracer top: {target}{paused}")),
        Line::from(format!(
            // Events and calls counted in the kernel together: the line has 80 columns.
            "{} proc, {} threads | {:.0} traced/s | lost {} | {:.0}s | {} | sort: {}",
            s.processes,
            s.threads,
            s.events_per_sec + s.kernel_calls_per_sec,
            s.lost,
            s.elapsed.as_secs_f64(),
            state.pane.title(),
            sort_name(state.sort)
        )),
    ];
    let lines: Vec<Line> = lines.into_iter().chain(s.cpu_limits.iter().take(3).map(|l| Line::from(l.clone()))).collect();
    frame.render_widget(Paragraph::new(lines), area);
}

fn draw_table(frame: &mut Frame, area: Rect, state: &ViewState) {
    let header = Row::new(["syscall/I/O", "rate/s", "calls", "errors", "p50", "p99", "p99.9", "max"])
        .style(Style::new().add_modifier(Modifier::BOLD));
    let rows = state.rows().into_iter().map(|(row, f)| {
        let [p50, p99, p999, max] = f.latencies();
        Row::new([
            Cell::from(row.name.as_str()),
            Cell::from(format!("{:.0}", f.rate)),
            Cell::from(f.calls.to_string()),
            Cell::from(if f.errors == 0 { String::new() } else { f.errors.to_string() }),
            Cell::from(p50),
            Cell::from(p99),
            Cell::from(p999),
            Cell::from(max),
        ])
    });
    // 78 columns with the spacing: fits 80x24.
    let widths = [16, 8, 9, 6, 8, 8, 8, 8].map(Constraint::Length);
    let table = Table::new(rows, widths)
        .header(header)
        .row_highlight_style(Style::new().add_modifier(Modifier::REVERSED))
        .block(Block::new().borders(Borders::TOP).title(format!(" syscalls and I/O: {} ", state.pane.title())));
    let mut table_state = TableState::default().with_selected(Some(state.selected));
    frame.render_stateful_widget(table, area, &mut table_state);
}

fn draw_errors(frame: &mut Frame, area: Rect, state: &ViewState) {
    let rows = state.rows().into_iter().flat_map(|(row, _)| {
        row.errnos.iter().map(move |(errno, n)| Row::new([row.name.to_string(), errno.clone(), n.to_string()]))
    });
    let table = Table::new(rows, [Constraint::Length(20), Constraint::Length(16), Constraint::Length(12)])
        .header(Row::new(["syscall", "errno", "count"]).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::new().borders(Borders::TOP).title(" errors by errno, since start "));
    frame.render_widget(table, area);
}

fn draw_slow(frame: &mut Frame, area: Rect, state: &ViewState) {
    let (title, lines) = match &state.snapshot.slow {
        Some((lines, count)) => (format!(" slow calls, most recent first ({count} in all) "), lines.join("\n")),
        None => (" slow calls ".to_string(), "run with --slow DURATION to see the slow calls here".to_string()),
    };
    frame.render_widget(Paragraph::new(lines).block(Block::new().borders(Borders::TOP).title(title)), area);
}

fn draw_connections(frame: &mut Frame, area: Rect, state: &ViewState) {
    let rows = state.snapshot.connections.iter().map(|c| {
        Row::new([
            c.local.clone(),
            c.peer.clone(),
            c.calls.to_string(),
            c.sent.to_string(),
            c.received.to_string(),
            format_ns(c.total_ns),
            format_ns(c.p99_ns),
        ])
    });
    let widths = [21, 21, 7, 9, 9, 8, 8].map(Constraint::Length);
    let table = Table::new(rows, widths)
        .header(Row::new(["local", "peer", "calls", "sent", "received", "total", "p99"]).style(Style::new().add_modifier(Modifier::BOLD)))
        .block(Block::new().borders(Borders::TOP).title(" TCP connections, since start, most time first "));
    frame.render_widget(table, area);
}

fn draw_detail(frame: &mut Frame, area: Rect, state: &ViewState) {
    let [left, right] = Layout::horizontal([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(area);
    let Some(row) = state.selected_row() else {
        frame.render_widget(Paragraph::new("waiting for the first interval...").block(Block::new().borders(Borders::TOP)), area);
        return;
    };
    let height = left.height.saturating_sub(1) as usize;
    let label_width = 10;
    let bar_width = (left.width as usize).saturating_sub(label_width + 10);
    let bars = histogram_bars(busiest_window(&row.buckets, height), bar_width);
    let lines: Vec<Line> = bars
        .iter()
        .map(|(label, n, len)| Line::from(format!("{label:>label_width$} {:<bar_width$} {n}", "█".repeat(*len))))
        .collect();
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::TOP).title(format!(" {} latency since start ", row.name))),
        left,
    );
    let history: Vec<u64> = state.history.get(&row.name).map(|h| h.iter().copied().collect()).unwrap_or_default();
    let last = history.last().copied().unwrap_or(0);
    let visible = history.len().saturating_sub(right.width as usize);
    frame.render_widget(
        Sparkline::default()
            .data(&history[visible..])
            .block(Block::new().borders(Borders::TOP).title(match last {
                // No call in the last interval: no latency, rather than a p99 of 0ns.
                0 => " p99 per interval: no calls in the last one ".to_string(),
                last => format!(" p99 per interval: {} ", format_ns(last)),
            })),
        right,
    );
}

fn sort_name(key: SortKey) -> String {
    use clap::ValueEnum;
    key.to_possible_value().map(|v| v.get_name().to_string()).unwrap_or_default()
}
