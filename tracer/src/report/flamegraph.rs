//! Slow calls' stacks as collapsed stacks (`--folded`) and as a flame graph SVG (`--flamegraph`).
