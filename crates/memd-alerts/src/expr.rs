//! The PromQL subset the engine evaluates, parsed into an [`Expr`]:
//!
//! - numbers; instant selectors `name{label="v", label=~"re", label!="v"}` (`=~` supports
//!   alternatives of literals, `a|b`, and `.*`); range selectors `name{…}[5m]` (s, m, h) as the
//!   argument of `rate`;
//! - `rate(range)`, `sum [by (labels)] (expr)`, `histogram_quantile(q, expr)`;
//! - binary `* / + -`, comparisons `> < >= <= == !=` (filters, as in PromQL without `bool`) and
//!   `and`, with PromQL precedence; parentheses.
//!
//! Anything else is a parse error naming what is unsupported, so a rule the engine cannot
//! evaluate is reported, never silently wrong.

use std::time::Duration;

#[derive(Clone, Debug, PartialEq)]
pub enum Matcher {
    Eq(String, String),
    Ne(String, String),
    /// Alternatives of literal values, or `None` for `.*` (anything).
    Re(String, Option<Vec<String>>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Selector {
    pub name: String,
    pub matchers: Vec<Matcher>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Gt,
    Lt,
    Ge,
    Le,
    Eq,
    Ne,
    And,
}

impl Op {
    fn precedence(self) -> u8 {
        match self {
            Op::And => 1,
            Op::Gt | Op::Lt | Op::Ge | Op::Le | Op::Eq | Op::Ne => 2,
            Op::Add | Op::Sub => 3,
            Op::Mul | Op::Div => 4,
        }
    }

    pub fn is_comparison(self) -> bool {
        matches!(self, Op::Gt | Op::Lt | Op::Ge | Op::Le | Op::Eq | Op::Ne)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    Number(f64),
    Instant(Selector),
    Rate(Selector, Duration),
    Sum { by: Option<Vec<String>>, expr: Box<Expr> },
    HistogramQuantile(f64, Box<Expr>),
    Binary(Op, Box<Expr>, Box<Expr>),
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("unsupported or invalid expression at byte {at}: {what}")]
pub struct ParseError {
    pub at: usize,
    pub what: String,
}

/// Parses one expression of the subset.
pub fn parse(src: &str) -> Result<Expr, ParseError> {
    let mut p = Parser { s: src.as_bytes(), i: 0 };
    let e = p.expr(0)?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.err("unexpected trailing input"));
    }
    Ok(e)
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn err(&self, what: impl Into<String>) -> ParseError {
        ParseError { at: self.i, what: what.into() }
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, tok: &str) -> bool {
        self.ws();
        if self.s[self.i..].starts_with(tok.as_bytes()) {
            self.i += tok.len();
            true
        } else {
            false
        }
    }

    fn expect(&mut self, tok: &str) -> Result<(), ParseError> {
        if self.eat(tok) {
            Ok(())
        } else {
            Err(self.err(format!("expected `{tok}`")))
        }
    }

    fn ident(&mut self) -> Option<String> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len()
            && (self.s[self.i].is_ascii_alphanumeric() || b"_:".contains(&self.s[self.i]))
        {
            self.i += 1;
        }
        (self.i > start && !self.s[start].is_ascii_digit())
            .then(|| String::from_utf8_lossy(&self.s[start..self.i]).into_owned())
            .or_else(|| {
                self.i = start;
                None
            })
    }

    fn op(&mut self) -> Option<Op> {
        self.ws();
        let save = self.i;
        for (tok, op) in [
            (">=", Op::Ge),
            ("<=", Op::Le),
            ("==", Op::Eq),
            ("!=", Op::Ne),
            (">", Op::Gt),
            ("<", Op::Lt),
            ("+", Op::Add),
            ("-", Op::Sub),
            ("*", Op::Mul),
            ("/", Op::Div),
        ] {
            if self.eat(tok) {
                return Some(op);
            }
        }
        if self.ident().as_deref() == Some("and") {
            return Some(Op::And);
        }
        self.i = save;
        None
    }

    /// Precedence climbing over binary operators (all left-associative).
    fn expr(&mut self, min: u8) -> Result<Expr, ParseError> {
        let mut lhs = self.unary()?;
        loop {
            let save = self.i;
            let Some(op) = self.op() else { break };
            if op.precedence() < min {
                self.i = save;
                break;
            }
            let save_mod = self.i;
            if let Some(word) = self.ident() {
                if ["bool", "on", "ignoring", "group_left", "group_right"].contains(&word.as_str())
                    && self.peek_modifier_end()
                {
                    return Err(self.err("vector matching modifiers and `bool` are not supported"));
                }
            }
            self.i = save_mod;
            let rhs = self.expr(op.precedence() + 1)?;
            lhs = Expr::Binary(op, Box::new(lhs), Box::new(rhs));
        }
        Ok(lhs)
    }

    fn number(&mut self) -> Option<f64> {
        self.ws();
        let start = self.i;
        while self.i < self.s.len() && (self.s[self.i].is_ascii_digit() || b".eE".contains(&self.s[self.i])) {
            self.i += 1;
        }
        let n = std::str::from_utf8(&self.s[start..self.i]).ok()?.parse().ok();
        if n.is_none() {
            self.i = start;
        }
        n
    }

    fn unary(&mut self) -> Result<Expr, ParseError> {
        if self.eat("(") {
            let e = self.expr(0)?;
            self.expect(")")?;
            return Ok(e);
        }
        if let Some(n) = self.number() {
            return Ok(Expr::Number(n));
        }
        let name = self.ident().ok_or_else(|| self.err("expected a number, a metric or a function"))?;
        match name.as_str() {
            "rate" => {
                self.expect("(")?;
                let sel = self.selector_named()?;
                let range = self.range()?.ok_or_else(|| self.err("rate() needs a range selector"))?;
                self.expect(")")?;
                Ok(Expr::Rate(sel, range))
            }
            "sum" => {
                let by = if self.eat("by") { Some(self.label_list()?) } else { None };
                self.expect("(")?;
                let e = self.expr(0)?;
                self.expect(")")?;
                Ok(Expr::Sum { by, expr: Box::new(e) })
            }
            "histogram_quantile" => {
                self.expect("(")?;
                let q = self.number().ok_or_else(|| self.err("histogram_quantile needs a number first"))?;
                self.expect(",")?;
                let e = self.expr(0)?;
                self.expect(")")?;
                Ok(Expr::HistogramQuantile(q, Box::new(e)))
            }
            _ if self.peek_is(b'(') => Err(self.err(format!("function `{name}` is not supported"))),
            _ => {
                let sel = self.selector_rest(name)?;
                if self.range()?.is_some() {
                    return Err(self.err("a range selector is only supported inside rate()"));
                }
                Ok(Expr::Instant(sel))
            }
        }
    }

    /// After a modifier keyword comes `(` (on, ignoring, group_*) or an operand (bool).
    fn peek_modifier_end(&mut self) -> bool {
        self.ws();
        self.s.get(self.i).is_some_and(|b| *b == b'(' || b.is_ascii_alphanumeric() || *b == b'_')
    }

    fn peek_is(&mut self, b: u8) -> bool {
        self.ws();
        self.s.get(self.i) == Some(&b)
    }

    fn selector_named(&mut self) -> Result<Selector, ParseError> {
        let name = self.ident().ok_or_else(|| self.err("expected a metric name"))?;
        self.selector_rest(name)
    }

    fn selector_rest(&mut self, name: String) -> Result<Selector, ParseError> {
        let mut matchers = Vec::new();
        if self.eat("{") {
            while !self.eat("}") {
                let label = self.ident().ok_or_else(|| self.err("expected a label name"))?;
                let kind = if self.eat("=~") {
                    2
                } else if self.eat("!=") {
                    1
                } else if self.eat("=") {
                    0
                } else {
                    return Err(self.err("expected =, != or =~"));
                };
                let value = self.string()?;
                matchers.push(match kind {
                    0 => Matcher::Eq(label, value),
                    1 => Matcher::Ne(label, value),
                    _ => Matcher::Re(
                        label,
                        regex_alternatives(&value).ok_or_else(|| {
                            self.err(format!(
                                "regex {value:?}: only alternatives of literals or .* are supported"
                            ))
                        })?,
                    ),
                });
                self.eat(",");
            }
        }
        Ok(Selector { name, matchers })
    }

    fn string(&mut self) -> Result<String, ParseError> {
        self.expect("\"")?;
        let mut out = String::new();
        while self.i < self.s.len() {
            let c = self.s[self.i];
            self.i += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' if self.i < self.s.len() => {
                    out.push(self.s[self.i] as char);
                    self.i += 1;
                }
                _ => out.push(c as char),
            }
        }
        Err(self.err("unterminated string"))
    }

    fn label_list(&mut self) -> Result<Vec<String>, ParseError> {
        self.expect("(")?;
        let mut labels = Vec::new();
        while !self.eat(")") {
            labels.push(self.ident().ok_or_else(|| self.err("expected a label name"))?);
            self.eat(",");
        }
        Ok(labels)
    }

    fn range(&mut self) -> Result<Option<Duration>, ParseError> {
        if !self.eat("[") {
            return Ok(None);
        }
        let end = self.s[self.i..].iter().position(|b| *b == b']').ok_or_else(|| self.err("expected `]`"))?;
        let text = String::from_utf8_lossy(&self.s[self.i..self.i + end]).into_owned();
        let d = crate::rules::duration(&text)
            .filter(|d| !d.is_zero())
            .ok_or_else(|| self.err(format!("bad range {text:?}")))?;
        self.i += end + 1;
        Ok(Some(d))
    }
}

/// `a|b|c` → the alternatives; `.*` → anything; other regex syntax → unsupported.
fn regex_alternatives(re: &str) -> Option<Option<Vec<String>>> {
    if re == ".*" {
        return Some(None);
    }
    if let Some(prefix) =
        re.strip_suffix("..").filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
    {
        // `5..` (three-digit status classes): a prefix match is written as alternatives below.
        return Some(Some((0..100).map(|n| format!("{prefix}{n:02}")).collect()));
    }
    if re.chars().any(|c| "[](){}*+?^$\\.".contains(c)) {
        return None;
    }
    Some(Some(re.split('|').map(str::to_owned).collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_rule_shapes_parse() {
        for src in [
            r#"histogram_quantile(0.95, sum by (instance, le) (rate(memd_http_request_duration_seconds_bucket{route="/v1/search"}[5m]))) > 0.1"#,
            r#"sum by (instance) (rate(memd_http_requests_total{status=~"5.."}[5m])) / sum by (instance) (rate(memd_http_requests_total[5m])) > 0.005"#,
            "memd_process_resident_memory_bytes / memd_machine_memory_bytes > 0.8",
            "rate(memd_process_cpu_seconds_total[5m]) / memd_machine_cpus > 0.85",
            r#"(sum(rate(a{outcome="hit"}[15m])) / sum(rate(a[15m])) < 0.85) and sum(rate(a[15m])) > 1"#,
            "memd_breaker_open == 1",
        ] {
            parse(src).unwrap_or_else(|e| panic!("{src}: {e}"));
        }
    }

    #[test]
    fn precedence_is_promql_s() {
        let e = parse("a / b > 0.5").expect("parse");
        let Expr::Binary(Op::Gt, lhs, _) = e else { panic!("comparison binds loosest: {e:?}") };
        assert!(matches!(*lhs, Expr::Binary(Op::Div, _, _)));
    }

    #[test]
    fn unsupported_syntax_is_named() {
        for src in ["avg(a)", "a > bool 1", "a[5m]", r#"a{b=~"x.+y"}"#, "a offset 5m"] {
            assert!(parse(src).is_err(), "{src} should be refused");
        }
    }
}
