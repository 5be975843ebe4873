//! Money: integer amounts in the minor unit of the site's one ISO 4217
//! currency (cents for EUR, yen for JPY, fils for KWD). Never floats: an
//! amount typed by an admin is parsed digit by digit, and formatting puts
//! the decimal point where the currency's exponent says.

use serde::Serialize;

/// A currency: its ISO 4217 code, how many decimals its minor unit has,
/// and the symbol shown before amounts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Currency {
    pub code: &'static str,
    pub exponent: u32,
    #[serde(skip)]
    pub symbol: &'static str,
}

/// Currencies whose exponent is not 2, or that have a well-known symbol.
/// Any other valid code has two decimals and is shown by its code.
const KNOWN: &[(&str, u32, &str)] = &[
    ("EUR", 2, "€"),
    ("USD", 2, "$"),
    ("GBP", 2, "£"),
    ("CHF", 2, "CHF "),
    ("JPY", 0, "¥"),
    ("KRW", 0, "₩"),
    ("ISK", 0, "ISK "),
    ("CLP", 0, "CLP "),
    ("VND", 0, "₫"),
    ("KWD", 3, "KWD "),
    ("BHD", 3, "BHD "),
    ("OMR", 3, "OMR "),
    ("JOD", 3, "JOD "),
    ("TND", 3, "TND "),
    ("IQD", 3, "IQD "),
    ("LYD", 3, "LYD "),
];

impl Currency {
    /// The currency for a three-letter code (upper case), or an error
    /// naming what is wrong.
    pub fn parse(code: &str) -> Result<Currency, String> {
        let upper = code.trim().to_ascii_uppercase();
        if let Some(&(code, exponent, symbol)) = KNOWN.iter().find(|(c, _, _)| *c == upper) {
            return Ok(Currency {
                code,
                exponent,
                symbol,
            });
        }
        if upper.len() != 3 || !upper.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(format!(
                "shop.currency must be an ISO 4217 code such as EUR, not {code:?}"
            ));
        }
        // Leaked once at start-up, so every Currency stays `Copy`.
        let code: &'static str = Box::leak(upper.into_boxed_str());
        let symbol: &'static str = Box::leak(format!("{code} ").into_boxed_str());
        Ok(Currency {
            code,
            exponent: 2,
            symbol,
        })
    }

    /// `minor` formatted: "€12.50", "¥1,200", "KWD 1.250", "-€0.05".
    pub fn format(&self, minor: i64) -> String {
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        let scale = 10u64.pow(self.exponent);
        let whole = group(abs / scale);
        if self.exponent == 0 {
            return format!("{sign}{}{whole}", self.symbol);
        }
        let frac = abs % scale;
        format!(
            "{sign}{}{whole}.{frac:0width$}",
            self.symbol,
            width = self.exponent as usize
        )
    }

    /// `minor` as a plain decimal for a form field: "12.50", "1200".
    pub fn plain(&self, minor: i64) -> String {
        let sign = if minor < 0 { "-" } else { "" };
        let abs = minor.unsigned_abs();
        let scale = 10u64.pow(self.exponent);
        if self.exponent == 0 {
            return format!("{sign}{abs}");
        }
        format!(
            "{sign}{}.{:0width$}",
            abs / scale,
            abs % scale,
            width = self.exponent as usize
        )
    }

    /// Parse a non-negative decimal amount ("12", "12.5", "12.50") into
    /// minor units, refusing more decimals than the currency has, signs,
    /// grouping and anything but digits.
    pub fn parse_amount(&self, text: &str) -> Result<i64, String> {
        let text = text.trim();
        let (whole, frac) = match text.split_once('.') {
            Some((w, f)) => (w, f),
            None => (text, ""),
        };
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if whole.is_empty() || !digits(whole) || !digits(frac) {
            return Err("Enter an amount such as 12.50.".into());
        }
        if frac.len() > self.exponent as usize {
            return Err(match self.exponent {
                0 => format!("{} has no decimals.", self.code),
                n => format!("Use at most {n} decimals."),
            });
        }
        if whole.len() > 12 {
            return Err("That amount is too large.".into());
        }
        let scale = 10i64.pow(self.exponent);
        let whole: i64 = whole.parse().map_err(|_| "Enter an amount.".to_string())?;
        let mut frac_value: i64 = if frac.is_empty() {
            0
        } else {
            frac.parse().map_err(|_| "Enter an amount.".to_string())?
        };
        frac_value *= 10i64.pow(self.exponent - frac.len() as u32);
        Ok(whole * scale + frac_value)
    }
}

/// 1234567 → "1,234,567".
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::Currency;

    #[test]
    fn each_currency_has_its_own_decimals_and_symbol() {
        let eur = Currency::parse("eur").unwrap();
        assert_eq!(eur.format(1250), "€12.50");
        assert_eq!(eur.format(5), "€0.05");
        assert_eq!(eur.format(-5), "-€0.05");
        assert_eq!(eur.format(123_456_789), "€1,234,567.89");
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.format(1200), "¥1,200");
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(kwd.format(1250), "KWD 1.250");
        let sek = Currency::parse("SEK").unwrap();
        assert_eq!((sek.exponent, sek.format(100)), (2, "SEK 1.00".to_string()));
        assert!(Currency::parse("euro").is_err());
        assert!(Currency::parse("E1R").is_err());
    }

    #[test]
    fn amounts_are_parsed_without_floats() {
        let eur = Currency::parse("EUR").unwrap();
        assert_eq!(eur.parse_amount("12.5"), Ok(1250));
        assert_eq!(eur.parse_amount("0.10"), Ok(10));
        assert_eq!(eur.parse_amount("19.99"), Ok(1999));
        assert_eq!(eur.parse_amount("7"), Ok(700));
        assert!(eur.parse_amount("1.234").is_err());
        assert!(eur.parse_amount("-1").is_err());
        assert!(eur.parse_amount("1,000").is_err());
        assert!(eur.parse_amount("").is_err());
        assert!(eur.parse_amount("1e3").is_err());
        assert!(eur.parse_amount("9999999999999").is_err());
        let jpy = Currency::parse("JPY").unwrap();
        assert_eq!(jpy.parse_amount("1200"), Ok(1200));
        assert!(jpy.parse_amount("12.5").is_err());
        let kwd = Currency::parse("KWD").unwrap();
        assert_eq!(kwd.parse_amount("1.25"), Ok(1250));
        assert_eq!(kwd.plain(1250), "1.250");
        assert_eq!(jpy.plain(1200), "1200");
    }
}
