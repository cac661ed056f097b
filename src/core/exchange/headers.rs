//! Headers-exchange matching, as RabbitMQ's `rabbit_exchange_type_headers` matches.

use super::error::ExchangeError;
use super::table::{FieldTable, FieldValue};

/// How a headers-exchange binding matches: its `x-match` argument.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum XMatch {
    /// `all` (the default when `x-match` is absent): every argument must match a header.
    /// Arguments whose name starts with `x-` are ignored.
    #[default]
    All,
    /// `any`: at least one argument must match. Arguments starting with `x-` are ignored.
    Any,
    /// `all-with-x`: as `all`, counting `x-` arguments too (`x-match` itself never counts).
    AllWithX,
    /// `any-with-x`: as `any`, counting `x-` arguments too.
    AnyWithX,
}

impl XMatch {
    /// The binding's mode, checked as RabbitMQ's `validate_binding` checks it: `x-match`
    /// absent, or a long string naming one of the four modes, else 406.
    pub fn from_arguments(arguments: &FieldTable) -> Result<Self, ExchangeError> {
        match arguments.get("x-match") {
            None => Ok(Self::All),
            Some(value) => match value.as_str() {
                Some("all") => Ok(Self::All),
                Some("any") => Ok(Self::Any),
                Some("all-with-x") => Ok(Self::AllWithX),
                Some("any-with-x") => Ok(Self::AnyWithX),
                _ => Err(ExchangeError::InvalidXMatch),
            },
        }
    }

    /// Whether a message with `headers` matches a binding with `arguments` in this mode.
    ///
    /// A [`FieldValue::Void`] argument matches any value under its name (presence), as in
    /// RabbitMQ; other values match by [`FieldValue::matches`]. With no arguments left to
    /// count, `all` matches every message and `any` none.
    pub fn matches(self, arguments: &FieldTable, headers: Option<&FieldTable>) -> bool {
        let with_x = matches!(self, Self::AllWithX | Self::AnyWithX);
        let all = matches!(self, Self::All | Self::AllWithX);
        let mut counted = arguments
            .iter()
            .filter(|(key, _)| *key != "x-match" && (with_x || !key.starts_with("x-")));
        let matched = |(key, wanted): (&str, &FieldValue)| {
            headers
                .and_then(|h| h.get(key))
                .is_some_and(|found| matches!(wanted, FieldValue::Void) || wanted.matches(found))
        };
        if all {
            counted.all(matched)
        } else {
            counted.any(matched)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(entries: &[(&str, FieldValue)]) -> FieldTable {
        entries.iter().cloned().collect()
    }

    fn check(binding: &[(&str, FieldValue)], headers: Option<&[(&str, FieldValue)]>) -> bool {
        let arguments = table(binding);
        let mode = XMatch::from_arguments(&arguments).unwrap();
        let headers = headers.map(table);
        mode.matches(&arguments, headers.as_ref())
    }

    #[test]
    fn x_match_is_validated() {
        let mode = |v: FieldValue| XMatch::from_arguments(&table(&[("x-match", v)]));
        assert_eq!(mode("all".into()), Ok(XMatch::All));
        assert_eq!(mode("any".into()), Ok(XMatch::Any));
        assert_eq!(mode("all-with-x".into()), Ok(XMatch::AllWithX));
        assert_eq!(mode("any-with-x".into()), Ok(XMatch::AnyWithX));
        assert_eq!(XMatch::from_arguments(&FieldTable::new()), Ok(XMatch::All));
        for bad in [FieldValue::str("ALL"), FieldValue::str("some"), 1.into()] {
            let error = mode(bad).unwrap_err();
            assert_eq!(error, ExchangeError::InvalidXMatch);
            assert_eq!(error.reply_code(), 406);
        }
    }

    #[test]
    fn all_needs_every_argument() {
        let binding = [
            ("x-match", "all".into()),
            ("format", "pdf".into()),
            ("type", "report".into()),
        ];
        let both = [("format", "pdf".into()), ("type", "report".into())];
        assert!(check(&binding, Some(&both)));
        let extra = [
            ("format", "pdf".into()),
            ("type", "report".into()),
            ("z", 1.into()),
        ];
        assert!(check(&binding, Some(&extra)));
        assert!(!check(&binding, Some(&[("format", "pdf".into())])));
        let wrong = [("format", "zip".into()), ("type", "report".into())];
        assert!(!check(&binding, Some(&wrong)));
        assert!(!check(&binding, None));
        // Absent x-match means all.
        assert!(!check(&binding[1..], Some(&[("format", "pdf".into())])));
        assert!(check(&binding[1..], Some(&both)));
    }

    #[test]
    fn any_needs_one_argument() {
        let binding = [
            ("x-match", "any".into()),
            ("format", "pdf".into()),
            ("type", "report".into()),
        ];
        assert!(check(&binding, Some(&[("type", "report".into())])));
        assert!(check(
            &binding,
            Some(&[("format", "pdf".into()), ("type", "x".into())])
        ));
        assert!(!check(&binding, Some(&[("type", "log".into())])));
        assert!(!check(&binding, Some(&[])));
        assert!(!check(&binding, None));
    }

    #[test]
    fn empty_bindings() {
        assert!(check(&[], None), "all with nothing to check matches");
        assert!(check(
            &[("x-match", "all".into())],
            Some(&[("a", 1.into())])
        ));
        assert!(!check(
            &[("x-match", "any".into())],
            Some(&[("a", 1.into())])
        ));
    }

    #[test]
    fn x_arguments_count_only_with_x() {
        let header = [("x-tenant", "a".into())];
        let wrong = [("x-tenant", "b".into())];
        for (mode, with_header, with_wrong, without) in [
            ("all", true, true, true),
            ("any", false, false, false),
            ("all-with-x", true, false, false),
            ("any-with-x", true, false, false),
        ] {
            let binding = [("x-match", mode.into()), ("x-tenant", "a".into())];
            assert_eq!(check(&binding, Some(&header)), with_header, "{mode}");
            assert_eq!(check(&binding, Some(&wrong)), with_wrong, "{mode}");
            assert_eq!(check(&binding, Some(&[])), without, "{mode}");
        }
        // x-match itself never counts, even in a with-x mode.
        let binding = [("x-match", "all-with-x".into()), ("k", 1.into())];
        assert!(check(&binding, Some(&[("k", 1.into())])));
    }

    #[test]
    fn void_means_present() {
        let binding = [("x-match", "all".into()), ("flag", FieldValue::Void)];
        assert!(check(&binding, Some(&[("flag", "anything".into())])));
        assert!(check(&binding, Some(&[("flag", FieldValue::Void)])));
        assert!(!check(&binding, Some(&[("other", 1.into())])));
        let any = [
            ("x-match", "any".into()),
            ("flag", FieldValue::Void),
            ("k", 1.into()),
        ];
        assert!(check(&any, Some(&[("flag", 0.into())])));
        // A void header does not match a valued argument.
        assert!(!check(&any, Some(&[("k", FieldValue::Void)])));
    }

    #[test]
    fn values_compare_across_numeric_types() {
        let binding = [("n", 1.into())];
        assert!(check(&binding, Some(&[("n", 1.0.into())])));
        assert!(!check(&binding, Some(&[("n", "1".into())])));
    }
}
