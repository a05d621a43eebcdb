//! The README runs as written, as far as a test can check without AWS: every command in its shell
//! blocks names something that exists — `otto …` (through `cargo run -p otto-cli --`) parses with
//! `--help`, `bash scripts/X sub` names a script and one of its subcommands, a Python script's
//! flags are ones it declares — a block that uses `.venv` creates it first, and every `otto`
//! command of the command table is a real subcommand. A command this test does not know fails it,
//! so a new block gets a check.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn readme() -> String {
    std::fs::read_to_string(root().join("README.md")).expect("README.md")
}

/// The ```sh blocks, each as its command lines (comments and blank lines dropped).
fn shell_blocks(text: &str) -> Vec<Vec<String>> {
    let mut blocks = Vec::new();
    let mut current: Option<Vec<String>> = None;
    for line in text.lines() {
        let t = line.trim();
        match (&mut current, t) {
            (None, "```sh") | (None, "```bash") => current = Some(Vec::new()),
            (Some(_), "```") => blocks.push(current.take().unwrap_or_default()),
            (Some(b), _) => {
                let cmd = strip_comment(t).trim().to_string();
                if !cmd.is_empty() {
                    b.push(cmd);
                }
            }
            _ => {}
        }
    }
    assert!(current.is_none(), "README: an unclosed ```sh block");
    blocks
}

/// A line without its trailing `# comment` (a `#` outside quotes after whitespace).
fn strip_comment(line: &str) -> &str {
    let mut quote: Option<char> = None;
    let mut prev = ' ';
    for (i, c) in line.char_indices() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (None, '"') | (None, '\'') => quote = Some(c),
            (None, '#') if prev.is_whitespace() || i == 0 => return &line[..i],
            _ => {}
        }
        prev = c;
    }
    line
}

/// Splits shell words (double and single quotes kept together, quotes removed).
fn words(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut depth = 0i32; // inside $( … )
    let chars: Vec<char> = cmd.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match (quote, c) {
            (_, '$') if chars.get(i + 1) == Some(&'(') => {
                depth += 1;
                cur.push_str("$(");
                i += 1;
            }
            (_, ')') if depth > 0 => {
                depth -= 1;
                cur.push(')');
            }
            (Some(q), c) if c == q && depth == 0 => quote = None,
            (None, '"') | (None, '\'') if depth == 0 => quote = Some(c),
            (None, c) if c.is_whitespace() && depth == 0 => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            (_, c) => cur.push(c),
        }
        i += 1;
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// `otto ARGS --help` parses (exit 0): the subcommand and every flag exist as written.
fn otto_parses(args: &[String]) {
    let mut with_help: Vec<String> = args.to_vec();
    with_help.push("--help".into());
    let out = Command::new(env!("CARGO_BIN_EXE_otto"))
        .args(&with_help)
        .env(
            "OTTO_DATA_DIR",
            std::env::temp_dir().join("otto-readme-test"),
        )
        .output()
        .expect("run otto");
    assert!(
        out.status.success(),
        "README: `otto {}` does not parse: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// One command of a shell block; `venv_made` says whether `.venv` was created before it.
fn check_command(cmd: &str, venv_made: &mut bool) {
    // `a && b`: each part on its own.
    if cmd.contains(" && ") {
        for part in cmd.split(" && ") {
            check_command(part.trim(), venv_made);
        }
        return;
    }
    let mut w = words(cmd);
    // `VAR=value cmd …`: the assignments set the environment of the command.
    while w
        .first()
        .is_some_and(|x| x.contains('=') && !x.starts_with('-') && !x.starts_with('$'))
    {
        w.remove(0);
    }
    let Some(first) = w.first().cloned() else {
        return;
    };
    if first.starts_with(".venv/") {
        assert!(
            *venv_made,
            "README: `{cmd}` uses .venv before the block creates it (bash scripts/venv)"
        );
    }
    match first.as_str() {
        "eval" => {
            let inner = w[1..].join(" ");
            let inner = inner
                .strip_prefix("$(")
                .and_then(|s| s.strip_suffix(')'))
                .unwrap_or_else(|| panic!("README: eval of something else than $(…): {cmd}"));
            check_command(inner, venv_made);
        }
        "cargo" => {
            let sep = w.iter().position(|x| x == "--");
            let is_cli = w.windows(2).any(|p| p[0] == "-p" && p[1] == "otto-cli");
            assert!(
                w.get(1).map(String::as_str) == Some("run") && is_cli,
                "README: {cmd}"
            );
            let args = sep.map(|s| w[s + 1..].to_vec()).unwrap_or_default();
            otto_parses(&args);
        }
        "otto" => otto_parses(&w[1..]),
        "bash" => {
            let script = root().join(&w[1]);
            assert!(script.is_file(), "README: {} does not exist", w[1]);
            let text = std::fs::read_to_string(&script).expect("script");
            if w[1] == "scripts/venv" {
                *venv_made = true;
            }
            if let Some(sub) = w.get(2).filter(|s| !s.starts_with('-')) {
                assert!(
                    text.contains(&format!("  {sub})")),
                    "README: {} has no subcommand {sub}",
                    w[1]
                );
            }
        }
        "python3" if w.get(1).map(String::as_str) == Some("-m") => {
            if w.get(2).map(String::as_str) == Some("venv")
                && w.get(3).map(String::as_str) == Some(".venv")
            {
                *venv_made = true;
            }
        }
        p if p.ends_with("python") => {
            let script = root().join(&w[1]);
            assert!(script.is_file(), "README: {} does not exist", w[1]);
            let text = std::fs::read_to_string(&script).expect("script");
            for flag in w[2..].iter().filter(|a| a.starts_with("--")) {
                assert!(
                    text.contains(&format!("\"{flag}\"")),
                    "README: {} declares no {flag}",
                    w[1]
                );
            }
        }
        // Tools a reader installs (the block says how), or a call to a running server.
        "pip" | "sam" | "curl" => {}
        other => panic!("README: a command this test does not know: `{other}` in `{cmd}`"),
    }
}

#[test]
fn every_shell_block_names_what_exists() {
    let text = readme();
    let blocks = shell_blocks(&text);
    assert!(blocks.len() >= 4, "README: {} shell blocks", blocks.len());
    for block in &blocks {
        let mut venv_made = false;
        for cmd in block {
            check_command(cmd, &mut venv_made);
        }
    }
}

#[test]
fn the_local_aws_block_makes_its_venv_and_gives_the_demo_its_shop() {
    let text = readme();
    let blocks = shell_blocks(&text);
    let local = blocks
        .iter()
        .find(|b| b.iter().any(|c| c.contains("scripts/moto.sh start")))
        .expect("README: the Local AWS block");
    let venv = local
        .iter()
        .position(|c| c.starts_with("bash scripts/venv"))
        .expect("the Local AWS block creates .venv");
    let used = local
        .iter()
        .position(|c| c.contains(".venv/"))
        .expect("the block uses .venv");
    assert!(venv < used);
    // `--store dynamodb demo` keeps its simulated shop where OTTO_SIM_VENDOR says.
    let demo = local
        .iter()
        .find(|c| c.contains("--store dynamodb demo"))
        .expect("the demo on DynamoDB");
    assert!(demo.contains("OTTO_SIM_VENDOR="), "{demo}");
}

#[test]
fn every_otto_command_in_the_table_is_a_subcommand() {
    let text = readme();
    let mut seen = 0;
    for line in text.lines().filter(|l| l.starts_with("| `otto ")) {
        // `otto cycle run morning\|research…` → the words before the first placeholder.
        let cell = line.split('`').nth(1).expect("a command in backticks");
        let args: Vec<String> = cell
            .split_whitespace()
            .skip(1)
            .take_while(|w| {
                !w.starts_with('[')
                    && !w.starts_with('<')
                    && !w.starts_with('"')
                    && !w.starts_with('-')
                    && !w.contains('|')
            })
            .map(str::to_string)
            .collect();
        otto_parses(&args);
        seen += 1;
    }
    assert!(seen >= 10, "README: {seen} otto commands in the table");
}

#[test]
fn the_parser_of_this_test() {
    assert_eq!(
        words(r#"eval "$(.venv/bin/python infra/local/bootstrap.py --stack otto-local)""#),
        vec![
            "eval",
            "$(.venv/bin/python infra/local/bootstrap.py --stack otto-local)"
        ]
    );
    assert_eq!(strip_comment("a b   # c"), "a b   ");
    assert_eq!(
        strip_comment(r##"curl -d '{"a":"#"}'"##),
        r##"curl -d '{"a":"#"}'"##
    );
}
