//! Parsing of `ctl` writes (9front port/parse.c parsecmd/lookupcmd, devproc.c proccmd):
//! one message per write, a trailing newline dropped, fields split with Plan 9 tokenize
//! (single quotes group, `''` inside quotes is a quote), and the exact error strings.

use super::format::quote;
use crate::machine::{CtlMsg, RtMsg};

/// Plan 9 tokenize: fields separated by blanks (space, tab, newline, CR); a `'` starts or
/// ends a quoted run, inside which `''` stands for one quote.
pub fn tokenize(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_field = false;
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if quoted {
            if c == '\'' {
                if chars.peek() == Some(&'\'') {
                    chars.next();
                    cur.push('\'');
                } else {
                    quoted = false;
                }
            } else {
                cur.push(c);
            }
            continue;
        }
        match c {
            ' ' | '\t' | '\n' | '\r' => {
                if in_field {
                    out.push(std::mem::take(&mut cur));
                    in_field = false;
                }
            }
            '\'' => {
                in_field = true;
                quoted = true;
            }
            _ => {
                in_field = true;
                cur.push(c);
            }
        }
    }
    if in_field {
        out.push(cur);
    }
    out
}

/// Plan 9 atoi (strtol base 10 after optional blanks and sign; junk stops the number).
pub fn atoi(s: &str) -> i64 {
    let s = s.trim_start();
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let mut n: i64 = 0;
    for b in digits.bytes() {
        if !b.is_ascii_digit() {
            break;
        }
        n = n.saturating_mul(10).saturating_add(i64::from(b - b'0'));
    }
    if neg {
        -n
    } else {
        n
    }
}

/// The fields re-quoted and space-joined, as cmderror prints them.
fn requote(fields: &[String]) -> String {
    fields
        .iter()
        .map(|f| quote(f))
        .collect::<Vec<_>>()
        .join(" ")
}

/// cmderror (9front port/parse.c): `<what> "<fields>"` printed with seprint into
/// `genbuf+ERRMAX-10`, so the text before the closing quote stops at ERRMAX-11 bytes.
fn cmderror(what: &str, fields: &[String]) -> String {
    let mut s = format!("{what} \"{}", requote(fields));
    let mut cut = (super::format::ERRMAX - 11).min(s.len());
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    s.truncate(cut);
    s.push('"');
    s
}

/// C strtoul(s, &end, 10) on Plan 9 (32-bit ulong): leading blanks and a sign are
/// skipped, then the digits; the value (negated if `-`, modulo 2^32; ULONG_MAX on
/// overflow) and the rest of the string after them. No digits: 0 and all of `s`.
fn strtoul10(s: &str) -> (u64, &str) {
    let t = s.trim_start_matches([' ', '\t', '\n', '\r', '\x0b', '\x0c']);
    let (neg, t) = match t.as_bytes().first() {
        Some(b'-') => (true, &t[1..]),
        Some(b'+') => (false, &t[1..]),
        _ => (false, t),
    };
    let n = t.bytes().take_while(u8::is_ascii_digit).count();
    if n == 0 {
        return (0, s);
    }
    let v = t[..n]
        .bytes()
        .try_fold(0u64, |a, d| {
            a.checked_mul(10)
                .and_then(|a| a.checked_add(u64::from(d - b'0')))
                .filter(|a| *a <= u64::from(u32::MAX))
        })
        .unwrap_or(u64::from(u32::MAX));
    let v = if neg {
        v.wrapping_neg() & u64::from(u32::MAX)
    } else {
        v
    };
    (v, &t[n..])
}

/// 9front devproc.c parsetime: a decimal number with an optional fraction and a unit, `s`
/// (also when empty), `ms`, `us`/`µs` or `ns` (whose fraction is ignored), in nanoseconds.
pub fn parsetime(s: Option<&str>) -> Result<u64, String> {
    const P10: [u64; 9] = [
        100_000_000,
        10_000_000,
        1_000_000,
        100_000,
        10_000,
        1000,
        100,
        10,
        1,
    ];
    let Some(s) = s else {
        return Err("missing value".into());
    };
    let (ticks, mut e) = strtoul10(s);
    let mut l = 0;
    if let Some(p) = e.strip_prefix('.') {
        let (v, rest) = strtoul10(p);
        let digits = p.len() - rest.len();
        if digits > P10.len() {
            return Err("too many digits after decimal point".into());
        }
        if digits == 0 {
            return Err("ill-formed number".into());
        }
        l = (v * P10[digits - 1]) & u64::from(u32::MAX);
        e = rest;
    }
    Ok(match e {
        "" | "s" => 1_000_000_000u64.wrapping_mul(ticks).wrapping_add(l),
        "ms" => 1_000_000u64.wrapping_mul(ticks).wrapping_add(l / 1000),
        "µs" | "us" => 1000u64.wrapping_mul(ticks).wrapping_add(l / 1_000_000),
        "ns" => ticks,
        _ => return Err("unrecognized unit".into()),
    })
}

/// Parse one ctl write. Errors are the Plan 9 strings: `empty control message`,
/// `unknown control message "…"`, `wrong #args in control message "…"`.
pub fn parse(data: &[u8]) -> Result<CtlMsg, String> {
    let text = String::from_utf8_lossy(data);
    let text = text.strip_suffix('\n').unwrap_or(&text);
    let f = tokenize(text);
    let Some(name) = f.first() else {
        return Err("empty control message".to_string());
    };
    // (name, number of fields including the name; 0 = any number, as `trace`).
    const TABLE: &[(&str, usize)] = &[
        ("close", 2),
        ("closefiles", 1),
        ("fixedpri", 2),
        ("hang", 1),
        ("kill", 1),
        ("noswap", 1),
        ("pri", 2),
        ("private", 1),
        ("profile", 1),
        ("start", 1),
        ("startstop", 1),
        ("startsyscall", 1),
        ("stop", 1),
        ("waitstop", 1),
        ("wired", 2),
        ("trace", 0),
        ("interrupt", 1),
        ("nointerrupt", 1),
        ("event", 1),
        ("nohang", 1),
        // Glass: one instruction, then Stopped (the debugger's single step).
        ("step", 1),
        ("period", 2),
        ("deadline", 2),
        ("cost", 2),
        ("sporadic", 1),
        ("deadlinenotes", 1),
        ("admit", 1),
        ("extra", 1),
        ("expel", 1),
    ];
    let Some(&(_, want)) = TABLE.iter().find(|(n, _)| n == name) else {
        return Err(cmderror("unknown control message", &f));
    };
    if want == 0 && f.len() > 2 {
        // `trace` is in the table with any number of fields; procctlreq itself refuses
        // three or more with the bare string "args" (docs/plan9-proc-9p.md §2.1).
        return Err("args".to_string());
    }
    if want != 0 && f.len() != want {
        return Err(cmderror("wrong #args in control message", &f));
    }
    let arg = || atoi(f.get(1).map(String::as_str).unwrap_or(""));
    let time = || parsetime(f.get(1).map(String::as_str));
    Ok(match name.as_str() {
        "period" => CtlMsg::RealTime(RtMsg::Period(time()?)),
        "deadline" => CtlMsg::RealTime(RtMsg::Deadline(time()?)),
        "cost" => CtlMsg::RealTime(RtMsg::Cost(time()?)),
        "sporadic" => CtlMsg::RealTime(RtMsg::Sporadic),
        "deadlinenotes" => CtlMsg::RealTime(RtMsg::DeadlineNotes),
        "admit" => CtlMsg::RealTime(RtMsg::Admit),
        "extra" => CtlMsg::RealTime(RtMsg::Extra),
        "expel" => CtlMsg::RealTime(RtMsg::Expel),
        "close" => CtlMsg::Close(arg()),
        "closefiles" => CtlMsg::CloseFiles,
        "fixedpri" => CtlMsg::FixedPri(arg()),
        "hang" => CtlMsg::Hang,
        "kill" => CtlMsg::Kill,
        "noswap" => CtlMsg::NoSwap,
        "pri" => CtlMsg::Pri(arg()),
        "private" => CtlMsg::Private,
        "profile" => CtlMsg::Profile,
        "start" => CtlMsg::Start,
        "startstop" => CtlMsg::StartStop,
        "startsyscall" => CtlMsg::StartSyscall,
        "stop" => CtlMsg::Stop,
        "waitstop" => CtlMsg::WaitStop,
        "wired" => CtlMsg::Wired(arg()),
        "trace" => CtlMsg::Trace(f.get(1).map(|v| atoi(v) != 0)),
        "interrupt" => CtlMsg::Interrupt,
        "nointerrupt" => CtlMsg::NoInterrupt,
        "event" => CtlMsg::Event,
        "nohang" => CtlMsg::NoHang,
        _ => CtlMsg::Step,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parsetime_units_fractions_and_errors_as_9front() {
        assert_eq!(parsetime(Some("10ms")), Ok(10_000_000));
        assert_eq!(parsetime(Some("1.5")), Ok(1_500_000_000));
        assert_eq!(parsetime(Some("2s")), Ok(2_000_000_000));
        assert_eq!(parsetime(Some("2.25ms")), Ok(2_250_000));
        assert_eq!(parsetime(Some("7us")), Ok(7000));
        assert_eq!(parsetime(Some("7µs")), Ok(7000));
        assert_eq!(parsetime(Some("1.5us")), Ok(1500));
        assert_eq!(parsetime(Some("9.9ns")), Ok(9), "ns ignores the fraction");
        assert_eq!(parsetime(Some("ms")), Ok(0), "no digits: strtoul gives 0");
        assert_eq!(parsetime(None), Err("missing value".into()));
        assert_eq!(
            parsetime(Some("1.1234567891")),
            Err("too many digits after decimal point".into())
        );
        assert_eq!(parsetime(Some("1.ms")), Err("ill-formed number".into()));
        assert_eq!(parsetime(Some("3min")), Err("unrecognized unit".into()));
        assert_eq!(
            parse(b"period 1.x"),
            Err("ill-formed number".into()),
            "errors come out of the ctl write"
        );
        assert_eq!(
            parse(b"cost 10ms"),
            Ok(CtlMsg::RealTime(RtMsg::Cost(10_000_000)))
        );
        assert_eq!(
            parse(b"admit now"),
            Err("wrong #args in control message \"admit now\"".into())
        );
    }

    #[test]
    fn parse_empty_message_is_refused() {
        assert_eq!(parse(b""), Err("empty control message".into()));
        assert_eq!(parse(b"\n"), Err("empty control message".into()));
        assert_eq!(parse(b"   "), Err("empty control message".into()));
    }

    #[test]
    fn parse_unknown_message_requotes_fields() {
        assert_eq!(
            parse(b"frob 'a b'\n"),
            Err("unknown control message \"frob 'a b'\"".into())
        );
    }

    #[test]
    fn parse_wrong_arity_names_message() {
        assert_eq!(
            parse(b"stop now"),
            Err("wrong #args in control message \"stop now\"".into())
        );
        assert_eq!(
            parse(b"close"),
            Err("wrong #args in control message \"close\"".into())
        );
        assert_eq!(parse(b"trace 1 2"), Err("args".into()));
    }

    #[test]
    fn parse_messages_with_numbers() {
        assert_eq!(parse(b"close 3\n"), Ok(CtlMsg::Close(3)));
        assert_eq!(parse(b"close -1"), Ok(CtlMsg::Close(-1)));
        assert_eq!(parse(b"pri 12x"), Ok(CtlMsg::Pri(12)));
        assert_eq!(parse(b"trace"), Ok(CtlMsg::Trace(None)));
        assert_eq!(parse(b"trace 0"), Ok(CtlMsg::Trace(Some(false))));
        assert_eq!(parse(b"stop\n"), Ok(CtlMsg::Stop));
        assert_eq!(parse(b"step"), Ok(CtlMsg::Step));
    }

    #[test]
    fn parse_long_unknown_message_truncated_to_errmax_minus_ten() {
        // cmderror: seprint stops at genbuf+ERRMAX-10-1, then the closing quote.
        let long = "x".repeat(200);
        let err = parse(long.as_bytes()).expect_err("unknown");
        assert_eq!(err.len(), 118);
        assert_eq!(
            err,
            format!("unknown control message \"{}\"", "x".repeat(117 - 25))
        );
    }

    #[test]
    fn tokenize_quotes_like_plan9() {
        assert_eq!(tokenize("a  'b c' 'it''s'"), ["a", "b c", "it's"]);
        assert_eq!(tokenize("''"), [""]);
    }
}
